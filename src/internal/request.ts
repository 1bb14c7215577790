/**
 * The one request → response → typed error path. Every operation of every module is an
 * {@link Endpoint} (a few declarative fields) run by the {@link Runner} built here, so input
 * validation, the policy, headers, the token, the body cap, decoding, error mapping, retries,
 * timeouts, redirects, spans and secret hygiene live in exactly one place. Bodies are read and
 * parsed in `body.ts`, secrets scrubbed in `secrets.ts`, the call's fiber refs set in
 * `callContext.ts`, and lenient models decoded by `model.ts`.
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
import type * as Arr from "effect/Array"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import * as TracerTag from "effect/Tracer"
import * as PlexConfig from "../PlexConfig.js"
import * as PlexError from "../PlexError.js"
import * as PlexPolicy from "../PlexPolicy.js"
import * as PlexToken from "../PlexToken.js"
import { errorDetails, parseBody, type Parsed, readBody } from "./body.js"
import { type FiberRefValue, locallyAll } from "./callContext.js"
import type { CallOptions, Endpoint, Runner } from "./endpoint.js"
import { isRetryable, parseRetryAfter, sdkError, type SdkErrorExtra, withAttempts } from "./failure.js"
import * as Model from "./model.js"
import * as Adjust from "./policy.js"
import { describeCause, describeParseError, excerpt } from "./secrets.js"
import { ServerTarget } from "./server.js"
import { interruptAfter } from "./timeout.js"
import * as Xml from "./xml.js"

export { type CallOptions, type Endpoint, endpoint, type Runner } from "./endpoint.js"
export { sdkError } from "./failure.js"

const ERROR_BODY_CAP = 64 * 1024

/**
 * One attempt, bounded by `millis` on Effect's `Clock` (so `TestClock` drives it), with the same
 * semantics whatever the transport or clock: when the time passes the attempt is interrupted
 * (`interruptAfter`), so it ends even on a transport that ignores its `AbortSignal`. The attempt owns
 * a scope to which every request's `AbortController` belongs (`HttpClient.withScope`): closing it
 * after a failure, a timeout or an interruption aborts whatever is still in flight. After a success
 * every body has been read to the end, so there is nothing to abort, and aborting is not free (an
 * `AbortError` with a stack trace).
 */
const bounded = <A, E, E2>(
  self: Effect.Effect<A, E, Scope.Scope>,
  millis: number,
  onTimeout: () => E2,
  clock: Clock.Clock
): Effect.Effect<A, E | E2> =>
  Effect.flatMap(Scope.make(), (scope) =>
    Effect.onExit(
      interruptAfter(Scope.extend(self, scope), millis, onTimeout, clock),
      (exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)
    ))

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
  /** A secret is in the URL: the platform's `http.client` span (which records it) stays off. */
  readonly urlSecret: boolean
}

/** Where a call's token came from: only one from `PlexToken` is refreshed after a 498. */
type TokenOrigin = "none" | "option" | "source" | "refreshed" | "server"

/** Unwraps `Redacted` values for the wire, collecting them as the call's secrets. */
const reveal = (value: string | Redacted.Redacted<string>, secrets: Array<string>): string => {
  if (!Redacted.isRedacted(value)) return value
  const plain = Redacted.value(value)
  secrets.push(plain)
  return plain
}

/**
 * Builds a {@link Runner} from the services in context and the token source (`undefined` for a
 * module whose operations rarely need one: they then fail with `InvalidRequest` unless a call passes
 * `options.token`). Done once per layer: a policy and a `ServerTarget` in the layer's context are
 * the defaults of its operations.
 *
 * @internal
 */
