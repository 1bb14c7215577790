/**
 * The one PIN polling loop: `pinStates` is it, `waitForToken` runs it to its last state.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { CallOptions, WaitOptions } from "../PinLogin.js"
import * as PlexError from "../PlexError.js"
import { module } from "./pinLogin.js"
import { type Pin, PinState } from "./pinModel.js"
import * as Adjust from "./policy.js"

interface Poll {
  /** Wait before this check. */
  readonly sleepMillis: number
  /** Wait between checks from now on (grows on 429). */
  readonly intervalMillis: number
  readonly expiresAtMillis: number | undefined
}

type Step = readonly [PinState, Option.Option<Poll>]

const invalidWait = (operation: string, detail: string) =>
  new PlexError.PlexSdkError({ operation, reason: "InvalidRequest", detail })

/** The one polling loop: `pinStates` is it, `waitForToken` runs it to its last state. @internal */
export const poll = (
  check: (id: number, options?: CallOptions) => Effect.Effect<Pin, PlexError.PlexError>,
  operation: string,
  pin: Pin | number,
  options: WaitOptions | undefined
): Stream.Stream<PinState, PlexError.PlexError> =>
  Stream.unwrap(Effect.gen(function*() {
    // `DurationInput` admits strings the parser refuses: an InvalidRequest, not a defect.
    const timeoutOption = Duration.decodeUnknown(options?.timeout ?? Duration.seconds(120))
    const intervalOption = Duration.decodeUnknown(options?.interval ?? Duration.seconds(1))
    const maxIntervalOption = Duration.decodeUnknown(options?.maxInterval ?? Duration.seconds(30))
    if (Option.isNone(timeoutOption) || Option.isNone(intervalOption) || Option.isNone(maxIntervalOption)) {
      return Stream.fail(invalidWait(operation, "timeout, interval and maxInterval must be valid durations"))
    }
    const timeout = timeoutOption.value
    const intervalMillis = Duration.toMillis(intervalOption.value)
    const maxIntervalMillis = Math.max(intervalMillis, Duration.toMillis(maxIntervalOption.value))
    if (!(intervalMillis > 0) || !Number.isFinite(intervalMillis)) {
      return Stream.fail(invalidWait(operation, "the polling interval must be a positive, finite duration"))
    }
    const id = typeof pin === "number" ? pin : pin.id
    const startedAt = yield* Clock.currentTimeMillis
    const timeoutAt = startedAt + Duration.toMillis(timeout)
    const callOptions: CallOptions | undefined = options?.serverUrl === undefined
      ? undefined
      : { serverUrl: options.serverUrl }

    const deadlineOf = (s: Poll) => Math.min(timeoutAt, s.expiresAtMillis ?? Infinity)

    const end = (s: Poll): Effect.Effect<Step, PlexError.PlexSdkError> =>
      s.expiresAtMillis !== undefined && s.expiresAtMillis <= timeoutAt
        ? Effect.succeed([PinState.Expired(), Option.none()])
        : Effect.fail(
          new PlexError.PlexSdkError({
            operation,
            reason: "PinTimeout",
            detail: `the PIN was not approved within ${Duration.format(timeout)}`
          })
        )

    const waiting = (s: Poll, now: number): Step => {
      const left = deadlineOf(s) - now
      return [PinState.Waiting({ secondsLeft: Math.max(0, Math.ceil(left / 1000)) }), Option.some(s)]
    }

    const step = (s: Poll): Effect.Effect<Step, PlexError.PlexError> =>
      Effect.gen(function*() {
        if (s.sleepMillis > 0) {
          const before = yield* Clock.currentTimeMillis
          yield* Effect.sleep(Duration.millis(Math.max(0, Math.min(s.sleepMillis, deadlineOf(s) - before))))
        }
        const now = yield* Clock.currentTimeMillis
        const remaining = deadlineOf(s) - now
        if (remaining <= 0) return yield* end(s)
        // A check never outlives the wait: a slow plex.tv must not stretch the caller's timeout.
        // 429 is this loop's to back off from; the runner still retries transport errors and 5xx.
        const attempt = Effect.either(
          Adjust.adjust(check(id, callOptions), (policy) =>
            Either.right({
              ...policy,
              retryStatuses: policy.retryStatuses.filter((status) => status !== 429)
            }))
        )
        const outcome = Number.isFinite(remaining)
          ? yield* Effect.timeoutOption(attempt, Duration.millis(remaining))
          : Option.some(yield* attempt)
        if (Option.isNone(outcome)) {
          return yield* end(s)
        }
        const after = yield* Clock.currentTimeMillis
        const result = outcome.value
        if (Either.isLeft(result)) {
          const error = result.left
          if (error._tag === "PlexSdkError" && error.reason === "PinExpired") {
            return [PinState.Expired(), Option.none()] as const
          }
          if (error._tag === "PlexSdkError" && error.reason === "RateLimited") {
            // Back off instead of failing: honour Retry-After, else double the interval up to the cap.
            if (error.retryAfterMillis !== undefined) {
              return waiting({ ...s, sleepMillis: error.retryAfterMillis }, after)
            }
            const slower = Math.min(maxIntervalMillis, s.intervalMillis * 2)
            return waiting({ ...s, sleepMillis: slower, intervalMillis: slower }, after)
          }
          return yield* Effect.fail(error)
        }
        const current = result.right
        if (current.authToken !== undefined) {
          return [PinState.Approved({ token: current.authToken }), Option.none()] as const
        }
        // Learnt once, at the first check, from the relative `expiresIn`: a local clock that runs
        // ahead of plex.tv's must not end the wait early. The absolute `expiresAt` is the fallback.
        const expiresAtMillis = s.expiresAtMillis ?? (typeof current.expiresIn === "number"
          ? after + current.expiresIn * 1000
          : current.expiresAt === undefined
          ? undefined
          : DateTime.toEpochMillis(current.expiresAt))
        return waiting({ sleepMillis: s.intervalMillis, intervalMillis: s.intervalMillis, expiresAtMillis }, after)
      })

    // The first check happens at once, so the PIN's expiry is learnt from plex.tv, never from
    // comparing its absolute `expiresAt` with a local clock that may disagree.
    return Stream.paginateEffect<Poll, PinState, PlexError.PlexError, never>(
      { sleepMillis: 0, intervalMillis, expiresAtMillis: undefined },
      step
    )
  })).pipe(Stream.withSpan(`${module}.${operation}`, { kind: "client", attributes: { "plex.operation": operation } }))

type Final = Extract<PinState, { readonly _tag: "Approved" | "Expired" }>

/** @internal */
export const isFinal = (state: PinState): state is Final => state._tag !== "Waiting"
