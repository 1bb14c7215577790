/**
 * Resilience and transport policy for every operation: timeouts, retries, the body size cap,
 * redirects and trace propagation. It is a `Context.Reference`, so the defaults apply with no layer
 * at all. Where a policy takes effect:
 *
 * - provided to a service's layer (`Authentication.layer.pipe(Layer.provide(PlexPolicy.layer(…)))`,
 *   or the `policy` option of `Plex.layer`): the default for that layer's operations;
 * - provided where an operation is called (`Effect.provide(PlexPolicy.layer(…))` around it, or
 *   `Effect.provideService(PlexPolicy.PlexPolicy, …)`): replaces the layer's for those calls;
 * - {@link withPolicy} on an effect: changes only the options it names, on top of whichever of the
 *   two is in force.
 *
 * What is retried is decided per operation, not by the user: idempotent reads retry on transport
 * errors, timeouts and 408/429/500/502/503/504; sign-in and PIN creation never retry once a request
 * may have reached the server, because plex.tv throttles repeated attempts (codes 1003, 1031).
 * 400 and 401 are never retried.
 *
 * @since 0.1.0
 */
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Adjust from "./internal/policy.js"

/**
 * The resolved policy every operation reads at call time. Build one with {@link make}; every field is
 * described below.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /**
   * Budget for one attempt: sending the request and reading the whole body. When it passes, the
   * attempt is interrupted (whatever the transport does) and its request aborted through the
   * `AbortSignal`; the attempt fails with `Timeout`, which is retried like a transport error. It runs
   * on Effect's `Clock`, so `TestClock.adjust` drives it in tests.
   */
  readonly attemptTimeout: Duration.Duration
  /** Budget for the whole call, all attempts and waits included. */
  readonly deadline: Duration.Duration
  /** Attempts in total, the first included. `1` turns retries off. */
  readonly maxAttempts: number
  /** Backoff before retry n is `min(maxDelay, baseDelay * 2^(n-1))`, jittered down to half. */
  readonly baseDelay: Duration.Duration
  /** Cap of one backoff wait. A server's `Retry-After` may exceed it, but never the deadline. */
  readonly maxDelay: Duration.Duration
  /** Randomize each backoff wait within [50%, 100%] of its value, so clients do not retry in step. */
  readonly jitter: boolean
  /** Statuses a retryable operation retries. */
  readonly retryStatuses: ReadonlyArray<number>
  /** Largest response body read, in bytes. Larger bodies fail with `Decode` without being read whole. */
  readonly maxBodyBytes: number
  /**
   * `"same-origin"` follows redirects only within the origin (the token goes along);
   * `"none"` treats every redirect as an unexpected status. A cross-origin redirect is never followed,
   * because `X-Plex-Token` is a custom header that fetch would forward to the other host.
   */
  readonly redirects: "same-origin" | "none"
  /** Most redirects followed in one attempt. */
  readonly maxRedirects: number
  /**
   * Also record @effect/platform's `http.client` span under each operation's span (URL, status and
   * every header, `X-Plex-Token` redacted). Off by default: it costs as much CPU as the rest of the
   * SDK together, and the operation's own span (`Authentication.getTokenDetails`, …) is recorded
   * either way. Never recorded for operations whose URL identifies a secret (PIN checks).
   */
  readonly httpClientSpans: boolean
  /**
   * Send W3C `traceparent` headers (needs `httpClientSpans`). Off by default: plex.tv is a third
   * party.
   */
  readonly propagateTraceContext: boolean
}

