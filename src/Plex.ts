/**
 * The whole SDK in one layer: every service (`Authentication`, `PinLogin`, `TokenLifecycle`,
 * `Resources`, `HomeUsers`, `PlexJwt`), with its `PlexConfig`, a writable `PlexToken` and, optionally, a `PlexPolicy` for its
 * operations ({@link layerJwt}: a `PlexToken` that keeps a Plex JWT fresh instead). It needs only an
 * `HttpClient`:
 *
 * ```ts
 * const PlexLive = Plex.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * The granular layers (`Authentication.layer` and friends, `PlexConfig.layer`, `PlexToken.layer…`)
 * stay for programs that assemble their own, e.g. with another token source: provide
 * {@link layerServices} with it.
 *
 * @since 0.2.0
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Authentication from "./Authentication.js"
import * as HomeUsers from "./HomeUsers.js"
import * as PinLogin from "./PinLogin.js"
import * as PlexConfig from "./PlexConfig.js"
import * as PlexJwt from "./PlexJwt.js"
import * as PlexPolicy from "./PlexPolicy.js"
import * as PlexToken from "./PlexToken.js"
import * as Resources from "./Resources.js"
import * as TokenLifecycle from "./TokenLifecycle.js"

/**
 * The operation services {@link layerServices} provides.
 *
 * @since 0.2.0
 * @category models
 */
export type Services =
  | Authentication.Authentication
  | PinLogin.PinLogin
  | TokenLifecycle.TokenLifecycle
  | Resources.Resources
  | HomeUsers.HomeUsers
  | PlexJwt.PlexJwt

/**
 * Everything {@link layer} provides: the services, the configuration and a writable token store
 * (`PlexToken.PlexTokenStore`: `set` it after a sign-in or PIN login).
 *
 * @since 0.2.0
 * @category models
 */
export type Provided = Services | PlexConfig.PlexConfig | PlexToken.PlexToken | PlexToken.PlexTokenStore

/**
 * The options of {@link layer}: the `PlexConfig` options, plus `token` (the first token in the
 * store; a plain string is wrapped in `Redacted` at once) and `policy` (the operations' default
 * `PlexPolicy`; a policy provided around a call or `PlexPolicy.withPolicy` still override it), and
 * `server` (one of the account's servers, chosen as `Resources.layerServer` chooses it: the PMS
 * operations then go to its best connection with its own token, and need no `serverUrl`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends PlexConfig.Options {
  readonly token?: string | Redacted.Redacted<string> | undefined
  readonly policy?: PlexPolicy.Options | undefined
  readonly server?: Resources.Select | undefined
}

/**
 * Every operation service, from an `HttpClient`, a `PlexConfig` and a `PlexToken` you provide.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerServices: Layer.Layer<
  Services,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Layer.mergeAll(
  Authentication.layer,
  PinLogin.layer,
  TokenLifecycle.layer,
  Resources.layer,
  HomeUsers.layer,
  PlexJwt.layer
)

/** The services over a token source, a config, and the options they share. */
const assemble = <T, E, R>(
  tokens: Layer.Layer<T, E, R>,
  options: PlexConfig.Options & {
    readonly policy?: PlexPolicy.Options | undefined
    readonly server?: Resources.Select | undefined
  }
) => {
  const { policy, server, ...config } = options
  const withPolicy = <A, E2, R2>(layer: Layer.Layer<A, E2, R2>) =>
    policy === undefined ? layer : layer.pipe(Layer.provide(PlexPolicy.layer(policy)))
  // The server target is built lazily (first PMS call), so the token may be set after sign-in.
  const services = server === undefined
    ? withPolicy(layerServices)
    : withPolicy(layerServices).pipe(Layer.provide(withPolicy(Resources.layerServer(server))))
  return services.pipe(Layer.provideMerge(withPolicy(tokens)), Layer.provideMerge(PlexConfig.layer(config)))
}

