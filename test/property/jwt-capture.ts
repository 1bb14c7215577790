/**
 * Capture for the JWT secrets properties: run an effect with a recording tracer and loggers (the
 * way applications log: the error, its cause, the value), then render everything a user or an
 * exporter could print, and find any secret (or an 8-character window of one) in it.
 */
import { assert } from "@effect/vitest"
import type { Context, Option } from "effect"
import { Cause, Effect, Exit, Inspectable, Logger, Tracer } from "effect"
import { inspect } from "node:util"
import { findSecret } from "./arbitraries.js"

class CapturedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = Math.random().toString(16).slice(2)
  readonly traceId = "jwt-property-trace"
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

export interface Capture {
  readonly spans: Array<CapturedSpan>
  readonly lines: Array<string>
}

export const makeCapture = (): Capture => ({ spans: [], lines: [] })

/** Runs `effect` logging its error, cause and value, under a recording tracer and three loggers. */
export const capturing = <A, E, R>(effect: Effect.Effect<A, E, R>, capture: Capture): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.tapErrorCause((cause) => Effect.logError("operation failed", cause)),
    Effect.tapError((error) => Effect.logWarning(error)),
    Effect.tap((value) => Effect.logInfo("result", value)),
    Effect.withSpan("jwt-property-test"),
    Effect.withTracer(Tracer.make({
      span: (name, parent, context, links, startTime, kind) => {
        const span = new CapturedSpan(name, parent, context, links, startTime, kind)
        capture.spans.push(span)
        return span
      },
      context: (f) => f()
    })),
    Effect.provide(Logger.replace(
      Logger.defaultLogger,
      Logger.make((options) => {
        capture.lines.push(Logger.stringLogger.log(options))
        capture.lines.push(Logger.logfmtLogger.log(options))
        capture.lines.push(Logger.jsonLogger.log(options))
      })
    ))
  )

const renderSpan = (span: CapturedSpan): string => {
  const parts = [span.name]
  for (const [key, value] of span.attributes) {
    parts.push(`${key}=${String(value)} ${Inspectable.toStringUnknown(value)}`)
  }
  for (const event of span.events) parts.push(event.name, Inspectable.toStringUnknown(event.attributes))
  if (span.status._tag === "Ended" && Exit.isFailure(span.status.exit)) {
    const cause = span.status.exit.cause
    parts.push(Cause.pretty(cause))
    for (const error of Cause.prettyErrors(cause)) parts.push(error.message, error.stack ?? "")
  }
  return parts.join("\n")
}

/** Every rendering of a value a user (or Node) might print. */
export const renderValue = (value: unknown): Record<string, string> => ({
  String: String(value),
  "JSON.stringify": JSON.stringify(value) ?? "",
  "Inspectable.toStringUnknown": Inspectable.toStringUnknown(value),
  "util.inspect": inspect(value, { depth: 10 }),
  "util.inspect showHidden": inspect(value, { depth: 10, showHidden: true })
})

export const renderExit = (exit: Exit.Exit<unknown, unknown>, capture: Capture): Record<string, string> => {
  const out: Record<string, string> = {}
  if (Exit.isFailure(exit)) {
    const error = Cause.squash(exit.cause)
    for (const [k, v] of Object.entries(renderValue(error))) out[`error ${k}`] = v
    if (error instanceof Error) {
      out["error.message"] = error.message
      out["error.stack"] = error.stack ?? ""
    }
    out["Cause.pretty"] = Cause.pretty(exit.cause)
    out["util.inspect(cause)"] = inspect(exit.cause, { depth: 10 })
  } else {
    for (const [k, v] of Object.entries(renderValue(exit.value))) out[`value ${k}`] = v
  }
  out["log lines"] = capture.lines.join("\n")
  capture.spans.forEach((span, i) => (out[`span #${i} ${span.name}`] = renderSpan(span)))
  return out
}

/** Fails listing every place a secret shows. Empty secrets are skipped. */
export const assertNoSecret = (
  renderings: Record<string, string>,
  secrets: Record<string, string | undefined>,
  context: string
) => {
  const leaks: Array<string> = []
  for (const [where, text] of Object.entries(renderings)) {
    for (const [what, value] of Object.entries(secrets)) {
      if (value === undefined || value.length < 8) continue
      const found = findSecret(text, value)
      if (found !== undefined) leaks.push(`- the ${what} (${found}) in ${where}`)
    }
  }
  assert.isEmpty(leaks, `${context}: secrets leak\n${leaks.join("\n")}`)
}

/** The parts of a JWT that are secret: its payload and signature (the header is public). */
export const jwtSecrets = (name: string, jwt: string | undefined): Record<string, string | undefined> => {
  if (jwt === undefined) return {}
  const [, payload, signature] = jwt.split(".")
  return { [`${name} payload`]: payload, [`${name} signature`]: signature, [name]: jwt }
}