export const makeRunner = (
  tokens: PlexToken.Service | undefined
): Effect.Effect<Runner, never, HttpClient.HttpClient | PlexConfig.PlexConfig> =>
  Effect.gen(function*() {
    const config = yield* PlexConfig.PlexConfig
    const layerContext = yield* Effect.context<never>()
    // The layer's own policy, if one was provided to it; the caller's, when provided around a call,
    // replaces it (see PlexPolicy).
    const layerPolicy = layerContext.unsafeMap.has(PlexPolicy.PlexPolicy.key)
      ? Context.get(layerContext, PlexPolicy.PlexPolicy)
      : PlexPolicy.defaults
    const target = Option.getOrUndefined(Context.getOption(layerContext, ServerTarget))
    // Checked once: a value no transport can send would otherwise throw inside the transport (a
    // defect on Node's http client) or be retried as a transport error.
    const badHeader = Object.keys(config.headers).find((name) => !headerSafe.test(config.headers[name]))
    const headerProblem = badHeader === undefined
      ? undefined
      : `the ${badHeader} header from PlexConfig holds control characters, which no request can carry`
    // Each request's AbortController belongs to the attempt's scope: closing it is how an attempt's
    // request is aborted (see `bounded`), and it spares the platform's per-response interrupt wrapper
    // and finalization-registry entry.
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)

    const policyFor = (context: Context.Context<never>): Either.Either<PlexPolicy.Policy, string> => {
      const base = context.unsafeMap.has(PlexPolicy.PlexPolicy.key)
        ? Context.get(context, PlexPolicy.PlexPolicy)
        : layerPolicy
      const adjust = Context.get(context, Adjust.Adjustments)
      return adjust === undefined ? Either.right(base) : adjust(base)
    }

    return <I, A>(ep: Endpoint<I, A>) => {
      const spanName = `${ep.module}.${ep.operation}`
      const operation = ep.operation
      const success = ep.success
      const decodeSchema = success === undefined || Model.isDecoder(success)
        ? undefined
        : Schema.decodeUnknownEither(success)
      const staticAttributes = { "plex.operation": operation, "plex.host": ep.host }
      const fail = (reason: PlexError.SdkErrorReason, detail: string, extra?: SdkErrorExtra) =>
        Effect.fail(sdkError(operation, reason, detail, extra))
      const invalid = (detail: string) => fail("InvalidRequest", detail)
      const defaultBase = ep.host === "pms"
        ? config.serverUrl
        : ep.host === "clients"
        ? config.clientsUrl
        : config.plexTvUrl

      /** Everything about the call that needs no effect: a reason it cannot be sent, or the request. */
      const prepare = (
        input: I,
        base: string | undefined,
        token: Redacted.Redacted<string> | undefined
      ): string | Prepared => {
        if (base === undefined || base === "") {
          return "no Plex Media Server URL: set PlexConfig serverUrl, pass options.serverUrl, or use Resources.layerServer"
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
        let urlSecret = false
        if (ep.secrets !== undefined) {
          for (const value of ep.secrets(input)) secrets.push(Redacted.value(value))
        }
        if (ep.urlSecrets !== undefined) {
          secrets.push(...ep.urlSecrets(input))
          urlSecret = true
        }
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
            if (value === undefined) continue
            if (Redacted.isRedacted(value)) urlSecret = true
            params.push([key, reveal(value, secrets)])
          }
          request = HttpClientRequest.setUrlParams(request, params)
        }
        if (ep.form !== undefined) {
          const form = ep.form(input)
          const params: Array<[string, string]> = []
          for (const key in form) {
            const value = form[key]
            if (value !== undefined) params.push([key, reveal(value, secrets)])
          }
          request = HttpClientRequest.bodyUrlParams(request, params)
        }
        if (ep.json !== undefined) {
          // The holder's own value, not `value`: JSON.stringify has already called `Redacted`'s
          // `toJSON` ("<redacted>") by the time the replacer sees `value`.
          const text = JSON.stringify(
            ep.json(input),
            function(this: Record<string, unknown>, key, value) {
              const raw = this[key]
              return Redacted.isRedacted(raw) ? reveal(raw as Redacted.Redacted<string>, secrets) : value
            }
          )
          request = HttpClientRequest.bodyText(request, text, "application/json")
        }
        return { request, secrets, urlSecret }
      }

      /** Sends a prepared call: attempts, redirects, decoding and typed errors. */
      const perform = (
        { request, secrets }: Prepared,
        policy: PlexPolicy.Policy,
        clock: Clock.Clock,
        span: Tracer.Span
      ): Effect.Effect<A, PlexError.PlexError> => {
        const startedAt = clock.unsafeCurrentTimeMillis()
        const deadlineAt = startedAt + Duration.toMillis(policy.deadline)
        const attemptMillis = Duration.toMillis(policy.attemptTimeout)
        const maxAttempts = ep.idempotent ? policy.maxAttempts : 1

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
                if (special !== undefined) return fail(special.reason, special.detail, { status, errors })
              }
            }
            const special = ep.statusReasons?.[status]
            if (special !== undefined) {
              return fail(special.reason, special.detail, { status, errors, bodyExcerpt: excerpt(text, secrets) })
            }
            if (status === 400) return Effect.fail(new PlexError.PlexBadRequest({ operation, status, errors }))
            // 498 is how plex.tv says a JWT has expired.
            if (status === 401 || status === 498) {
              return Effect.fail(new PlexError.PlexUnauthorized({ operation, status, errors }))
            }
            const retryAfterMillis = parseRetryAfter(response.headers["retry-after"], clock.unsafeCurrentTimeMillis())
            const rateLimited = status === 429
            return fail(
              rateLimited ? "RateLimited" : "StatusCode",
              rateLimited ? "plex.tv is rate limiting this client" : `unexpected HTTP status ${status}`,
              { status, errors, bodyExcerpt: excerpt(text, secrets), retryAfterMillis }
            )
          })

        const decodeValue = (value: unknown, status: number): Effect.Effect<A, PlexError.PlexError> => {
          if (decodeSchema !== undefined) {
            const result = decodeSchema(value)
            return Either.isRight(result)
              ? Effect.succeed(result.right)
              : fail("Decode", `the response body is not the expected shape: ${describeParseError(result.left)}`, {
                status
              })
          }
          const issues = Model.makeIssues()
          const decoded = (success as Model.Decoder<A>).decode(value, issues)
          if (decoded === Model.Invalid) {
            return fail("Decode", `the response body is not the expected shape: ${issues.failure}`, { status })
          }
          // Tolerated bad data is counted where the caller's tracing sees it (paths only, no values).
          if (issues.dropped > 0) {
            span.attribute("plex.decode.dropped", issues.dropped)
            span.attribute("plex.decode.dropped_fields", issues.paths.join(","))
          }
          return Effect.succeed(decoded)
        }

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
                : failTransport("the connection failed while reading the response body", e.cause, response.status)
            ),
            Effect.flatMap((text): Effect.Effect<A, PlexError.PlexError> => {
              if (success === undefined) return Effect.void as Effect.Effect<any>
              const status = response.status
              const parsed = parseBody(text, response.headers["content-type"])
              switch (parsed._tag) {
                case "Json":
                  return decodeValue(parsed.value, status)
                case "Xml": {
                  const json = Xml.toJson(parsed.root)
                  return decodeValue(ep.envelope === undefined ? json : { [ep.envelope]: json }, status)
                }
                case "Html":
                  return fail("Decode", "expected JSON or XML, got an HTML page", { status })
                case "Empty":
                  return fail("Decode", "the response body is empty", { status })
                case "Invalid":
                  return fail("Decode", parsed.reason, { status })
              }
            })
          )

        const failTransport = (detail: string, cause: unknown, status?: number) => {
          const described = describeCause(cause, secrets)
          return fail("Transport", detail, { status, cause: described.text, errno: described.errno })
        }

        const execute = (
          req: HttpClientRequest.HttpClientRequest
        ): Effect.Effect<HttpClientResponse.HttpClientResponse, PlexError.PlexError, Scope.Scope> =>
          Effect.catchAll(client.execute(req), (error: HttpClientError.HttpClientError) => {
            // A status error from the user's own transforms (`HttpClient.filterStatusOk`) is a
            // response like any other: 401 stays PlexUnauthorized, 2FA stays recognisable.
            if (error._tag === "ResponseError" && error.reason === "StatusCode") return Effect.succeed(error.response)
            if (error._tag === "RequestError" && error.reason !== "Transport") {
              return fail("InvalidRequest", `the request could not be built (${error.reason})`)
            }
            return failTransport("the request did not complete", error.cause)
          })

        const send = (
          req: HttpClientRequest.HttpClientRequest,
          redirectsLeft: number
        ): Effect.Effect<A, PlexError.PlexError, Scope.Scope> =>
          Effect.flatMap(execute(req), (response): Effect.Effect<A, PlexError.PlexError, Scope.Scope> => {
            const status = response.status
            if (status >= 200 && status < 300) return decode(response)
            if (status >= 300 && status < 400 && status !== 304) {
              return Effect.zipRight(Effect.ignore(errorBody(response)), redirect(req, response, redirectsLeft))
            }
            return onError(response)
          })

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
          let destination: URL
          try {
            destination = new URL(location, req.url)
          } catch {
            return fail("StatusCode", "redirect to an invalid location", { status })
          }
          if (destination.origin !== new URL(req.url).origin) {
            return fail(
              "StatusCode",
              "refused a redirect to another origin: X-Plex-Token is never sent to a host it was not meant for",
              { status }
            )
          }
          if (redirectsLeft <= 0) return fail("StatusCode", "too many redirects", { status })
          // The token travels in the header; one echoed into the location must not ride in the URL.
          for (const key of [...destination.searchParams.keys()]) {
            if (key.toLowerCase() === "x-plex-token") destination.searchParams.delete(key)
          }
          // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body (a form
          // body holds the password); 307 and 308 repeat the request as it was.
          const asGet = status === 303 || ((status === 301 || status === 302) && req.method === "POST")
          const next = asGet
            ? HttpClientRequest.setMethod(
              HttpClientRequest.setBody(HttpClientRequest.setUrl(req, destination), HttpBody.empty),
              "GET"
            )
            : HttpClientRequest.setUrl(req, destination)
          return send(next, redirectsLeft - 1)
        }

        const attempt = (number: number): Effect.Effect<A, PlexError.PlexError> =>
          Effect.suspend(() => {
            const remaining = deadlineAt - clock.unsafeCurrentTimeMillis()
            if (remaining <= 0) {
              return fail("Timeout", `the call exceeded its ${Duration.format(policy.deadline)} deadline`)
            }
            const budget = Math.min(attemptMillis, remaining)
            const once = bounded(send(request, policy.maxRedirects), budget, () =>
              sdkError(
                operation,
                "Timeout",
                budget < attemptMillis
                  ? `the call exceeded its ${Duration.format(policy.deadline)} deadline`
                  : `an attempt exceeded its ${Duration.format(policy.attemptTimeout)} timeout`
              ), clock)
            return Effect.catchAll(once, (error) => {
              if (number >= maxAttempts || !isRetryable(error, policy)) {
                return Effect.fail(withAttempts(error, number))
              }
              const retryAfter = error._tag === "PlexSdkError" ? error.retryAfterMillis : undefined
              return Effect.flatMap(Random.next, (random) => {
                const wait = PlexPolicy.retryDelayMillis(policy, number, retryAfter, random)
                if (clock.unsafeCurrentTimeMillis() + wait >= deadlineAt) {
                  return Effect.fail(withAttempts(error, number))
                }
                return wait > 0 ? Effect.zipRight(Effect.sleep(wait), attempt(number + 1)) : attempt(number + 1)
              })
            })
          })

        return attempt(1)
      }

      return (input: I, options?: CallOptions): Effect.Effect<A, PlexError.PlexError> =>
        Effect.useSpan(spanName, {
          kind: "client",
          // A stack trace per span is an Error allocation per call; the span name says where it is.
          captureStackTrace: false,
          attributes: ep.attributes === undefined
            ? staticAttributes
            : { ...staticAttributes, ...ep.attributes(input) }
        }, (span) => {
          const problem = ep.validate?.(input)
          if (problem !== undefined) return invalid(problem)
          return Effect.withFiberRuntime((fiber) => {
            const resolved = policyFor(fiber.currentContext)
            if (Either.isLeft(resolved)) return invalid(`the policy for this call cannot be used: ${resolved.left}`)
            const policy = resolved.right
            const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)

            const call = (
              base: string | undefined,
              token: Redacted.Redacted<string> | undefined,
              origin: TokenOrigin
            ): Effect.Effect<A, PlexError.PlexError> => {
              const prepared = prepare(input, base, token)
              if (typeof prepared === "string") return invalid(prepared)
              // The call's context in one step (see locallyAll): the span, as parent of anything the
              // transport traces; fetch's `redirect: "manual"` (fetch would follow redirects itself
              // and forward X-Plex-Token, a custom header, to any host; this way every 3xx comes back
              // here and only same-origin ones are followed; other transports ignore the option);
              // x-plex-token as a redacted header name for everything under the call, the user's own
              // HttpClient transforms included; and the platform's http.client span, which records
              // the URL and every header: off by default for its cost, and always off when the URL
              // itself holds a secret.
              const run = locallyAll(
                perform(prepared, policy, clock, span),
                (fiber): Arr.NonEmptyReadonlyArray<FiberRefValue> => {
                  const context = fiber.getFiberRef(FiberRef.currentContext)
                  const init = Context.getOption(context, FetchHttpClient.RequestInit)
                  const spansOff = prepared.urlSecret || !policy.httpClientSpans
                  return [
                    [
                      FiberRef.currentContext,
                      Context.add(
                        Context.add(context, TracerTag.ParentSpan, span),
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
              if (origin === "source" && tokens?.refresh !== undefined && token !== undefined) {
                // An expired JWT (498): the token source refreshes it, and the call runs once more.
                const refresh = tokens.refresh
                return Effect.catchIf(
                  run,
                  PlexError.isTokenExpired,
                  (expired) =>
                    Effect.flatMap(
                      refresh(token),
                      Option.match({
                        onNone: () => Effect.fail(expired),
                        onSome: (fresh) => call(base, fresh, "refreshed")
                      })
                    )
                )
              }
              if (origin === "server" && target !== undefined && base !== undefined) {
                // The chosen connection failed: the next call races the server's connections again.
                return Effect.tapError(
                  run,
                  (error) =>
                    PlexError.isReason(error, "Transport") || PlexError.isReason(error, "Timeout")
                      ? target.reportFailure(base)
                      : Effect.void
                )
              }
              return run
            }

            if (ep.host === "pms" && target !== undefined && options?.serverUrl === undefined) {
              return Effect.flatMap(target.current, (chosen) =>
                call(
                  chosen.uri,
                  ep.token === "none" ? undefined : options?.token ?? chosen.token,
                  "server"
                ))
            }
            const base = options?.serverUrl ?? defaultBase
            if (ep.token === "none") return call(base, undefined, "none")
            if (options?.token !== undefined) return call(base, options.token, "option")
            if (tokens === undefined) return call(base, undefined, "none")
            return Effect.flatMap(tokens.get, (token) => call(base, Option.getOrUndefined(token), "source"))
          })
        })
    }
  })

/**
 * {@link makeRunner} with the `PlexToken` in context: for modules whose operations need a token.
 *
 * @internal
 */
export const makeTokenRunner: Effect.Effect<
  Runner,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Effect.flatMap(PlexToken.PlexToken, makeRunner)
