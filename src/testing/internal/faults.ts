/**
 * Faults: the controls that queue them (`failNext`, `delayNext`, `corruptNext`, `dropNext`,
 * `resetFaults`), picking the one a request meets, and the responses they send instead of (or made
 * from) the real one. Pending faults are core state; the app applies them before any area sees the
 * request.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { CorruptionKind, FailResponse, FaultFilter, Service } from "../PlexFake.js"
import type { CoreState, FaultEntry, Outcome, Store } from "./state.js"
import {
  defaultErrorDetail,
  JSON_CT,
  plexTvError,
  reasonPhrase,
  unauthenticated,
  XML_CT,
  xmlErrorBody
} from "./wire.js"

/** The `Service` members that queue and clear faults. */
export type FaultControls = Pick<Service, "failNext" | "delayNext" | "corruptNext" | "dropNext" | "resetFaults">

/**
 * The first pending entry whose path filter matches `path`, and the entries left once this request
 * has used it up (one fewer `remaining`, removed at zero).
 */
export const takeFault = <A>(
  entries: ReadonlyArray<FaultEntry<A>>,
  path: string
): readonly [A | undefined, ReadonlyArray<FaultEntry<A>>] => {
  const index = entries.findIndex((entry) => entry.path === undefined || path.startsWith(entry.path))
  if (index === -1) return [undefined, entries]
  const entry = entries[index]!
  const rest = entries.slice()
  if (entry.remaining <= 1) {
    rest.splice(index, 1)
  } else {
    rest[index] = { ...entry, remaining: entry.remaining - 1 }
  }
  return [entry.value, rest]
}

/**
 * The internal marker a runner turns into a dropped connection. Compared by identity: the app
 * returns this very value, and each runner (`PlexFake.app`, `layerServer`, `layerClient`) destroys
 * the socket or fails the request its own way.
 */
export const droppedConnection = HttpServerResponse.empty({ status: 599 })

// -------------------------------------------------------------------------------------------------
// Responses
// -------------------------------------------------------------------------------------------------

const htmlPage = "<!DOCTYPE html>\n<html><head><title>Plex</title></head>" +
  "<body><h1>Service temporarily unavailable</h1><p>Please try again later.</p></body></html>\n"

const guessContentType = (body: string): string => {
  const start = body.trimStart()
  if (start.startsWith("{") || start.startsWith("[")) return JSON_CT
  if (start.startsWith("<?xml") || start.startsWith("<errors")) return XML_CT
  if (start.startsWith("<")) return "text/html; charset=utf-8"
  return "text/plain; charset=utf-8"
}

/** What `failNext` sends; `json` is whether the request accepts JSON (for a default 4xx body). */
export const failResponse = (spec: FailResponse, json: boolean): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = spec.retryAfter === undefined
    ? {}
    : { "retry-after": String(spec.retryAfter) }
  const status = spec.status
  if (status === 204 || status === 205 || status === 304) {
    return HttpServerResponse.empty({ status, headers })
  }
  if (spec.body !== undefined) {
    return HttpServerResponse.text(spec.body, {
      status,
      headers,
      contentType: spec.contentType ?? guessContentType(spec.body)
    })
  }
  if (status >= 400 && status < 500) {
    return plexTvError(json, defaultErrorDetail(status), headers)
  }
  return HttpServerResponse.text(reasonPhrase(status), {
    status,
    headers,
    contentType: spec.contentType ?? "text/plain; charset=utf-8"
  })
}

/** `bytes` bytes of `{"padding":"xxx…"}`, or the slice `[from, to)` of it. */
const jsonishBytes = (total: number, from: number, to: number): Uint8Array => {
  const prefix = "{\"padding\":\""
  const suffix = "\"}"
  const out = new Uint8Array(to - from).fill(0x78)
  if (total < prefix.length + suffix.length) return out
  for (let i = from; i < Math.min(to, prefix.length); i++) out[i - from] = prefix.charCodeAt(i)
  const suffixStart = total - suffix.length
  for (let i = Math.max(from, suffixStart); i < to; i++) out[i - from] = suffix.charCodeAt(i - suffixStart)
  return out
}

const OVERSIZED_CHUNK = 64 * 1024

