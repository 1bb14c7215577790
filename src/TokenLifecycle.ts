/**
 * A token's life after sign-in: check that it still works (Plex's rule: 200 valid, 401 invalid,
 * anything else is an error and says nothing about the token), keep a legacy token alive with a
 * periodic ping, and sign out to end it. Operations fail with exactly
 * `PlexBadRequest | PlexUnauthorized | PlexSdkError` and need nothing once the {@link layer} is built
 * from `HttpClient`, `PlexConfig` and `PlexToken`.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { endpoints as authentication } from "./internal/authentication.js"
import * as M from "./internal/model.js"
import * as Request from "./internal/request.js"
import { redacted } from "./internal/secrets.js"
import type { PlexUser } from "./Models.js"
import type * as PlexConfig from "./PlexConfig.js"
import type * as PlexError from "./PlexError.js"
import type * as PlexToken from "./PlexToken.js"

/**
 * Per-call overrides: `serverUrl` replaces the plex.tv API base (`https://plex.tv/api/v2`);
 * `token` replaces the configured token.
 *
 * @since 0.1.0
 * @category models
 */
export type CallOptions = PlexConfig.CallOptions

/**
 * The verdict on a token:
 *
 * - `Valid { user }`: plex.tv answered 200; `user` is the account.
 * - `Invalid { errors }`: plex.tv answered 401; discard the token and sign in again. `errors` is
 *   plex.tv's error body (usually code 1001).
 *
 * @since 0.1.0
 * @category models
 */
export type TokenValidity = Data.TaggedEnum<{
  Valid: { readonly user: PlexUser }
  Invalid: { readonly errors: ReadonlyArray<PlexError.PlexErrorDetail> }
}>

/**
 * Constructors, `$is` and `$match` for {@link TokenValidity}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const TokenValidity = Data.taggedEnum<TokenValidity>()

/**
 * A token's lifecycle: validate it by Plex's rule, keep it alive, sign it out. Methods fail with
 * exactly `PlexBadRequest | PlexUnauthorized | PlexSdkError`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * `GET {plexTvUrl}/user` with `token` (else `options.token`, else the configured token): `Valid`
   * with the account on 200, `Invalid` on 401. Any other outcome (plex.tv unreachable, 5xx, 429, a
   * body that does not decode) fails with that error: it is not a verdict on the token.
   */
  readonly validateToken: (
    token?: string | Redacted.Redacted<string>,
    options?: CallOptions
  ) => Effect.Effect<TokenValidity, PlexError.PlexError>
  /**
   * `GET {plexTvUrl}/ping` (answered `{"pong":true}` or `<pong>true</pong>`): tells plex.tv the token
   * is in use, which keeps a legacy token from lapsing. A 401 means the token is already dead.
   */
  readonly ping: (options?: CallOptions) => Effect.Effect<void, PlexError.PlexError>
  /**
   * Pings now and then on `schedule` (default `Schedule.spaced("1 day")`) in a background fiber tied
   * to the scope: returns once the fiber is forked, stops when the scope closes. A failed ping is
   * logged with `Effect.logWarning` (never with the token) and the fiber carries on.
   */
  readonly keepAlive: (
    schedule?: Schedule.Schedule<unknown, unknown>,
    options?: CallOptions
  ) => Effect.Effect<void, never, Scope.Scope>
  /**
   * `DELETE {plexTvUrl}/users/signout` (204): ends the token everywhere; every later call with it
   * gets 401. Not retried: a retry after a lost response would only meet that 401.
   */
  readonly signOut: (options?: CallOptions) => Effect.Effect<void, PlexError.PlexError>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenLifecycle extends Context.Tag("effect-plex/TokenLifecycle")<TokenLifecycle, Service>() {}

// --- the operations, declared -------------------------------------------------------------

const module = "TokenLifecycle"

// JSON `{"pong":true}`; XML `<pong>true</pong>` arrives as `{ pong: "true" }` through the envelope.
const Pong = Schema.Struct({ pong: M.schemaOf(M.flag) }).pipe(
  Schema.transformOrFail(Schema.Void, {
    strict: true,
    decode: (body, _, ast) =>
      body.pong
        ? ParseResult.succeed(undefined)
        : ParseResult.fail(new ParseResult.Type(ast, body, "plex.tv did not answer pong")),
    encode: () => ParseResult.succeed({ pong: true })
  })
)

