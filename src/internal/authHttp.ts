/**
 * `PlexAuth` for HTTP servers: an `HttpApiMiddleware` (security scheme `X-Plex-Token`, optionally a
 * cookie too) and a plain middleware for `HttpRouter`/`HttpApp` users. Both authenticate through
 * the `PlexAuth` service, optionally require the operator's server, provide `CurrentPlexUser`, and
 * answer 401 / 403 / 503 with a JSON body saying why.
 *
 * @since 0.2.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Clock from "effect/Clock"
import * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { PlexUser } from "../Models.js"
import {
  CurrentPlexUser,
  PlexAuth,
  type PlexUnavailable,
  PlexUnreachable,
  ServerAccessDenied,
  Unauthenticated,
  unreachable
} from "./authModel.js"

/**
 * The header a request carries its Plex token in, as Plex's own apps send it.
 *
 * @since 0.2.0
 * @category constants
 */
export const tokenHeader = "X-Plex-Token"

/**
 * Header names whose values are secrets here: the token, and the PIN code of the sign-in
 * endpoints. `@effect/platform` records every request header on its `http.server` span, redacting
 * only the names in `Headers.currentRedactedNames` (`authorization`, `cookie`, … by default).
 */
const secretHeaders = ["x-plex-token", "x-plex-pin-code"]

/**
 * Adds the token and PIN code headers to `Headers.currentRedactedNames` for whatever is built on
 * the layer (the server's request fibers included), so no span records them. `PlexAuth.layer` and
 * the middleware layers include it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRedactHeaders: Layer.Layer<never> = Layer.scopedDiscard(
  Effect.locallyScopedWith(
    Headers.currentRedactedNames,
    (names) => [...names, ...secretHeaders.filter((name) => !names.includes(name))]
  )
)

// --- the failures as HTTP answers -------------------------------------------------------------------

/**
 * What an authenticating middleware can answer instead of running the handler: 401 or 503.
 *
 * @since 0.2.0
 * @category schemas
 */
export const AuthFailure = Schema.Union(Unauthenticated, PlexUnreachable)

/**
 * What a middleware that also requires the operator's server can answer: 401, 403 or 503.
 *
 * @since 0.2.0
 * @category schemas
 */
export const AccessFailure = Schema.Union(Unauthenticated, ServerAccessDenied, PlexUnreachable)

type Failure = typeof AccessFailure.Type

const statusOf = (failure: Failure): number =>
  failure._tag === "Unauthenticated" ? 401 : failure._tag === "ServerAccessDenied" ? 403 : 503

const encodeFailure = Schema.encodeSync(AccessFailure)

/**
 * Authenticates a token (and checks the server, when given) for an HTTP request. plex.tv being
 * unreachable becomes a 503 `PlexUnreachable` without its cause, which is logged instead: at most
 * once per 10 seconds per layer unless the cause changes, so an outage does not flood the log.
 */
const makeCheck = (server: string | undefined) =>
  Effect.map(PlexAuth, (auth) => {
    let lastLogged: { readonly text: string; readonly at: number } | undefined
    const report = (error: PlexUnavailable) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const text = error.cause.message
        if (lastLogged !== undefined && lastLogged.text === text && now - lastLogged.at < 10_000) return Effect.void
        lastLogged = { text, at: now }
        return Effect.logWarning(`PlexAuth: answering 503, plex.tv could not check a token: ${text}`)
      })
    return (token: Redacted.Redacted<string>): Effect.Effect<PlexUser, Failure> => {
      const authenticated = auth.authenticate(token)
      // The user's `authToken` is this token, already hashed: the access check hashes nothing.
      const checked = server === undefined
        ? authenticated
        : Effect.tap(authenticated, (user) => auth.requireServerAccess(server, user.authToken))
      return Effect.catchTag(checked, "PlexUnavailable", (error) => Effect.zipRight(report(error), unreachable()))
    }
  })

// --- HttpApi ----------------------------------------------------------------------------------------

/**
 * How a middleware made with {@link Middleware} authenticates:
 *
 * - `cookie`: also accept the token from this cookie when the request has no `X-Plex-Token` header
 *   (a browser app that keeps the token in an `HttpOnly` cookie). The header wins when both are
 *   present. Protect state-changing endpoints against cross-site requests (`SameSite=Strict`).
 * - `serverAccess`: also require the operator's server (`PlexAuth`'s `server` option, or the
 *   layer's) among the user's resources: 403 otherwise.
 *
 * @since 0.2.0
 * @category models
 */
export interface MiddlewareOptions {
  readonly cookie?: string | undefined
  readonly serverAccess?: boolean | undefined
}

const OptionsId: unique symbol = Symbol.for("effect-plex/PlexAuth/MiddlewareOptions") as any

