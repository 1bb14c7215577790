/**
 * The one request → response → typed error path. Every operation of every module is an
 * {@link Endpoint} (a few declarative fields) run by the {@link Runner} built here, so input
 * validation, headers, the token, the body cap, decoding, error mapping, retries, timeouts,
 * redirects, spans and secret hygiene live in exactly one place.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as PlexConfig from "../PlexConfig.js"
import * as PlexError from "../PlexError.js"
import * as PlexPolicy from "../PlexPolicy.js"
import * as PlexToken from "../PlexToken.js"
import * as Bytes from "./bytes.js"
import { numberFrom } from "./lenient.js"
import * as Xml from "./xml.js"

/**
 * Per-call overrides accepted by every operation (public: defined in PlexConfig).
 *
 * @internal
 */
export type CallOptions = PlexConfig.CallOptions

type Method = "GET" | "POST" | "PUT" | "DELETE"

type Params = Record<string, string | undefined>

/**
 * What an operation is: everything else is the runner's job.
 *
 * @internal
 */
export interface Endpoint<I, A> {
  /** Operation name used in errors; the span is `${module}.${operation}`. */
  readonly module: string
  readonly operation: string
  readonly host: "plexTv" | "pms"
  readonly method: Method
  readonly path: (input: I) => string
  /** `required`: fail with InvalidRequest when there is no token; `none`: never send one. */
  readonly token: "required" | "none"
  /** Only idempotent operations are retried; sign-in and PIN creation are not. */
  readonly idempotent: boolean
  readonly query?: (input: I) => Params
  /** A form body (`application/x-www-form-urlencoded`). Redacted values are unwrapped only here. */
  readonly form?: (input: I) => Record<string, string | Redacted.Redacted<string> | undefined>
  /** A reason the input cannot be right, checked before anything is sent. */
  readonly validate?: (input: I) => string | undefined
  /**
   * Values in the URL that are secrets (a PIN id redeems a token): they are scrubbed from error
   * excerpts like tokens, and the platform's `http.client` span, which records the full URL, is never
   * created for this operation (its own span still is).
   */
  readonly urlSecrets?: (input: I) => ReadonlyArray<string>
  /** Non-secret span attributes. */
  readonly attributes?: (input: I) => Record<string, string | number | boolean>
  /** The JSON key wrapping the payload (`MediaContainer`); an XML root element stands for it. */
  readonly envelope?: string
  /** How a 2xx body decodes; `undefined` means the body is ignored and the result is `void`. */
  readonly success: Schema.Schema<A, any> | undefined
  /** Statuses with an operation-specific meaning, e.g. 404 for an expired PIN. */
  readonly statusReasons?: Readonly<
    Record<number, { readonly reason: PlexError.SdkErrorReason; readonly detail: string }>
  >
  /** Error codes with an operation-specific meaning, e.g. 1020 for an expired PIN. */
  readonly codeReasons?: Readonly<
    Record<number, { readonly reason: PlexError.SdkErrorReason; readonly detail: string }>
  >
}

/**
 * Declares an endpoint; the identity function, for inference.
 *
 * @internal
 */
export const endpoint = <I, A>(definition: Endpoint<I, A>): Endpoint<I, A> => definition

/**
 * Turns endpoints into operations.
 *
 * @internal
 */
export interface Runner {
  <I, A>(endpoint: Endpoint<I, A>): (input: I, options?: CallOptions) => Effect.Effect<A, PlexError.PlexError>
}

const ERROR_BODY_CAP = 64 * 1024
const EXCERPT_LENGTH = 300

// --- error construction (failure path only) -------------------------------------------------

const sdkError = (
  operation: string,
  reason: PlexError.SdkErrorReason,
  detail: string,
  extra?: {
    readonly status?: number | undefined
    readonly bodyExcerpt?: string | undefined
    readonly retryAfterMillis?: number | undefined
    readonly cause?: string | undefined
    readonly attempts?: number | undefined
  }
): PlexError.PlexSdkError => {
  // Absent rather than undefined: the error's optional fields are exact.
  const fields: Record<string, unknown> = { operation, reason, detail }
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value !== undefined && value !== "") fields[key] = value
  }
  return new PlexError.PlexSdkError(fields as ConstructorParameters<typeof PlexError.PlexSdkError>[0])
}

