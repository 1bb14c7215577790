/**
 * `PlexToken.layerJwt`: a token source that keeps a Plex JWT fresh.
 *
 * The credentials live in a `KeyValueStore` (the source of truth, possibly shared by replicas) and
 * in memory. A caller that finds the token stale (within `refreshBefore` of expiry, expired, or just
 * answered 498) starts a *flight*, or joins the one in progress: one `Deferred` per flight, so any
 * number of callers cause one renewal and all see its outcome. The flight first reads the store
 * (another replica may have stored a fresh token already), else refreshes (`PlexJwt.refresh`,
 * which verifies the new JWT) and stores the result. It runs in the layer's scope, so a caller that
 * is interrupted does not cancel it for the others. A failed flight leaves nothing behind: the next
 * stale caller starts a new one.
 *
 * A token that is stale but still valid is not worth failing calls over: when refreshing it fails,
 * the callers get the current token, the failure is logged, and the next attempt waits `retryAfter`
 * (plex.tv rate-limits nonces). An expired token, or one plex.tv refused with 498, fails the
 * flight's callers with the refresh's error.
 *
 * @internal
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as PlexError from "../PlexError.js"
import type { Service } from "../PlexToken.js"
import { type Credentials, load, PlexJwt, save } from "./jwtModel.js"

/** @internal */
export interface Options {
  readonly key: string
  readonly refreshBefore?: Duration.DurationInput | undefined
  readonly retryAfter?: Duration.DurationInput | undefined
}

interface State {
  readonly current: Option.Option<Credentials>
  readonly flight: Option.Option<Deferred.Deferred<Credentials, PlexError.PlexError>>
  /** After a failed refresh of a still-valid token: no new attempt before this time. */
  readonly quietUntil: number
}

const millis = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Duration.toMillis(Option.getOrElse(Duration.decodeUnknown(input ?? fallback), () => Duration.decode(fallback)))

const expiresAt = (c: Credentials) => DateTime.toEpochMillis(c.expiresAt)

/** @internal */
export const make = (
  options: Options
): Effect.Effect<Service, never, KeyValueStore.KeyValueStore | PlexJwt | Scope.Scope> =>
  Effect.gen(function*() {
    const jwt = yield* PlexJwt
    const store = yield* KeyValueStore.KeyValueStore
    const scope = yield* Effect.scope
    const refreshBefore = millis(options.refreshBefore, "1 day")
    const retryAfter = millis(options.retryAfter, "1 minute")
    const ref = yield* Ref.make<State>({ current: Option.none(), flight: Option.none(), quietUntil: 0 })

    const isFresh = (c: Credentials, now: number) => expiresAt(c) - now > refreshBefore

    /**
     * One renewal: what the store holds if it is newer and fresh (another process refreshed), else a
     * refresh, stored before anyone uses it. `refused` is a token plex.tv answered 498 to.
     */
    const renew = (known: Option.Option<Credentials>, refused: string | undefined) =>
      Effect.gen(function*() {
        const stored = yield* load(store, options.key, "refreshToken")
        const now = yield* Clock.currentTimeMillis
        if (Option.isSome(stored)) {
          const c = stored.value
          const token = c.token
          const newer = Option.isNone(known) || !sameToken(token, known.value.token)
          if (newer && isFresh(c, now) && (refused === undefined || !sameText(token, refused))) return c
        }
        const base = Option.orElse(stored, () => known)
        if (Option.isNone(base)) {
          return yield* new PlexError.PlexSdkError({
            operation: "refreshToken",
            reason: "InvalidRequest",
            detail: `no credentials under ${JSON.stringify(options.key)} in the KeyValueStore: sign in with ` +
              "PlexJwt.waitForCredentials or PlexJwt.registerKey and store them with PlexJwt.saveCredentials"
          })
        }
        const usable = base.value
        return yield* jwt.refresh(usable).pipe(
          Effect.tap((fresh) => save(store, options.key, fresh, "refreshToken")),
          Effect.catchAll((error) =>
            Effect.flatMap(Clock.currentTimeMillis, (later) => {
              // A 498, or an expired token: nothing to fall back on.
              if (refused !== undefined || expiresAt(usable) <= later) return Effect.fail(error)
              // Still valid: keep using it, and try again later rather than on every call.
              return Ref.update(ref, (st) => ({ ...st, quietUntil: later + retryAfter })).pipe(
                Effect.zipRight(Effect.logWarning(`PlexToken.layerJwt: refreshing the JWT failed: ${error.message}`)),
                Effect.as(usable)
              )
            })
          )
        )
      })

    /** Joins the flight in progress, or starts one in the layer's scope. */
    const flight = (known: Option.Option<Credentials>, refused: string | undefined) =>
      Effect.flatMap(Deferred.make<Credentials, PlexError.PlexError>(), (mine) =>
        Effect.flatMap(
          // Uninterruptible: a flight that is registered is always started, and always settles.
          Effect.uninterruptible(Effect.flatMap(
            Ref.modify(
              ref,
              (s): readonly [Option.Option<Deferred.Deferred<Credentials, PlexError.PlexError>>, State] =>
                Option.isSome(s.flight) ? [s.flight, s] : [Option.none(), { ...s, flight: Option.some(mine) }]
            ),
            (joined) => {
              if (Option.isSome(joined)) return Effect.succeed(joined.value)
              const settle = Effect.interruptible(renew(known, refused)).pipe(
                Effect.onExit((exit) =>
                  Ref.update(ref, (s) => ({
                    ...s,
                    current: exit._tag === "Success" ? Option.some(exit.value) : s.current,
                    flight: Option.none()
                  })).pipe(Effect.zipRight(Deferred.done(mine, exit)))
                )
              )
              return Effect.as(Effect.forkIn(Effect.ignore(settle), scope), mine)
            }
          )),
          Deferred.await
        ))

    const get: Service["get"] = Effect.gen(function*() {
      const s = yield* Ref.get(ref)
      const now = yield* Clock.currentTimeMillis
      const current = s.current
      if (Option.isSome(current)) {
        const c = current.value
        if (isFresh(c, now)) return Option.some(c.token)
        if (expiresAt(c) > now && now < s.quietUntil) return Option.some(c.token)
      }
      const fresh = yield* flight(current, undefined)
      return Option.some(fresh.token)
    })

    const refresh: NonNullable<Service["refresh"]> = (expired) =>
      Effect.gen(function*() {
        const s = yield* Ref.get(ref)
        const now = yield* Clock.currentTimeMillis
        // Another caller has replaced the refused token already.
        if (Option.isSome(s.current) && !sameToken(s.current.value.token, expired) && isFresh(s.current.value, now)) {
          return Option.some(s.current.value.token)
        }
        const fresh = yield* flight(s.current, reveal(expired))
        return Option.some(fresh.token)
      })

    return { get, refresh }
  })

// Tokens are compared here only, never printed.
const reveal = (r: Redacted.Redacted<string>): string => Redacted.value(r)
const sameToken = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string>) => reveal(a) === reveal(b)
const sameText = (a: Redacted.Redacted<string>, b: string) => reveal(a) === b