const headerSecurity = HttpApiSecurity.apiKey({ in: "header", key: tokenHeader }).pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "A Plex account token (or Plex JWT), as Plex's apps send it.")
)

type HeaderSecurity = { readonly plexToken: HttpApiSecurity.ApiKey }
type CookieSecurity = HeaderSecurity & { readonly plexCookie: HttpApiSecurity.ApiKey }

/**
 * The security schemes of a middleware for its options: `plexToken` (the header), and `plexCookie`
 * with a cookie.
 *
 * @since 0.2.0
 * @category models
 */
export type SecurityOf<O> = O extends { readonly cookie: string } ? CookieSecurity : HeaderSecurity

/**
 * The failure schema of a middleware for its options.
 *
 * @since 0.2.0
 * @category models
 */
export type FailureOf<O> = O extends { readonly serverAccess: true } ? typeof AccessFailure : typeof AuthFailure

/**
 * A middleware tag made by {@link Middleware}.
 *
 * @since 0.2.0
 * @category models
 */
export type MiddlewareClass<Self, Name extends string, O> =
  & HttpApiMiddleware.TagClass<
    Self,
    Name,
    { readonly failure: FailureOf<O>; readonly provides: typeof CurrentPlexUser; readonly security: SecurityOf<O> }
  >
  & { readonly [OptionsId]: MiddlewareOptions }

/**
 * Any middleware tag made by {@link Middleware}.
 *
 * @since 0.2.0
 * @category models
 */
export interface AnyMiddleware extends Context.Tag<any, any> {
  readonly [HttpApiMiddleware.SecurityTypeId]: HttpApiMiddleware.SecurityTypeId
  readonly security: Record<string, HttpApiSecurity.HttpApiSecurity>
  readonly [OptionsId]: MiddlewareOptions
}

/**
 * Makes an `HttpApiMiddleware` tag that authenticates with `PlexAuth`: security scheme `plexToken`
 * (`X-Plex-Token` header; with `cookie`, also `plexCookie`), providing {@link CurrentPlexUser},
 * failing with 401 `Unauthenticated` and 503 `PlexUnreachable` (and with `serverAccess`, 403
 * `ServerAccessDenied`), all in its schema so the OpenAPI document shows them. Implement it with
 * `layerMiddleware`.
 *
 * ```ts
 * class Auth extends PlexAuth.Middleware<Auth>()("app/Auth", { cookie: "plex_token" }) {}
 * const AuthLive = PlexAuth.layerMiddleware(Auth)
 * ```
 *
 * @since 0.2.0
 * @category middleware
 */
export const Middleware =
  <Self>() =>
  <const Name extends string, const O extends MiddlewareOptions = Record<never, never>>(
    id: Name,
    options?: O
  ): MiddlewareClass<Self, Name, O> => {
    const security = options?.cookie === undefined
      ? { plexToken: headerSecurity }
      : {
        plexToken: headerSecurity,
        plexCookie: HttpApiSecurity.apiKey({ in: "cookie", key: options.cookie }).pipe(
          HttpApiSecurity.annotate(OpenApi.Description, "The Plex token, kept by the browser in a cookie.")
        )
      }
    const tag = HttpApiMiddleware.Tag<Self>()(id, {
      failure: options?.serverAccess === true ? AccessFailure : AuthFailure,
      provides: CurrentPlexUser,
      security
    })
    return Object.assign(tag, { [OptionsId]: { ...options } }) as any
  }

/**
 * The middleware for most backends: the `X-Plex-Token` header, 401 / 503, providing
 * `CurrentPlexUser`. Implement it with `layerMiddleware(Authenticated)`.
 *
 * @since 0.2.0
 * @category middleware
 */
export class Authenticated extends Middleware<Authenticated>()("effect-plex/PlexAuth/Authenticated") {}

/**
 * {@link Authenticated} that also requires the operator's server (`PlexAuth`'s `server` option)
 * among the user's resources, owned or shared: 401 / 403 / 503. Implement it with
 * `layerMiddleware(ServerAccess)`.
 *
 * @since 0.2.0
 * @category middleware
 */
export class ServerAccess
  extends Middleware<ServerAccess>()("effect-plex/PlexAuth/ServerAccess", { serverAccess: true })
{}

const serverFor = (
  name: string,
  wanted: boolean,
  given: string | undefined,
  configured: Option.Option<string>
): Effect.Effect<string | undefined, ConfigError.ConfigError> => {
  if (!wanted) return Effect.succeed(undefined)
  const server = given ?? Option.getOrUndefined(configured)
  return server === undefined || server === ""
    ? Effect.fail(
      ConfigError.MissingData(
        ["PLEX_AUTH_SERVER"],
        `${name} requires access to the operator's server, but none is configured: set PlexAuth's server option (PLEX_AUTH_SERVER) or pass { server }`
      )
    )
    : Effect.succeed(server)
}