const xmlEscape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

/** A secret as a server might echo it back: raw, JSON-escaped, URL- or form-encoded, XML-escaped. */
const echoForms = (secret: string): Array<string> =>
  [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      xmlEscape(secret)
    ])
  ].filter((form) => form.length >= 3).sort((a, b) => b.length - a.length)

/**
 * Replaces every occurrence of the call's secrets. Runs on whole texts, before any cutting or
 * whitespace folding, which would otherwise leave part of a secret unmatched.
 */
const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) {
    for (const form of echoForms(secret)) out = out.split(form).join("<redacted>")
  }
  return out
}

const cut = (text: string, length: number): string => text.length > length ? text.slice(0, length) + "…" : text

const excerpt = (text: string, secrets: ReadonlyArray<string>): string =>
  cut(scrub(text, secrets).replace(/\s+/g, " ").trim(), EXCERPT_LENGTH)

/** A description of a platform failure that never includes the request (and so the token). */
const describeCause = (cause: unknown, secrets: ReadonlyArray<string>): string | undefined => {
  if (cause === undefined || cause === null) return undefined
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 3 && current !== undefined && current !== null; depth++) {
    if (typeof current === "object") {
      const c = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown }
      const name = typeof c.name === "string" ? c.name : "Error"
      const code = typeof c.code === "string" ? ` ${c.code}` : ""
      const message = typeof c.message === "string" ? `: ${cut(scrub(c.message, secrets).split("\n")[0], 160)}` : ""
      parts.push(scrub(`${name}${code}`, secrets) + message)
      current = c.cause
    } else {
      parts.push(cut(scrub(String(current), secrets), 160))
      break
    }
  }
  return parts.join(" <- ")
}

const describeParseError = (error: ParseResult.ParseError): string => {
  // Schema messages quote the values they saw, which can be tokens: report only where and what kind.
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const shown = issues.slice(0, 3).map((issue) => {
    const path = issue.path.length === 0 ? "the body" : issue.path.map((p) => JSON.stringify(p)).join(".")
    const kind = issue._tag === "Missing" ? "is missing" : "has an unexpected type or value"
    return `${path} ${kind}`
  })
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""
  return `the response body is not the expected shape: ${shown.join("; ")}${more}`
}

const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

// --- bodies -------------------------------------------------------------------------------

class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
  constructor(readonly bytes: number | undefined) {}
}

const utf8 = new TextDecoder()

/**
 * Reads a body as text, never more than `cap` bytes. With a trustworthy `Content-Length` the body is
 * read in one go (streaming it costs ~40% of a call); otherwise it is streamed and counted, and
 * reading stops as soon as the cap is passed.
 */
const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  cap: number
): Effect.Effect<string, BodyTooLarge | HttpClientError.ResponseError> => {
  // No body by definition; fetch exposes none, and asking for its stream fails with EmptyBody.
  if (response.status === 204 || response.status === 205 || response.status === 304) return Effect.succeed("")
  const length = response.headers["content-length"]
  const encoding = response.headers["content-encoding"]
  const identity = encoding === undefined || encoding === "identity"
  if (length !== undefined && identity) {
    const bytes = Number(length)
    if (Number.isFinite(bytes) && bytes >= 0) {
      if (bytes <= cap) return response.text
      // Pull at most one chunk so the transport cancels the rest instead of buffering it.
      return Effect.zipRight(
        Effect.ignore(Stream.runHead(response.stream)),
        Effect.fail(new BodyTooLarge(bytes))
      )
    }
  }
  return Effect.map(
    Stream.runFoldEffect(
      response.stream,
      { chunks: [] as Array<Uint8Array>, size: 0 },
      (acc, chunk): Effect.Effect<{ chunks: Array<Uint8Array>; size: number }, BodyTooLarge> => {
        const size = acc.size + chunk.length
        if (size > cap) return Effect.fail(new BodyTooLarge(undefined))
        acc.chunks.push(chunk)
        acc.size = size
        return Effect.succeed(acc)
      }
    ),
    (acc) => utf8.decode(Bytes.concat(acc.chunks))
  ).pipe(Effect.catchIf(
    (e): e is HttpClientError.ResponseError => e._tag === "ResponseError" && e.reason === "EmptyBody",
    () => Effect.succeed("")
  ))
}

