/**
 * A tracer that keeps every span it is asked for, so tests can read what an exporter would ship:
 * names, attributes, events and the recorded exit.
 */
import type { Context, Exit, Option } from "effect"
import { Effect, Tracer } from "effect"

/** A span as a test sees it. */
export class CapturedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = Math.random().toString(16).slice(2)
  readonly traceId = "test-trace"
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<{ readonly name: string; readonly attributes: unknown }> = []
  readonly links: Array<Tracer.SpanLink>
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push({ name, attributes })
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

/** Runs `self` with a tracer that pushes every span it makes into `into`. */
export const withCapturedSpans = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  into: Array<CapturedSpan>
): Effect.Effect<A, E, R> =>
  Effect.withTracer(
    self,
    Tracer.make({
      span: (name, parent, context, links, startTime, kind) => {
        const span = new CapturedSpan(name, parent, context, links, startTime, kind)
        into.push(span)
        return span
      },
      context: (f) => f()
    })
  )
