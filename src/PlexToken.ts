/**
 * Where the current Plex token comes from. A token source is a service rather than a config value
 * because tokens change: sign-in returns one, PIN login returns one, a sign-out ends one.
 *
 * @since 0.1.0
 */
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type { PlexJwt } from "./internal/jwtModel.js"
import * as JwtToken from "./internal/jwtToken.js"
import { redacted } from "./internal/secrets.js"
import type * as PlexError from "./PlexError.js"

/**
 * A token source. Implement it yourself to read tokens from a database or vault.
 *
 * - `get`: the token to send, read once per call. A missing token is `Option.none()` (operations
 *   that need one fail with `InvalidRequest`); a source that must fetch or refresh its token (a
 *   JWT near expiry) may fail with the `PlexError` that stopped it, which the call then fails with.
 * - `refresh` (optional): called when plex.tv answered 498 (an expired JWT) for `expired`; returns
 *   the token to retry the call with, once. Sources of legacy tokens leave it out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly get: Effect.Effect<Option.Option<Redacted.Redacted<string>>, PlexError.PlexError>
  readonly refresh?: (
    expired: Redacted.Redacted<string>
  ) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, PlexError.PlexError>
}

/**
 * The service tag read by every operation that needs a token.
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexToken extends Context.Tag("effect-plex/PlexToken")<PlexToken, Service>() {}

/**
 * A token source that can be updated, e.g. with the token a sign-in or PIN login returned.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store extends Service {
  readonly set: (token: Redacted.Redacted<string>) => Effect.Effect<void>
  readonly clear: Effect.Effect<void>
}

/**
 * The tag of a writable {@link Store}; {@link layerStore} provides it together with {@link PlexToken}.
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexTokenStore extends Context.Tag("effect-plex/PlexTokenStore")<PlexTokenStore, Store>() {}

/**
 * No token: operations that need one fail with `InvalidRequest` unless a call passes `options.token`.
 *
 * @since 0.1.0
 * @category layers
 */
export const none: Layer.Layer<PlexToken> = Layer.succeed(PlexToken, { get: Effect.succeedNone })

/**
 * A fixed token. A plain string is wrapped in `Redacted` at once.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (token: string | Redacted.Redacted<string>): Layer.Layer<PlexToken> =>
  Layer.succeed(PlexToken, { get: Effect.succeedSome(redacted(token)) })

/**
 * Builds a writable {@link Store}, optionally holding a first token.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStore = (initial?: string | Redacted.Redacted<string>): Effect.Effect<Store> =>
  Effect.map(
    Ref.make(initial === undefined ? Option.none() : Option.some(redacted(initial))),
    (ref): Store => ({
      get: Ref.get(ref),
      set: (token) => Ref.set(ref, Option.some(token)),
      clear: Ref.set(ref, Option.none())
    })
  )

/**
 * Provides both {@link PlexToken} and {@link PlexTokenStore} backed by one in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  initial?: string | Redacted.Redacted<string>
): Layer.Layer<PlexToken | PlexTokenStore> =>
  Layer.effectContext(
    Effect.map(makeStore(initial), (store) => Context.make(PlexTokenStore, store).pipe(Context.add(PlexToken, store)))
  )

/**
 * A token from `Config`, e.g. `Config.option(Config.redacted("MY_TOKEN"))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  token: Config.Config<Option.Option<Redacted.Redacted<string>>>
): Layer.Layer<PlexToken, ConfigError.ConfigError> =>
  Layer.effect(PlexToken, Effect.map(token, (value) => ({ get: Effect.succeed(value) })))

/**
 * Reads the optional `PLEX_TOKEN` variable as a `Redacted` value.
 *
 * @since 0.1.0
 * @category layers
 */
// Suspended and marked pure so that bundlers drop it, and the Config module, when unused.
export const layerFromEnv: Layer.Layer<PlexToken, ConfigError.ConfigError> = /*#__PURE__*/ Layer.suspend(() =>
  layerConfig(Config.option(Config.redacted("PLEX_TOKEN")))
)

/**
 * Options of {@link layerJwt}.
 *
 * - `key`: where the credentials live in the `KeyValueStore` (e.g. `"plex/main"`); store them there
 *   first with `PlexJwt.saveCredentials(key, credentials)`.
 * - `refreshBefore` (default 1 day): refresh when the JWT expires within this.
 * - `retryAfter` (default 1 minute): after refreshing a still-valid JWT failed, keep using it this
 *   long before trying again.
 *
 * @since 0.2.0
 * @category models
 */
export interface JwtOptions {
  readonly key: string
  readonly refreshBefore?: Duration.DurationInput | undefined
  readonly retryAfter?: Duration.DurationInput | undefined
}

/**
 * A token source that keeps a Plex JWT fresh, from `PlexJwt.Credentials` in a `KeyValueStore`:
 *
 * - `get` returns the JWT; when it expires within `refreshBefore` (or has expired) it is refreshed
 *   first (`PlexJwt.refresh`: the new JWT is verified, then stored, then used).
 * - A plex.tv call answered 498 (expired) refreshes it and runs once more with the new one.
 * - Single flight: any number of concurrent callers that find it stale cause one refresh and wait
 *   for it. A failed refresh fails those callers with its typed error, and the next caller tries
 *   again; but while the JWT is still valid a failed refresh only logs a warning, and the JWT is
 *   used until the next try, `retryAfter` later.
 * - Before refreshing, it reads the store: a JWT that another process (a replica sharing the store)
 *   stored meanwhile is used instead.
 *
 * With no credentials under `key`, operations fail with `InvalidRequest`; a store that fails (or
 * holds something unreadable) with `Storage`. Use the JWT for plex.tv only: give PMS operations the
 * server's own access token (`Resources`), since Plex Media Servers have answered 401 to JWTs.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerJwt = (
  options: JwtOptions
): Layer.Layer<PlexToken, never, KeyValueStore.KeyValueStore | PlexJwt> =>
  Layer.scoped(PlexToken, JwtToken.make(options))