type Parsed =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Xml"; readonly root: Xml.XmlElement }
  | { readonly _tag: "Html" }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Invalid"; readonly reason: string }

const looksLikeHtml = (text: string): boolean => /^\s*(<!doctype html|<html|<head|<body|<h1)/i.test(text)

/** Chooses the parser from `Content-Type`, falling back on the first character. Never throws. */
const parseBody = (text: string, contentType: string | undefined): Parsed => {
  const trimmed = text.trim()
  if (trimmed === "") return { _tag: "Empty" }
  const type = contentType?.toLowerCase() ?? ""
  if (type.includes("html") || looksLikeHtml(trimmed)) return { _tag: "Html" }
  const first = trimmed[0]
  if (type.includes("json") || first === "{" || first === "[") {
    try {
      return { _tag: "Json", value: JSON.parse(trimmed) }
    } catch {
      return { _tag: "Invalid", reason: "the response body is not valid JSON (malformed or truncated)" }
    }
  }
  if (type.includes("xml") || first === "<") {
    const root = Xml.parse(trimmed)
    return typeof root === "string"
      ? { _tag: "Invalid", reason: `the response body is not valid XML (${root})` }
      : { _tag: "Xml", root }
  }
  return { _tag: "Invalid", reason: `the response body is neither JSON nor XML (content-type ${type || "absent"})` }
}

const toDetail = (u: unknown, secrets: ReadonlyArray<string>): PlexError.PlexErrorDetail | undefined => {
  if (typeof u === "string") return new PlexError.PlexErrorDetail({ message: scrub(u, secrets) })
  if (typeof u !== "object" || u === null) return undefined
  const o = u as Record<string, unknown>
  const message = typeof o.message === "string" ? o.message : typeof o.error === "string" ? o.error : ""
  const code = numberFrom(o.code)
  const status = numberFrom(o.status)
  return new PlexError.PlexErrorDetail({
    message: scrub(message, secrets),
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { status })
  })
}

/** The `errors[]` of a plex.tv error body in JSON or XML form; empty for HTML or anything else. */
const errorDetails = (parsed: Parsed, secrets: ReadonlyArray<string>): Array<PlexError.PlexErrorDetail> => {
  let list: unknown
  if (parsed._tag === "Json") {
    const value = parsed.value as Record<string, unknown> | null
    list = typeof value === "object" && value !== null ? (value.errors ?? value.error) : undefined
  } else if (parsed._tag === "Xml") {
    list = Xml.toJson(parsed.root)
  } else {
    return []
  }
  const items = Array.isArray(list) ? list : list === undefined ? [] : [list]
  const out: Array<PlexError.PlexErrorDetail> = []
  for (const item of items.slice(0, 20)) {
    const detail = toDetail(item, secrets)
    if (detail !== undefined) out.push(detail)
  }
  return out
}

// --- the runner ---------------------------------------------------------------------------

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)
const maxTimerMillis = 2 ** 31 - 1

type FiberRefValue = readonly [FiberRef.FiberRef<any>, unknown]

// One copy of the fiber's refs for all entries (each `FiberRefs.updateAs` copies them).
const setFiberRefs = (entries: Arr.NonEmptyReadonlyArray<FiberRefValue>) =>
  Effect.updateFiberRefs((fiberId, refs) =>
    FiberRefs.updateManyAs(refs, {
      entries: Arr.map(entries, ([fiberRef, value]) => [fiberRef, [[fiberId, value as any]]] as const)
    })
  )