/**
 * The defaults: 10 s per attempt, 30 s per call, 3 attempts, backoff from 250 ms capped at 5 s with
 * jitter, a 4 MiB body cap (the largest real user object is ~10 KB), same-origin redirects only, the
 * operation's own span but not the platform's `http.client` span, no trace propagation.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Policy = {
  attemptTimeout: Duration.seconds(10),
  deadline: Duration.seconds(30),
  maxAttempts: 3,
  baseDelay: Duration.millis(250),
  maxDelay: Duration.seconds(5),
  jitter: true,
  retryStatuses: [408, 429, 500, 502, 503, 504],
  maxBodyBytes: 4 * 1024 * 1024,
  redirects: "same-origin",
  maxRedirects: 5,
  httpClientSpans: false,
  propagateTraceContext: false
}

/**
 * The policy in force. Reading it needs no layer: it falls back to {@link defaults}.
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexPolicy extends Context.Reference<PlexPolicy>()("effect-plex/PlexPolicy", {
  defaultValue: () => defaults
}) {}

/**
 * Policy options as a user writes them: durations in any `DurationInput` form.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly attemptTimeout?: Duration.DurationInput
  readonly deadline?: Duration.DurationInput
  readonly maxAttempts?: number
  readonly baseDelay?: Duration.DurationInput
  readonly maxDelay?: Duration.DurationInput
  readonly jitter?: boolean
  readonly retryStatuses?: ReadonlyArray<number>
  readonly maxBodyBytes?: number
  readonly redirects?: "same-origin" | "none"
  readonly maxRedirects?: number
  readonly httpClientSpans?: boolean
  readonly propagateTraceContext?: boolean
}

const durationKeys = ["attemptTimeout", "deadline", "baseDelay", "maxDelay"] as const

const invalid = (key: string, message: string) =>
  Either.left(ConfigError.InvalidData([key], `PlexPolicy.${key}: ${message}`))

/**
 * Applies options on top of a policy ({@link defaults} unless given). Fails with a `ConfigError`
 * naming the option when a value cannot be used: a duration the parser refuses ("1e3 seconds") or
 * that is negative (`attemptTimeout` and `deadline` must be positive), a count that is not a whole
 * number in range (`maxAttempts` ≥ 1, `maxBodyBytes` and `maxRedirects` ≥ 0), a status outside
 * 100–599. The result is an `Either`, which is also an `Effect`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options, base: Policy = defaults): Either.Either<Policy, ConfigError.ConfigError> => {
  const out: { -readonly [K in keyof Policy]: Policy[K] } = { ...base }
  for (const key of durationKeys) {
    const value = options[key]
    if (value === undefined) continue
    // Duration reads a negative or NaN number of millis as zero: refuse it rather than guess.
    const decoded = typeof value === "number" && !(value >= 0) ? Option.none() : Duration.decodeUnknown(value)
    if (Option.isNone(decoded)) return invalid(key, "not a duration Effect can read, or negative")
    const millis = Duration.toMillis(decoded.value)
    const positive = key === "attemptTimeout" || key === "deadline"
    if (!(millis >= 0) || (positive && millis === 0)) {
      return invalid(key, positive ? "must be a positive duration" : "must not be negative")
    }
    out[key] = decoded.value
  }
  const counts = [["maxAttempts", 1], ["maxBodyBytes", 0], ["maxRedirects", 0]] as const
  for (const [key, min] of counts) {
    const value = options[key]
    if (value === undefined) continue
    if (!Number.isSafeInteger(value) || value < min) return invalid(key, `must be a whole number ≥ ${min}`)
    out[key] = value
  }
  if (options.retryStatuses !== undefined) {
    if (!options.retryStatuses.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) {
      return invalid("retryStatuses", "every status must be a whole number in 100–599")
    }
    out.retryStatuses = options.retryStatuses
  }
  if (options.jitter !== undefined) out.jitter = options.jitter
  if (options.redirects !== undefined) out.redirects = options.redirects
  if (options.httpClientSpans !== undefined) out.httpClientSpans = options.httpClientSpans
  if (options.propagateTraceContext !== undefined) out.propagateTraceContext = options.propagateTraceContext
  return Either.right(out)
}

/**
 * A layer setting the policy. Provided to a service's layer it is that layer's default; provided
 * around the calls it replaces the layer's (see the module docs). Fails layer construction with a
 * `ConfigError` for an option {@link make} refuses.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<PlexPolicy, ConfigError.ConfigError> =>
  Layer.effect(PlexPolicy, make(options))

/**
 * Retries off: one attempt per call.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoRetries: Layer.Layer<PlexPolicy> = Layer.succeed(PlexPolicy, { ...defaults, maxAttempts: 1 })

/**
 * For tests: the defaults without backoff waits between retries (a retried 503 is sent again at
 * once), so tests under `TestClock` (`it.effect`) need no `TestClock.adjust` for them. A server's
 * `Retry-After` is still honoured, and timeouts still follow the clock.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest: Layer.Layer<PlexPolicy> = Layer.succeed(PlexPolicy, {
  ...defaults,
  baseDelay: Duration.zero,
  maxDelay: Duration.zero,
  jitter: false
})

/**
 * Runs an effect with options changed on top of the policy in force for each call it makes (the
 * layer's, or one provided around the calls), e.g. a deadline for one call:
 * `getTokenDetails().pipe(PlexPolicy.withPolicy({ deadline: "2 seconds" }))`. Nested uses apply
 * outermost first. An option {@link make} refuses makes each call fail with `InvalidRequest`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withPolicy: {
  (options: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, options: Options): Effect.Effect<A, E, R> =>
    Adjust.adjust(
      self,
      (policy) =>
        Either.mapLeft(
          make(options, policy),
          (error) => ConfigError.isInvalidData(error) ? error.message : String(error)
        )
    )
)

/**
 * The wait before retry number `retry` (1 for the first retry), before the deadline cap: the server's
 * `Retry-After` when it sent one, else jittered exponential backoff. `random` is in [0, 1).
 *
 * @since 0.1.0
 * @category utils
 */
export const retryDelayMillis = (
  policy: Policy,
  retry: number,
  retryAfterMillis: number | undefined,
  random: number
): number => {
  if (retryAfterMillis !== undefined) return Math.max(0, retryAfterMillis)
  const base = Duration.toMillis(policy.baseDelay)
  const cap = Duration.toMillis(policy.maxDelay)
  const exponential = Math.min(cap, base * 2 ** Math.max(0, retry - 1))
  return policy.jitter ? Math.round(exponential * (0.5 + random / 2)) : exponential
}