/**
 * Implements a middleware made by {@link Middleware} (or {@link Authenticated}, {@link ServerAccess})
 * with the `PlexAuth` in context. `server` (a `machineIdentifier`) overrides `PlexAuth`'s for a
 * middleware with `serverAccess`; with neither, layer construction fails with a `ConfigError`.
 * Also redacts the token and PIN code headers from the server's spans (see `layerRedactHeaders`).
 *
 * A missing header reaches the middleware as an empty token (the platform's way), which is a 401
 * `MissingToken`. With a cookie, the header is tried first; if it is present, its verdict stands.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerMiddleware = <T extends AnyMiddleware>(
  tag: T,
  options?: { readonly server?: string | undefined }
): Layer.Layer<Context.Tag.Identifier<T>, ConfigError.ConfigError, PlexAuth> =>
  Layer.merge(
    Layer.effect(
      tag as unknown as Context.Tag<Context.Tag.Identifier<T>, unknown>,
      Effect.gen(function*() {
        const settings = tag[OptionsId]
        const auth = yield* PlexAuth
        const server = yield* serverFor(tag.key, settings.serverAccess === true, options?.server, auth.server)
        const check = yield* makeCheck(server)
        if (settings.cookie === undefined) return { plexToken: check }
        // The platform tries the schemes in order and reports the last one's failure: the header's
        // verdict, when it had a token, is kept for the cookie's turn to repeat.
        const verdicts = new WeakMap<HttpServerRequest.HttpServerRequest, Exit.Exit<PlexUser, Failure>>()
        return {
          plexToken: (token: Redacted.Redacted<string>) =>
            Redacted.value(token) === ""
              ? check(token)
              : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
                Effect.onExit(
                  check(token),
                  (exit) => Exit.isFailure(exit) ? Effect.sync(() => verdicts.set(request, exit)) : Effect.void
                )),
          plexCookie: (token: Redacted.Redacted<string>) =>
            Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => verdicts.get(request) ?? check(token))
        }
      })
    ),
    layerRedactHeaders
  )

// --- HttpRouter / HttpApp ---------------------------------------------------------------------------

/**
 * Options of {@link middleware}: `cookie` as in {@link MiddlewareOptions}; `serverAccess`: `true`
 * for `PlexAuth`'s configured server, or a `machineIdentifier`.
 *
 * @since 0.2.0
 * @category models
 */
export interface RouterOptions {
  readonly cookie?: string | undefined
  readonly serverAccess?: boolean | string | undefined
}

/**
 * The same authentication as a plain middleware, for `HttpRouter.use` or any `HttpApp`: reads the
 * `X-Plex-Token` header (or the cookie), provides `CurrentPlexUser` to the app, and otherwise
 * answers 401 / 403 / 503 itself with the same JSON bodies as the `HttpApi` middleware. Spans:
 * provide `PlexAuth.layer` (or `layerRedactHeaders`) to the server layer so its `http.server` span
 * does not record the token header. With `serverAccess: true` and no server configured, every
 * request dies (a 500): a configuration error.
 *
 * ```ts
 * HttpRouter.empty.pipe(HttpRouter.get("/me", handler), HttpRouter.use(PlexAuth.middleware()))
 * ```
 *
 * @since 0.2.0
 * @category middleware
 */
export const middleware = (options?: RouterOptions) =>
<E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, Exclude<R, CurrentPlexUser> | PlexAuth | HttpServerRequest.HttpServerRequest> => {
  const wanted = options?.serverAccess
  // One check per PlexAuth service (its 503 log throttle lives in it), made on first use.
  const checks = new WeakMap<object, (token: Redacted.Redacted<string>) => Effect.Effect<PlexUser, Failure>>()
  const prepare = Effect.gen(function*() {
    const auth = yield* PlexAuth
    const known = checks.get(auth)
    if (known !== undefined) return known
    const server = yield* serverFor(
      "PlexAuth.middleware",
      wanted !== undefined && wanted !== false,
      typeof wanted === "string" ? wanted : undefined,
      auth.server
    ).pipe(Effect.orDie)
    const made = yield* makeCheck(server)
    checks.set(auth, made)
    return made
  })
  return Effect.gen(function*() {
    const check = yield* prepare
    const request = yield* HttpServerRequest.HttpServerRequest
    const cookie = options?.cookie
    const token = request.headers["x-plex-token"] ??
      (cookie === undefined ? undefined : request.cookies[cookie]) ?? ""
    const result = yield* Effect.either(check(Redacted.make(token)))
    if (result._tag === "Left") {
      return HttpServerResponse.unsafeJson(encodeFailure(result.left), { status: statusOf(result.left) })
    }
    return yield* Effect.provideService(app, CurrentPlexUser, result.right)
  })
}