/**
 * `Effect.locally` for several fiber refs in one step, restored when `self` ends however it ends.
 * Each `Effect.locally` or `Effect.provideService` is an acquire/use/release of its own, and a call
 * needs four (parent span, fetch options, redacted header names, the platform's tracer switch).
 */
const locallyAll = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  entries: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Arr.NonEmptyReadonlyArray<FiberRefValue>
): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime((fiber) => {
      const next = entries(fiber)
      const previous = Arr.map(next, ([fiberRef]): FiberRefValue => [fiberRef, fiber.getFiberRef(fiberRef)])
      return Effect.zipRight(
        setFiberRefs(next),
        Effect.flatMap(Effect.exit(restore(self)), (exit) => Effect.zipRight(setFiberRefs(previous), exit))
      )
    })
  )

/**
 * Makes `scope` the `Scope` of the rest of the call: the attempt's requests register their abort
 * with it (`HttpClient.withScope`). Set, not provided: {@link locallyAll} around the whole call
 * restores the caller's context.
 */
const useScope = (scope: Scope.CloseableScope) =>
  Effect.updateFiberRefs((fiberId, refs) =>
    FiberRefs.updateAs(refs, {
      fiberId,
      fiberRef: FiberRef.currentContext,
      value: Context.add(FiberRefs.getOrDefault(refs, FiberRef.currentContext), Scope.Scope, scope)
    })
  )

/**
 * One attempt, bounded by `millis`. On the live clock the bound is a timer that closes the attempt's
 * scope, which aborts the request through the `AbortSignal` every @effect/platform transport honours
 * (fetch, undici, node:http), so the attempt ends with the transport's abort error, reported as
 * `onTimeout`. No fiber is forked: a child fiber per call (what `Effect.timeoutFail` needs, as it
 * races two) measured ~0.2× a raw request's CPU over loopback. Under any other clock (`TestClock`)
 * it is `Effect.timeoutFail`, so tests drive timeouts with `TestClock.adjust` whatever the transport.
 */
const bounded = <A, E, E2>(
  clock: Clock.Clock,
  self: Effect.Effect<A, E, Scope.Scope>,
  millis: number,
  onTimeout: () => E2
): Effect.Effect<A, E | E2> =>
  Effect.flatMap(Scope.make(), (scope) => {
    const live = clock === liveClock && millis <= maxTimerMillis
    let timedOut = false
    const timer = live
      ? setTimeout(() => {
        timedOut = true
        Effect.runFork(Scope.close(scope, Exit.void))
      }, millis)
      : undefined
    // The scope is set in the fiber's context rather than provided, hence the cast.
    const run = Effect.zipRight(
      useScope(scope),
      live ? self : Effect.timeoutFail(self, { duration: millis, onTimeout })
    ) as Effect.Effect<A, E | E2>
    return Effect.onExit(
      Effect.catchAll(run, (error) => Effect.fail(timedOut ? onTimeout() : error)),
      (exit) => {
        if (timer !== undefined) clearTimeout(timer)
        // After a success every response body has been read to the end, so there is nothing left to
        // abort, and aborting is not free (an AbortError with a stack trace per request). On failure
        // or interruption the abort cancels whatever is still in flight.
        return Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)
      }
    )
  })

const isRetryable = (error: PlexError.PlexError, policy: PlexPolicy.Policy): boolean => {
  if (error._tag !== "PlexSdkError") return false
  switch (error.reason) {
    case "Transport":
    case "Timeout":
      return true
    case "StatusCode":
    case "RateLimited":
      return error.status !== undefined && policy.retryStatuses.includes(error.status)
    default:
      return false
  }
}

const withAttempts = (error: PlexError.PlexError, attempts: number): PlexError.PlexError =>
  // Field by field: `cause` lives on Error and a spread would drop it.
  error._tag === "PlexSdkError" && attempts > 1
    ? sdkError(error.operation, error.reason, error.detail, {
      status: error.status,
      bodyExcerpt: error.bodyExcerpt,
      retryAfterMillis: error.retryAfterMillis,
      cause: error.cause,
      attempts
    })
    : error

