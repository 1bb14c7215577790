/**
 * The four Plex authentication operations: sign in with a password, read a token's account, mint a
 * transient token on a Plex Media Server, and read a source's connection information. Each is an
 * `Effect` that fails with exactly `PlexBadRequest | PlexUnauthorized | PlexSdkError` and needs
 * nothing once the {@link layer} is built from `HttpClient`, `PlexConfig` and `PlexToken`.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import { endpoints } from "./internal/authentication.js"
import * as Request from "./internal/request.js"
import { redacted } from "./internal/secrets.js"
import type { PlexUser, SourceConnectionInformation, TransientToken } from "./Models.js"
import { SignInRequest } from "./Models.js"
import type * as PlexConfig from "./PlexConfig.js"
import type * as PlexError from "./PlexError.js"
import type * as PlexToken from "./PlexToken.js"

/**
 * Per-call overrides: `serverUrl` replaces the base of the host the operation targets (the PMS URL
 * for PMS operations, the plex.tv API base `https://plex.tv/api/v2` for plex.tv operations);
 * `token` replaces the configured token.
 *
 * @since 0.1.0
 * @category models
 */
export type CallOptions = PlexConfig.CallOptions

/**
 * Parameters of `getTransientToken`. Plex supports only `delegation` / `all`, the defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransientTokenParams {
  readonly type?: "delegation"
  readonly scope?: "all"
}

/**
 * Parameters of `getSourceConnectionInformation`: `source` is `server://<machineIdentifier>` or
 * `provider://<providerIdentifier>`; `refresh` forces the server to refresh it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SourceParams {
  readonly source: string
  readonly refresh?: boolean
}

/**
 * The sign-in form as a caller writes it. Plain strings for `password` and `verificationCode` are
 * wrapped in `Redacted` at once.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignInParams {
  readonly login: string
  readonly password: string | Redacted.Redacted<string>
  readonly rememberMe?: boolean
  readonly verificationCode?: string | Redacted.Redacted<string>
}

/**
 * The four authentication operations. Get it with `yield* Authentication.Authentication` (methods
 * then need nothing) or use the module-level accessors. Every method fails with exactly
 * `PlexBadRequest | PlexUnauthorized | PlexSdkError`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * `GET {serverUrl}/security/token?type=delegation&scope=all` on a Plex Media Server: a transient
   * token with the caller's access level (≤ 48 h, gone when the server restarts). Needs a token and a
   * server URL.
   */
  readonly getTransientToken: (
    params?: TransientTokenParams,
    options?: CallOptions
  ) => Effect.Effect<TransientToken, PlexError.PlexError>
  /**
   * `GET {serverUrl}/security/resources?source=…` (PMS ≥ 1.15.4, admin or admin-derived transient
   * token): the source's device, a transient `accessToken` for it, and its connections.
   */
  readonly getSourceConnectionInformation: (
    params: SourceParams,
    options?: CallOptions
  ) => Effect.Effect<SourceConnectionInformation, PlexError.PlexError>
  /**
   * `GET {plexTvUrl}/user`: the account the token belongs to. 401 (`PlexUnauthorized`) means the
   * token is invalid.
   */
  readonly getTokenDetails: (options?: CallOptions) => Effect.Effect<PlexUser, PlexError.PlexError>
  /**
   * `POST {plexTvUrl}/users/signin` with a form body: the account with its `authToken`. A 401 with
   * code 1029 (`PlexError.isTwoFactorRequired`) asks for `verificationCode`. Never retried: plex.tv
   * throttles repeated sign-ins.
   */
  readonly postUsersSignInData: (
    params: SignInParams,
    options?: CallOptions
  ) => Effect.Effect<PlexUser, PlexError.PlexError>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Authentication extends Context.Tag("effect-plex/Authentication")<Authentication, Service>() {}

/**
 * Builds the service from `HttpClient`, `PlexConfig` and `PlexToken`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken> =
  Effect.map(Request.makeTokenRunner, (run) => {
    const getTransientToken = run(endpoints.getTransientToken)
    const getTokenDetails = run(endpoints.getTokenDetails)
    const signIn = run(endpoints.postUsersSignInData)
    return Authentication.of({
      getTransientToken: (params, options) => getTransientToken(params ?? {}, options),
      getSourceConnectionInformation: run(endpoints.getSourceConnectionInformation),
      getTokenDetails: (options) => getTokenDetails(undefined, options),
      postUsersSignInData: (params, options) =>
        signIn(
          new SignInRequest({
            login: typeof params.login === "string" ? params.login : "",
            password: redacted(params.password ?? ""),
            ...(params.rememberMe === undefined ? {} : { rememberMe: params.rememberMe }),
            ...(params.verificationCode === undefined ? {} : { verificationCode: redacted(params.verificationCode) })
          }, true),
          options
        )
    })
  })

/**
 * The service as a layer. Provide an `HttpClient` (`FetchHttpClient.layer`, or
 * `NodeHttpClient.layerUndici` for less CPU per call), `PlexConfig` and `PlexToken`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  Authentication,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Layer.effect(Authentication, make)

/**
 * Accessor: {@link Service.getTransientToken} from the `Authentication` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getTransientToken = (
  params?: TransientTokenParams,
  options?: CallOptions
): Effect.Effect<TransientToken, PlexError.PlexError, Authentication> =>
  Effect.flatMap(Authentication, (service) => service.getTransientToken(params, options))

/**
 * Accessor: {@link Service.getSourceConnectionInformation} from the `Authentication` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getSourceConnectionInformation = (
  params: SourceParams,
  options?: CallOptions
): Effect.Effect<SourceConnectionInformation, PlexError.PlexError, Authentication> =>
  Effect.flatMap(Authentication, (service) => service.getSourceConnectionInformation(params, options))

/**
 * Accessor: {@link Service.getTokenDetails} from the `Authentication` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getTokenDetails = (
  options?: CallOptions
): Effect.Effect<PlexUser, PlexError.PlexError, Authentication> =>
  Effect.flatMap(Authentication, (service) => service.getTokenDetails(options))

/**
 * Accessor: {@link Service.postUsersSignInData} from the `Authentication` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const postUsersSignInData = (
  params: SignInParams,
  options?: CallOptions
): Effect.Effect<PlexUser, PlexError.PlexError, Authentication> =>
  Effect.flatMap(Authentication, (service) => service.postUsersSignInData(params, options))
