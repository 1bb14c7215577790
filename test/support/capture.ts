/**
 * What a user or an exporter could print of a call, for the secret-hygiene properties: run an effect
 * the way applications do (its error, cause and value logged through the string, logfmt and JSON
 * loggers) under a tracer that keeps every span, then render all of it.
 */
import { Cause, Effect, Exit, Inspectable, Logger } from "effect"
import { inspect } from "node:util"
import { type CapturedSpan, withCapturedSpans } from "./spans.js"

/** The spans and log lines of one run. */
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
    Effect.withSpan("property-test"),
    (self) => withCapturedSpans(self, capture.spans),
    Effect.provide(Logger.replace(
      Logger.defaultLogger,
      Logger.make((options) => {
        capture.lines.push(Logger.stringLogger.log(options))
        capture.lines.push(Logger.logfmtLogger.log(options))
        capture.lines.push(Logger.jsonLogger.log(options))
      })
    ))
  )

/** Everything an exporter would ship for a span: its name, attributes, events and recorded failure. */
export const renderSpan = (span: CapturedSpan): string => {
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

/** Every rendering of a run: its error (or value), cause, log lines and spans, by where they show. */
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