// Bases seen valid; per-call `serverUrl`s are few in practice, and the cap keeps a stream of
// distinct ones from growing the set.
const validBases = new Set<string>()

const validBase = (base: string): boolean => {
  if (validBases.has(base)) return true
  if (validBases.size > 256) validBases.clear()
  try {
    const url = new URL(base)
    // Paths are appended to the base as text: a query or fragment there would swallow them.
    const ok = (url.protocol === "http:" || url.protocol === "https:") && url.search === "" && url.hash === ""
    if (ok) validBases.add(base)
    return ok
  } catch {
    return false
  }
}

const always = () => true

// Visible ASCII and space: what every transport sends as is. PlexConfig.make encodes non-ASCII
// identity values as UTF-8 bytes first, so only control characters (CR, LF, NUL…) fail here.
const headerSafe = /^[\x20-\x7e\x80-\xff]*$/

// `location` too: a server can echo the token into a redirect target, and the platform's span
// records response headers.
const redactToken = (names: ReadonlyArray<string | RegExp>) =>
  names.includes("x-plex-token") ? names : [...names, "x-plex-token", "location"]

type Prepared = {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly secrets: Array<string>
}

/**
 * Builds a {@link Runner} from the services in context. Done once per layer: the per-call path reads
 * only the policy and the token.
 *
 * @internal
 */