/** What `corruptNext` sends instead of the real response (`"truncated"` is {@link truncate}). */
export const corruptResponse = (
  kind: Exclude<CorruptionKind, "truncated">
): HttpServerResponse.HttpServerResponse => {
  if (typeof kind === "object") {
    const bytes = Math.max(0, Math.floor(kind.bytes))
    if (kind.chunked === true) {
      // Generated chunk by chunk, so a huge body never sits in memory whole.
      const chunks = Stream.unfold(0, (offset) =>
        offset >= bytes ?
          Option.none() :
          Option.some(
            [jsonishBytes(bytes, offset, Math.min(bytes, offset + OVERSIZED_CHUNK)), offset + OVERSIZED_CHUNK] as const
          ))
      return HttpServerResponse.stream(chunks, { status: 200, contentType: JSON_CT })
    }
    return HttpServerResponse.uint8Array(jsonishBytes(bytes, 0, bytes), {
      status: 200,
      contentType: JSON_CT,
      headers: { "content-length": String(bytes) }
    })
  }
  switch (kind) {
    case "malformed-json":
      return HttpServerResponse.text("{\"id\": 1,", { status: 200, contentType: JSON_CT })
    case "html":
      return HttpServerResponse.text(htmlPage, { status: 200, contentType: "text/html; charset=utf-8" })
    case "xml-error":
      return HttpServerResponse.text(xmlErrorBody(unauthenticated), { status: 200, contentType: XML_CT })
    case "empty":
      return HttpServerResponse.uint8Array(new Uint8Array(0), {
        status: 200,
        contentType: JSON_CT,
        headers: { "content-length": "0" }
      })
  }
}

/** The real response with its body cut to half; status and headers kept, `Content-Length` matching. */
export const truncate = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  const body = response.body
  if (body._tag !== "Uint8Array" || body.body.length === 0) return response
  const cut = body.body.slice(0, Math.floor(body.body.length / 2))
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (name !== "content-length" && name !== "content-type") headers[name] = value
  }
  headers["content-length"] = String(cut.length)
  return HttpServerResponse.uint8Array(cut, { status: response.status, headers, contentType: body.contentType })
}

// -------------------------------------------------------------------------------------------------
// Controls
// -------------------------------------------------------------------------------------------------

// A negative or fractional count is a test bug, not a fake failure: die with a message that says so.
const checkCount = (name: string, n: number) =>
  Number.isInteger(n) && n >= 0 ?
    Effect.void :
    Effect.dieMessage(`PlexFake.${name}: n must be a non-negative integer, got ${n}`)

/** The fault controls over the store's core. `resetFaults` also runs each area's `onResetFaults`. */
export const controls = (store: Store): FaultControls => {
  const addFault = <A>(
    name: string,
    n: number,
    filter: FaultFilter | undefined,
    f: (core: CoreState, entry: FaultEntry<A>) => CoreState,
    value: A
  ) =>
    Effect.zipRight(
      checkCount(name, n),
      n === 0 ?
        Effect.void :
        Ref.update(store.ref, (s) => ({ ...s, core: f(s.core, { value, remaining: n, path: filter?.path }) }))
    )

  const addOutcome = (name: string, n: number, outcome: Outcome, filter: FaultFilter | undefined) =>
    addFault<Outcome>(name, n, filter, (core, entry) => ({ ...core, outcomes: [...core.outcomes, entry] }), outcome)

  return {
    failNext: (n, response, filter) =>
      Number.isInteger(response.status) && response.status >= 200 && response.status <= 599 ?
        addOutcome("failNext", n, { _tag: "Fail", response }, filter) :
        Effect.dieMessage(`PlexFake.failNext: status must be 200-599, got ${response.status}`),
    delayNext: (n, duration, filter) =>
      addFault(
        "delayNext",
        n,
        filter,
        (core, entry) => ({ ...core, delays: [...core.delays, entry] }),
        Duration.decode(duration)
      ),
    corruptNext: (n, kind, filter) => addOutcome("corruptNext", n, { _tag: "Corrupt", kind }, filter),
    dropNext: (n, filter) => addOutcome("dropNext", n, { _tag: "Drop" }, filter),
    resetFaults: store.resetFaults
  }
}
