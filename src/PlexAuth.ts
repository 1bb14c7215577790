/**
 * Sign in with Plex for Effect HTTP servers: decide quickly and safely who each request's Plex
 * token belongs to, and whether that user may use this service, without one plex.tv call per
 * request.
 *
 * - {@link authenticate}: the `PlexUser` of a token, from `GET /user` behind a cache keyed by the
 *   token's SHA-256 (never the token), bounded (least recently used out first), with a time to live,
 *   single flight (1,000 concurrent requests with one new token make one plex.tv call), and a short
 *   memory of refusals (a client retrying a dead token does not reach plex.tv each time). plex.tv
 *   failing (timeouts, 5xx, 429…) is never cached and never reported as an invalid token: it is
 *   `PlexUnavailable`, which the HTTP middlewares answer with 503.
 * - {@link requireServerAccess}: whether the user has a given Plex Media Server among their
 *   resources (owned or shared), cached the same way.
 * - {@link invalidate}: forget a token (sign-out).
 * - For `HttpApi`: the middlewares {@link Authenticated} and {@link ServerAccess} (or your own,
 *   {@link Middleware}, e.g. with a cookie), implemented by {@link layerMiddleware}, providing
 *   {@link CurrentPlexUser}; the PIN sign-in endpoints {@link PinApi} for a browser, implemented by
 *   {@link layerPinApi}. For `HttpRouter`: {@link middleware}.
 *
 * ```ts
 * const PlexAuthLive = PlexAuth.layer({ server: operatorServerId }).pipe(
 *   Layer.provide(Plex.layer({ clientIdentifier, product: "My app" })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Authentication from "./Authentication.js"
import { build, settingsOf } from "./internal/authCache.js"
import {
  AccessFailure,
  type AnyMiddleware,
  Authenticated,
  AuthFailure,
  type FailureOf,
  layerMiddleware,
  layerRedactHeaders,
  Middleware,
  middleware,
  type MiddlewareClass,
  type MiddlewareOptions,
  type RouterOptions,
  type SecurityOf,
  ServerAccess,
  tokenHeader
} from "./internal/authHttp.js"
import {
  CurrentPlexUser,
  PlexAuth,
  type PlexAuthError,
  PlexUnavailable,
  PlexUnreachable,
  ServerAccessDenied,
  type Service,
  type Stats,
  type TokenInput,
  Unauthenticated,
  UnauthenticatedReason
} from "./internal/authModel.js"
import {
  layerPinApi,
  PinApi,
  type PinApiOptions,
  pinCodeHeader,
  PinCreated,
  PinNotFound,
  PinStatus
} from "./internal/authPin.js"
import type { PlexResource } from "./internal/resourceModels.js"
import type { PlexUser } from "./Models.js"
import type * as PlexPolicy from "./PlexPolicy.js"
import type * as Resources from "./Resources.js"

export {
  /**
   * The failure schema of a middleware with `serverAccess`: 401, 403, 503.
   *
   * @since 0.2.0
   * @category schemas
   */
  AccessFailure,
  /**
   * Any middleware tag made by {@link Middleware}.
   *
   * @since 0.2.0
   * @category models
   */
  type AnyMiddleware,
  /**
   * The ready-made `HttpApi` middleware: `X-Plex-Token` header, 401 / 503, provides
   * `CurrentPlexUser`.
   *
   * @since 0.2.0
   * @category middleware
   */
  Authenticated,
  /**
   * The failure schema of a middleware without `serverAccess`: 401, 503.
   *
   * @since 0.2.0
   * @category schemas
   */
  AuthFailure,
  /**
   * The signed-in user of the current request (a `PlexUser`), provided by the middlewares.
   *
   * @since 0.2.0
   * @category tags
   */
  CurrentPlexUser,
  /**
   * The failure schema of a middleware, by its options.
   *
   * @since 0.2.0
   * @category models
   */
  type FailureOf,
  /**
   * Implements a middleware tag with the `PlexAuth` in context.
   *
   * @since 0.2.0
   * @category layers
   */
  layerMiddleware,
  /**
   * Implements {@link PinApi} in your `HttpApi` with the `PinLogin` in context.
   *
   * @since 0.2.0
   * @category layers
   */
  layerPinApi,
  /**
   * Keeps the token and PIN code headers out of the spans of whatever is built on it.
   *
   * @since 0.2.0
   * @category layers
   */
  layerRedactHeaders,
  /**
   * Makes an `HttpApi` middleware tag authenticating with `PlexAuth` (header, optional cookie,
   * optional server access).
   *
   * @since 0.2.0
   * @category middleware
   */
  Middleware,
  /**
   * The plain middleware, for `HttpRouter.use` or any `HttpApp`.
   *
   * @since 0.2.0
   * @category middleware
   */
  middleware,
  /**
   * A middleware tag made by {@link Middleware}.
   *
   * @since 0.2.0
   * @category models
   */
  type MiddlewareClass,
  /**
   * Options of {@link Middleware}: `cookie`, `serverAccess`.
   *
   * @since 0.2.0
   * @category models
   */
  type MiddlewareOptions,
  /**
   * The PIN sign-in endpoints, an `HttpApiGroup` named `plexPin`.
   *
   * @since 0.2.0
   * @category api
   */
  PinApi,
  /**
   * Options of {@link layerPinApi}: `forwardUrl`, `strong`, `claims`.
   *
   * @since 0.2.0
   * @category models
   */
  type PinApiOptions,
  /**
   * The header `GET /auth/pin/:id` reads the PIN's code from.
   *
   * @since 0.2.0
   * @category constants
   */
  pinCodeHeader,
  /**
   * The body of `POST /auth/pin`.
   *
   * @since 0.2.0
   * @category models
   */
  PinCreated,
  /**
   * 404 from `GET /auth/pin/:id`.
   *
   * @since 0.2.0
   * @category errors
   */
  PinNotFound,
  /**
   * The body of `GET /auth/pin/:id`.
   *
   * @since 0.2.0
   * @category models
   */
  PinStatus,
  /**
   * The service tag.
   *
   * @since 0.2.0
   * @category tags
   */
  PlexAuth,
  /**
   * What the operations fail with.
   *
   * @since 0.2.0
   * @category errors
   */
  type PlexAuthError,
  /**
   * plex.tv could not check the token (never cached; `cause` is the SDK's error).
   *
   * @since 0.2.0
   * @category errors
   */
  PlexUnavailable,
  /**
   * The 503 body of {@link PlexUnavailable} (no cause).
   *
   * @since 0.2.0
   * @category errors
   */
  PlexUnreachable,
  /**
   * Options of {@link middleware}.
   *
   * @since 0.2.0
   * @category models
   */
  type RouterOptions,
  /**
   * The security schemes of a middleware, by its options.
   *
   * @since 0.2.0
   * @category models
   */
  type SecurityOf,
  /**
   * The ready-made middleware that also requires the operator's server: 401 / 403 / 503.
   *
   * @since 0.2.0
   * @category middleware
   */
  ServerAccess,
  /**
   * 403: the user does not have the required server.
   *
   * @since 0.2.0
   * @category errors
   */
  ServerAccessDenied,
  /**
   * The service.
   *
   * @since 0.2.0
   * @category models
   */
  type Service,
  /**
   * Cache sizes and plex.tv calls.
   *
   * @since 0.2.0
   * @category models
   */
  type Stats,
  /**
   * The request header the token comes in: `X-Plex-Token`.
   *
   * @since 0.2.0
   * @category constants
   */
  tokenHeader,
  /**
   * A token, plain or `Redacted`.
   *
   * @since 0.2.0
   * @category models
   */
  type TokenInput,
  /**
   * 401: no token, a token plex.tv refuses, or an expired JWT (see `reason`).
   *
   * @since 0.2.0
   * @category errors
   */
  Unauthenticated,
  /**
   * Why a request is not authenticated.
   *
   * @since 0.2.0
   * @category errors
   */
  UnauthenticatedReason
}