export const makeRunner: Effect.Effect<
  Runner,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Effect.gen(function*() {
  const config = yield* PlexConfig.PlexConfig
  // Checked once: a value no transport can send would otherwise throw inside the transport (a
  // defect on Node's http client) or be retried as a transport error.
  const badHeader = Object.keys(config.headers).find((name) => !headerSafe.test(config.headers[name]))
  const headerProblem = badHeader === undefined
    ? undefined
    : `the ${badHeader} header from PlexConfig holds control characters, which no request can carry`
  const tokens = yield* PlexToken.PlexToken
  // Each request's AbortController belongs to the attempt's scope: closing it is how an attempt
  // times out (see `bounded`), and it spares the platform's per-response interrupt wrapper and
  // finalization-registry entry.
  const client = HttpClient.withScope(yield* HttpClient.HttpClient)

  return <I, A>(ep: Endpoint<I, A>) => {
    const spanName = `${ep.module}.${ep.operation}`
    const operation = ep.operation
    const decodeSuccess = ep.success === undefined ? undefined : Schema.decodeUnknownEither(ep.success)
    const staticAttributes = { "plex.operation": operation, "plex.host": ep.host }
    const invalid = (detail: string) => Effect.fail(sdkError(operation, "InvalidRequest", detail))

    /** Everything about the call that needs no effect: a reason it cannot be sent, or the request. */
    const prepare = (
      input: I,
      options: CallOptions | undefined,
      token: Redacted.Redacted<string> | undefined
    ): string | Prepared => {
      const base = options?.serverUrl ?? (ep.host === "pms" ? config.serverUrl : config.plexTvUrl)
      if (base === undefined || base === "") {
        return "no Plex Media Server URL: set PlexConfig serverUrl or pass options.serverUrl"
      }
      if (!validBase(base)) return "the base URL is not an absolute http(s) URL without query or fragment"
      if (headerProblem !== undefined) return headerProblem
      if (ep.token === "required") {
        if (token === undefined || Redacted.value(token) === "") {
          return "no token: provide PlexToken or pass options.token"
        }
        if (!headerSafe.test(Redacted.value(token))) {
          return "the token holds characters a header cannot carry (control characters or non-ASCII)"
        }
      }
      const secrets: Array<string> = token === undefined ? [] : [Redacted.value(token)]
      if (ep.urlSecrets !== undefined) secrets.push(...ep.urlSecrets(input))
      let request = HttpClientRequest.make(ep.method)(
        (base.endsWith("/") ? base.slice(0, -1) : base) + ep.path(input),
        {
          headers: token === undefined
            ? config.headers
            : { ...config.headers, "x-plex-token": Redacted.value(token) }
        }
      )
      if (ep.query !== undefined) {
        const query = ep.query(input)
        const params: Array<[string, string]> = []
        for (const key in query) {
          const value = query[key]
          if (value !== undefined) params.push([key, value])
        }
        request = HttpClientRequest.setUrlParams(request, params)
      }
      if (ep.form !== undefined) {
        const form = ep.form(input)
        const params: Array<[string, string]> = []
        for (const key in form) {
          const value = form[key]
          if (value === undefined) continue
          if (Redacted.isRedacted(value)) {
            const plain = Redacted.value(value)
            secrets.push(plain)
            params.push([key, plain])
          } else {
            params.push([key, value])
          }
        }
        request = HttpClientRequest.bodyUrlParams(request, params)
      }
      return { request, secrets }
    }

    /** Sends a prepared call: attempts, redirects, decoding and typed errors. */
    const perform = (
      { request, secrets }: Prepared,
      policy: PlexPolicy.Policy,
      clock: Clock.Clock
    ): Effect.Effect<A, PlexError.PlexError> => {
      const startedAt = clock.unsafeCurrentTimeMillis()
      const deadlineAt = startedAt + Duration.toMillis(policy.deadline)
      const attemptMillis = Duration.toMillis(policy.attemptTimeout)
      const maxAttempts = ep.idempotent ? policy.maxAttempts : 1
      const fail = (
        reason: PlexError.SdkErrorReason,
        detail: string,
        extra?: Parameters<typeof sdkError>[3]
      ) => Effect.fail(sdkError(operation, reason, detail, extra))

      const errorBody = (response: HttpClientResponse.HttpClientResponse) =>
        readBody(response, Math.min(ERROR_BODY_CAP, policy.maxBodyBytes)).pipe(
          Effect.map((text) => ({ text, parsed: parseBody(text, response.headers["content-type"]) })),
          Effect.orElseSucceed(() => ({ text: "", parsed: { _tag: "Empty" } as Parsed }))
        )

      const onError = (
        response: HttpClientResponse.HttpClientResponse
      ): Effect.Effect<never, PlexError.PlexError> =>
        Effect.flatMap(errorBody(response), ({ parsed, text }): Effect.Effect<never, PlexError.PlexError> => {
          const status = response.status
          const errors = errorDetails(parsed, secrets)
          if (ep.codeReasons !== undefined) {
            for (const detail of errors) {
              const special = detail.code === undefined ? undefined : ep.codeReasons[detail.code]
              if (special !== undefined) return fail(special.reason, special.detail, { status })
            }
          }
          const special = ep.statusReasons?.[status]
          if (special !== undefined) {
            return fail(special.reason, special.detail, { status, bodyExcerpt: excerpt(text, secrets) })
          }
          if (status === 400) return Effect.fail(new PlexError.PlexBadRequest({ operation, status, errors }))
          if (status === 401) return Effect.fail(new PlexError.PlexUnauthorized({ operation, status, errors }))
          return Effect.suspend(() => {
            const now = clock.unsafeCurrentTimeMillis()
            const retryAfterMillis = parseRetryAfter(response.headers["retry-after"], now)
            const rateLimited = status === 429
            return fail(
              rateLimited ? "RateLimited" : "StatusCode",
              rateLimited ? "plex.tv is rate limiting this client" : `unexpected HTTP status ${status}`,
              { status, bodyExcerpt: excerpt(text, secrets), retryAfterMillis }
            )
          })
        })

      const decode = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, PlexError.PlexError> =>
        readBody(response, policy.maxBodyBytes).pipe(
          Effect.catchAll((e) =>
            e._tag === "BodyTooLarge"
              ? fail(
                "Decode",
                `the response body${
                  e.bytes === undefined ? "" : ` of ${e.bytes} bytes`
                } exceeds the ${policy.maxBodyBytes}-byte cap`,
                { status: response.status }
              )
              : fail("Transport", "the connection failed while reading the response body", {
                status: response.status,
                cause: describeCause(e.cause, secrets)
              })
          ),
          Effect.flatMap((text): Effect.Effect<A, PlexError.PlexError> => {
            if (decodeSuccess === undefined) return Effect.void as Effect.Effect<any>
            const parsed = parseBody(text, response.headers["content-type"])
            let value: unknown
            switch (parsed._tag) {
              case "Json":
                value = parsed.value
                break
              case "Xml": {
                const json = Xml.toJson(parsed.root)
                value = ep.envelope === undefined ? json : { [ep.envelope]: json }
                break
              }
              case "Html":
                return fail("Decode", "expected JSON or XML, got an HTML page", { status: response.status })
              case "Empty":
                return fail("Decode", "the response body is empty", { status: response.status })
              case "Invalid":
                return fail("Decode", parsed.reason, { status: response.status })
            }
            const result = decodeSuccess(value)
            return Either.isRight(result)
              ? Effect.succeed(result.right)
              : fail("Decode", describeParseError(result.left), { status: response.status })
          })
        )

      const transportError = (error: HttpClientError.HttpClientError) =>
        error._tag === "RequestError" && error.reason !== "Transport"
          ? fail("InvalidRequest", `the request could not be built (${error.reason})`)
          : fail("Transport", "the request did not complete", { cause: describeCause(error.cause, secrets) })

      const send = (
        req: HttpClientRequest.HttpClientRequest,
        redirectsLeft: number
      ): Effect.Effect<A, PlexError.PlexError, Scope.Scope> =>
        Effect.flatMap(
          Effect.catchAll(client.execute(req), transportError),
          (response): Effect.Effect<A, PlexError.PlexError, Scope.Scope> => {
            const status = response.status
            if (status >= 200 && status < 300) return decode(response)
            if (status >= 300 && status < 400 && status !== 304) {
              return Effect.zipRight(Effect.ignore(errorBody(response)), redirect(req, response, redirectsLeft))
            }
            return onError(response)
          }
        )

      const redirect = (
        req: HttpClientRequest.HttpClientRequest,
        response: HttpClientResponse.HttpClientResponse,
        redirectsLeft: number
      ): Effect.Effect<A, PlexError.PlexError, Scope.Scope> => {
        const status = response.status
        const location = response.headers["location"]
        if (policy.redirects === "none" || location === undefined) {
          return fail("StatusCode", `unexpected redirect (HTTP ${status})`, { status })
        }
        let target: URL
        try {
          target = new URL(location, req.url)
        } catch {
          return fail("StatusCode", "redirect to an invalid location", { status })
        }
        if (target.origin !== new URL(req.url).origin) {
          return fail(
            "StatusCode",
            "refused a redirect to another origin: X-Plex-Token is never sent to a host it was not meant for",
            { status }
          )
        }
        if (redirectsLeft <= 0) return fail("StatusCode", "too many redirects", { status })
        // The token travels in the header; one echoed into the location must not ride in the URL.
        for (const key of [...target.searchParams.keys()]) {
          if (key.toLowerCase() === "x-plex-token") target.searchParams.delete(key)
        }
        // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body (a form
        // body holds the password); 307 and 308 repeat the request as it was.
        const asGet = status === 303 || ((status === 301 || status === 302) && req.method === "POST")
        const next = asGet
          ? HttpClientRequest.setMethod(
            HttpClientRequest.setBody(HttpClientRequest.setUrl(req, target), HttpBody.empty),
            "GET"
          )
          : HttpClientRequest.setUrl(req, target)
        return send(next, redirectsLeft - 1)
      }

      const attempt = (number: number): Effect.Effect<A, PlexError.PlexError> =>
        Effect.suspend(() => {
          const now = clock.unsafeCurrentTimeMillis()
          const remaining = deadlineAt - now
          if (remaining <= 0) {
            return fail("Timeout", `the call exceeded its ${Duration.format(policy.deadline)} deadline`)
          }
          const budget = Math.min(attemptMillis, remaining)
          const once = bounded(clock, send(request, policy.maxRedirects), budget, () =>
            sdkError(
              operation,
              "Timeout",
              budget < attemptMillis
                ? `the call exceeded its ${Duration.format(policy.deadline)} deadline`
                : `an attempt exceeded its ${Duration.format(policy.attemptTimeout)} timeout`
            ))
          return Effect.catchAll(once, (error) => {
            if (number >= maxAttempts || !isRetryable(error, policy)) {
              return Effect.fail(withAttempts(error, number))
            }
            const retryAfter = error._tag === "PlexSdkError" ? error.retryAfterMillis : undefined
            return Effect.flatMap(
              Random.next,
              (random) => {
                const later = clock.unsafeCurrentTimeMillis()
                const wait = PlexPolicy.retryDelayMillis(policy, number, retryAfter, random)
                if (later + wait >= deadlineAt) return Effect.fail(withAttempts(error, number))
                return Effect.zipRight(Effect.sleep(wait), attempt(number + 1))
              }
            )
          })
        })

      return attempt(1)
    }

    return (input: I, options?: CallOptions): Effect.Effect<A, PlexError.PlexError> =>
      Effect.useSpan(spanName, {
        kind: "client",
        // A stack trace per span is an Error allocation per call; the span name says where it is.
        captureStackTrace: false,
        attributes: ep.attributes === undefined ? staticAttributes : { ...staticAttributes, ...ep.attributes(input) }
      }, (span) => {
        const problem = ep.validate?.(input)
        if (problem !== undefined) return invalid(problem)
        const withToken = (token: Redacted.Redacted<string> | undefined): Effect.Effect<A, PlexError.PlexError> => {
          const prepared = prepare(input, options, token)
          if (typeof prepared === "string") return invalid(prepared)
          // The call's context in one step (see locallyAll): the span, as parent of anything the
          // transport traces; fetch's `redirect: "manual"` (fetch would follow redirects itself and
          // forward X-Plex-Token, a custom header, to any host; this way every 3xx comes back here and
          // only same-origin ones are followed; other transports ignore the option); x-plex-token as
          // a redacted header name for everything under the call, the user's own HttpClient
          // transforms included; and the platform's http.client span, which records the URL and
          // every header: off by default for its cost, and always off when the URL itself
          // identifies a secret.
          return locallyAll(
            Effect.withFiberRuntime((fiber) =>
              perform(
                prepared,
                Context.get(fiber.currentContext, PlexPolicy.PlexPolicy),
                Context.get(fiber.currentDefaultServices, Clock.Clock)
              )
            ),
            (fiber): Arr.NonEmptyReadonlyArray<FiberRefValue> => {
              const context = fiber.getFiberRef(FiberRef.currentContext)
              const policy = Context.get(context, PlexPolicy.PlexPolicy)
              const init = Context.getOption(context, FetchHttpClient.RequestInit)
              const spansOff = ep.urlSecrets !== undefined || !policy.httpClientSpans
              return [
                [
                  FiberRef.currentContext,
                  Context.add(
                    Context.add(context, Tracer.ParentSpan, span),
                    FetchHttpClient.RequestInit,
                    { ...Option.getOrUndefined(init), redirect: "manual" }
                  )
                ],
                [Headers.currentRedactedNames, redactToken(fiber.getFiberRef(Headers.currentRedactedNames))],
                spansOff
                  ? [HttpClient.currentTracerDisabledWhen, always]
                  : [HttpClient.currentTracerPropagation, policy.propagateTraceContext]
              ]
            }
          )
        }
        if (ep.token === "none") return withToken(undefined)
        if (options?.token !== undefined) return withToken(options.token)
        return Effect.flatMap(tokens.get, (token) => withToken(Option.getOrUndefined(token)))
      })
  }
})