/**
 * The whole SDK from plain options; needs only an `HttpClient`. Fails layer construction with a
 * `ConfigError` naming an option that cannot work (an empty client identifier, a wrong URL, a policy
 * value `PlexPolicy.make` refuses).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Provided, ConfigError.ConfigError, HttpClient.HttpClient> => {
  const { token, ...rest } = options
  return assemble(PlexToken.layerStore(token), rest)
}

/**
 * {@link layer} from `Config`s, e.g. `{ clientIdentifier: Config.string("MY_ID"), token:
 * Config.redacted("MY_TOKEN") }`. A missing required value fails layer construction with a
 * `ConfigError` that names it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<Provided, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * {@link layer} from the environment: the `PLEX_*` variables of `PlexConfig.fromEnv` and the
 * optional `PLEX_TOKEN`.
 *
 * @since 0.2.0
 * @category layers
 */
// Suspended and marked pure so that bundlers drop it, and the Config module, when unused.
export const layerFromEnv: Layer.Layer<Provided, ConfigError.ConfigError, HttpClient.HttpClient> = /*#__PURE__*/ Layer
  .suspend(() =>
    Layer.unwrapEffect(
      Effect.map(
        Config.all([PlexConfig.fromEnv, Config.option(Config.redacted("PLEX_TOKEN"))]),
        ([config, token]) => layer({ ...config, token: Option.getOrUndefined(token) })
      )
    )
  )

/**
 * The options of {@link layerJwt}: the `PlexConfig` options, `policy` as in {@link layer}, and `jwt`:
 * the `PlexToken.layerJwt` options (`key`, `refreshBefore`, `retryAfter`) plus where the
 * credentials are stored: `store`, any `KeyValueStore` layer (shared by replicas, say), else the
 * file store of `PlexJwt.layerFileStore` in `directory` (default `$XDG_CONFIG_HOME/effect-plex`,
 * else `~/.config/effect-plex`; Node only).
 *
 * @since 0.2.0
 * @category models
 */
export interface JwtOptions<E = never> extends PlexConfig.Options {
  readonly policy?: PlexPolicy.Options | undefined
  readonly server?: Resources.Select | undefined
  readonly jwt: PlexToken.JwtOptions & {
    readonly store?: Layer.Layer<KeyValueStore.KeyValueStore, E> | undefined
    readonly directory?: string | undefined
  }
}

const defaultDirectory = Effect.promise(async () => {
  const [os, path] = await Promise.all([import("node:os"), import("node:path")])
  const base = process.env["XDG_CONFIG_HOME"] || path.join(os.homedir(), ".config")
  return path.join(base, "effect-plex")
})

/**
 * The whole SDK signed in with a Plex JWT that keeps itself fresh (`PlexToken.layerJwt`), from
 * plain options; needs only an `HttpClient`. Store the credentials once, after a PIN login with a
 * device key or `PlexJwt.registerKey`, with `PlexJwt.saveCredentials(jwt.key, credentials)` in the
 * same store. Fails layer construction with a `ConfigError` for an option that cannot work, or a
 * `PlatformError` when the file store's directory cannot be created.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerJwt = <E = never>(
  options: JwtOptions<E>
): Layer.Layer<
  Services | PlexConfig.PlexConfig | PlexToken.PlexToken,
  ConfigError.ConfigError | PlatformError.PlatformError | E,
  HttpClient.HttpClient
> => {
  const { jwt, ...rest } = options
  const store: Layer.Layer<KeyValueStore.KeyValueStore, PlatformError.PlatformError | E> = jwt.store ??
    (jwt.directory === undefined
      ? Layer.unwrapEffect(Effect.map(defaultDirectory, PlexJwt.layerFileStore))
      : PlexJwt.layerFileStore(jwt.directory))
  // PlexJwt.layer is the one layerServices holds: built once, so the operations and the token source
  // share the cache of Plex's keys.
  return assemble(PlexToken.layerJwt(jwt).pipe(Layer.provide(store), Layer.provide(PlexJwt.layer)), rest)
}
