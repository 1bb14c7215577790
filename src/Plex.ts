/**
 * The whole SDK in one layer: every service (`Authentication`, `PinLogin`, `TokenLifecycle`), with
 * its `PlexConfig`, a writable `PlexToken` and, optionally, a `PlexPolicy` for its operations. It
 * needs only an `HttpClient`:
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
import type * as HttpClient from "@effect/platform/HttpClient"
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
> = Layer.mergeAll(Authentication.layer, PinLogin.layer, TokenLifecycle.layer, Resources.layer, HomeUsers.layer)

/**
 * The whole SDK from plain options; needs only an `HttpClient`. Fails layer construction with a
 * `ConfigError` naming an option that cannot work (an empty client identifier, a wrong URL, a policy
 * value `PlexPolicy.make` refuses).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Provided, ConfigError.ConfigError, HttpClient.HttpClient> => {
  const { policy, server, token, ...config } = options
  const withPolicy = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
    policy === undefined ? layer : layer.pipe(Layer.provide(PlexPolicy.layer(policy)))
  // The server target is built lazily (first PMS call), so the token may be set after sign-in.
  const services = server === undefined
    ? withPolicy(layerServices)
    : withPolicy(layerServices).pipe(Layer.provide(withPolicy(Resources.layerServer(server))))
  return services.pipe(Layer.provideMerge(Layer.merge(PlexConfig.layer(config), PlexToken.layerStore(token))))
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