const endpoints = {
  /** Shared with `Authentication.getTokenDetails`: one definition of `GET /user`. */
  getTokenDetails: authentication.getTokenDetails,
  ping: Request.endpoint<void, void>({
    module,
    operation: "ping",
    host: "plexTv",
    method: "GET",
    path: () => "/ping",
    token: "required",
    idempotent: true,
    envelope: "pong",
    success: Pong
  }),
  signOut: Request.endpoint<void, void>({
    module,
    operation: "signOut",
    host: "plexTv",
    method: "DELETE",
    path: () => "/users/signout",
    token: "required",
    idempotent: false,
    success: undefined
  })
}

/**
 * The keep-alive default: one ping a day, as Overseerr and watchlistarr do.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultKeepAliveSchedule: Schedule.Schedule<number> = Schedule.spaced("1 day")

/**
 * Builds the service from `HttpClient`, `PlexConfig` and `PlexToken`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken> =
  Effect.map(Request.makeTokenRunner, (run) => {
    const getTokenDetails = run(endpoints.getTokenDetails)
    const pingOnce = run(endpoints.ping)
    const signOut = run(endpoints.signOut)

    const validateToken: Service["validateToken"] = (token, options) => {
      const chosen = token === undefined ? options?.token : redacted(token)
      const callOptions: CallOptions = {
        ...(options?.serverUrl === undefined ? {} : { serverUrl: options.serverUrl }),
        ...(chosen === undefined ? {} : { token: chosen })
      }
      return getTokenDetails(undefined, callOptions).pipe(
        Effect.map((user): TokenValidity => TokenValidity.Valid({ user })),
        Effect.catchIf(
          (error): error is PlexError.PlexUnauthorized => error._tag === "PlexUnauthorized",
          (error) => Effect.succeed(TokenValidity.Invalid({ errors: error.errors }))
        ),
        Effect.withSpan(`${module}.validateToken`, { kind: "internal" })
      )
    }

    const ping: Service["ping"] = (options) => pingOnce(undefined, options)

    const keepAlive: Service["keepAlive"] = (schedule, options) => {
      // PlexError messages never hold the token, so logging them is safe.
      const once = ping(options).pipe(
        Effect.catchAll((error) => Effect.logWarning(`${module}.keepAlive: ping failed: ${error.message}`)),
        // A defect (a bug in a transform of the user's, say) is logged with its cause, so it can be
        // found; with x-plex-token redacted, should the defect hold a request's headers.
        Effect.catchAllDefect((defect) =>
          Effect.logWarning(`${module}.keepAlive: ping failed unexpectedly`, Cause.die(defect)).pipe(
            Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, "x-plex-token"])
          )
        )
      )
      return Effect.asVoid(Effect.forkScoped(Effect.repeat(once, schedule ?? defaultKeepAliveSchedule)))
    }

    return TokenLifecycle.of({
      validateToken,
      ping,
      keepAlive,
      signOut: (options) => signOut(undefined, options)
    })
  })

/**
 * The service as a layer. Provide an `HttpClient`, `PlexConfig` and `PlexToken`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  TokenLifecycle,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Layer.effect(TokenLifecycle, make)

/**
 * Accessor: {@link Service.validateToken} from the `TokenLifecycle` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const validateToken = (
  token?: string | Redacted.Redacted<string>,
  options?: CallOptions
): Effect.Effect<TokenValidity, PlexError.PlexError, TokenLifecycle> =>
  Effect.flatMap(TokenLifecycle, (service) => service.validateToken(token, options))

/**
 * Accessor: {@link Service.ping} from the `TokenLifecycle` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const ping = (options?: CallOptions): Effect.Effect<void, PlexError.PlexError, TokenLifecycle> =>
  Effect.flatMap(TokenLifecycle, (service) => service.ping(options))

/**
 * Accessor: {@link Service.keepAlive} from the `TokenLifecycle` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const keepAlive = (
  schedule?: Schedule.Schedule<unknown, unknown>,
  options?: CallOptions
): Effect.Effect<void, never, Scope.Scope | TokenLifecycle> =>
  Effect.flatMap(TokenLifecycle, (service) => service.keepAlive(schedule, options))

/**
 * Accessor: {@link Service.signOut} from the `TokenLifecycle` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const signOut = (options?: CallOptions): Effect.Effect<void, PlexError.PlexError, TokenLifecycle> =>
  Effect.flatMap(TokenLifecycle, (service) => service.signOut(options))