// --- options ----------------------------------------------------------------------------------------

/**
 * How `PlexAuth` caches and what it requires:
 *
 * - `capacity` (default 10,000): entries per cache (users; server-access answers), the least
 *   recently used going first.
 * - `timeToLive` (default 5 minutes): how long a user, or a "yes" to server access, is kept. A
 *   token revoked on plex.tv keeps working here for at most this long (call {@link invalidate} on
 *   sign-out).
 * - `negativeTimeToLive` (default 30 seconds): how long a refused token (401), or a "no" to server
 *   access, is kept. Upstream failures are never kept.
 * - `server`: the `machineIdentifier` of the operator's Plex Media Server, which {@link ServerAccess}
 *   requires.
 * - `policy`: changes to the SDK's `PlexPolicy` for the plex.tv calls `PlexAuth` makes (a request
 *   waits for them on a miss), e.g. `{ deadline: "5 seconds" }`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly capacity?: number | undefined
  readonly timeToLive?: Duration.DurationInput | undefined
  readonly negativeTimeToLive?: Duration.DurationInput | undefined
  readonly server?: string | undefined
  readonly policy?: PlexPolicy.Options | undefined
}

/**
 * The defaults: 10,000 entries, 5 minutes, 30 seconds for refusals.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaults = {
  capacity: 10_000,
  timeToLive: Duration.minutes(5),
  negativeTimeToLive: Duration.seconds(30)
} as const

// --- constructors and layers ------------------------------------------------------------------------

/**
 * Builds the service over the SDK's `Authentication` (for `GET /user`) and `Resources` (for
 * `GET /resources`), which `Plex.layer` provides. Fails with a `ConfigError` naming an option that
 * cannot work (a capacity below 1, a duration Effect cannot read, a policy `PlexPolicy.make`
 * refuses).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, ConfigError.ConfigError, Authentication.Authentication | Resources.Resources> =>
  Effect.flatMap(settingsOf(options, defaults), (settings) => Effect.map(build(settings), (built) => built.service))

/**
 * The service as a layer; provide `Plex.layer(...)` (or `Authentication.layer` and
 * `Resources.layer`) to it. It also keeps the `X-Plex-Token` header out of the spans of whatever is
 * built on it (the `http.server` span records request headers).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<PlexAuth, ConfigError.ConfigError, Authentication.Authentication | Resources.Resources> =>
  Layer.merge(Layer.effect(PlexAuth, make(options)), layerRedactHeaders)

/**
 * {@link layer} from `Config`s, e.g. `{ server: Config.string("MY_SERVER") }`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<PlexAuth, ConfigError.ConfigError, Authentication.Authentication | Resources.Resources> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * The options from the environment, all optional: `PLEX_AUTH_CAPACITY` (an integer),
 * `PLEX_AUTH_TTL` and `PLEX_AUTH_NEGATIVE_TTL` (durations such as `5 minutes`, `30 seconds`),
 * `PLEX_AUTH_SERVER` (the operator server's `machineIdentifier`).
 *
 * @since 0.2.0
 * @category config
 */
export const fromEnv: Config.Config<Options> = /*#__PURE__*/ Config.suspend(() =>
  Config.all({
    capacity: Config.option(Config.integer("PLEX_AUTH_CAPACITY")),
    timeToLive: Config.option(Config.duration("PLEX_AUTH_TTL")),
    negativeTimeToLive: Config.option(Config.duration("PLEX_AUTH_NEGATIVE_TTL")),
    server: Config.option(Config.string("PLEX_AUTH_SERVER"))
  }).pipe(Config.map((o) => ({
    capacity: Option.getOrUndefined(o.capacity),
    timeToLive: Option.getOrUndefined(o.timeToLive),
    negativeTimeToLive: Option.getOrUndefined(o.negativeTimeToLive),
    server: Option.getOrUndefined(o.server)
  })))
)

/**
 * {@link layer} from {@link fromEnv}. A value that does not parse fails layer construction with a
 * `ConfigError` that names it.
 *
 * @since 0.2.0
 * @category layers
 */
// Suspended and marked pure so that bundlers drop it, and the Config module, when unused.
export const layerFromEnv: Layer.Layer<
  PlexAuth,
  ConfigError.ConfigError,
  Authentication.Authentication | Resources.Resources
> = /*#__PURE__*/ Layer.suspend(() => Layer.unwrapEffect(Effect.map(fromEnv, layer)))

// --- accessors --------------------------------------------------------------------------------------

/**
 * Accessor: {@link Service.authenticate} from the `PlexAuth` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const authenticate = (
  token: TokenInput
): Effect.Effect<PlexUser, Unauthenticated | PlexUnavailable, PlexAuth> =>
  Effect.flatMap(PlexAuth, (service) => service.authenticate(token))

/**
 * Accessor: {@link Service.requireServerAccess}. Without a token, for the signed-in user of the
 * request (`CurrentPlexUser`, whose `authToken` it uses): `yield*
 * PlexAuth.requireServerAccess(machineIdentifier)` in a handler behind a middleware.
 *
 * @since 0.2.0
 * @category accessors
 */
export const requireServerAccess: {
  (machineIdentifier: string): Effect.Effect<PlexResource, PlexAuthError, PlexAuth | CurrentPlexUser>
  (machineIdentifier: string, token: TokenInput): Effect.Effect<PlexResource, PlexAuthError, PlexAuth>
} = (
  machineIdentifier: string,
  token?: TokenInput
): Effect.Effect<PlexResource, PlexAuthError, any> =>
  Effect.flatMap(PlexAuth, (service) =>
    token === undefined
      ? Effect.flatMap(CurrentPlexUser, (user) => service.requireServerAccess(machineIdentifier, user.authToken))
      : service.requireServerAccess(machineIdentifier, token))

/**
 * Accessor: {@link Service.invalidate} from the `PlexAuth` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const invalidate = (token: TokenInput): Effect.Effect<void, never, PlexAuth> =>
  Effect.flatMap(PlexAuth, (service) => service.invalidate(token))
