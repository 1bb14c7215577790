/**
 * Plex Home: list the Home's members and switch to one of them, which mints a token of that member
 * (pass it as `options.token` to `Resources.listResources` to get the member's own server tokens).
 * Every operation fails with exactly `PlexBadRequest | PlexUnauthorized | PlexSdkError`.
 *
 * A member's PIN is a secret: it is `Redacted` from the moment it is given, and never appears in an
 * error, a log line or a span attribute, although the wire carries it in the query string (the
 * call then runs without the platform's URL-recording `http.client` span).
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import { endpoints, HomeUser } from "./internal/homeUsers.js"
import * as Request from "./internal/request.js"
import { redacted } from "./internal/secrets.js"
import type { PlexUser } from "./Models.js"
import type * as PlexConfig from "./PlexConfig.js"
import type * as PlexError from "./PlexError.js"
import type * as PlexToken from "./PlexToken.js"

export {
  /**
   * A member of the Plex Home (see the class).
   *
   * @since 0.2.0
   * @category models
   */
  HomeUser
}

/**
 * Per-call overrides: `serverUrl` replaces the plex.tv API base; `token` replaces the configured
 * token.
 *
 * @since 0.2.0
 * @category models
 */
export type CallOptions = PlexConfig.CallOptions

/**
 * Who to switch to: the member's `uuid` (from `listHomeUsers`; plex.tv answers 404 to a numeric
 * id here).
 *
 * @since 0.2.0
 * @category models
 */
export interface SwitchTarget {
  readonly uuid: string
}

/**
 * The member's PIN, when they have one (`HomeUser.protected`). A plain string is wrapped in
 * `Redacted` at once.
 *
 * @since 0.2.0
 * @category models
 */
export interface SwitchParams {
  readonly pin?: string | Redacted.Redacted<string> | undefined
}

/**
 * The HomeUsers operations. Get it with `yield* HomeUsers.HomeUsers` or use the module-level
 * accessors.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /**
   * `GET {plexTvUrl}/home/users`: the Home's members, the admin included. Decodes the v2 JSON
   * (`users[]`) and the legacy XML (`<MediaContainer><User …/>`).
   */
  readonly listHomeUsers: (options?: CallOptions) => Effect.Effect<ReadonlyArray<HomeUser>, PlexError.PlexError>
  /**
   * `POST {plexTvUrl}/home/users/{uuid}/switch` (`?pin=…` when given): the member's `PlexUser`,
   * whose `authToken` is a token of that member. Never retried: it mints a token. A missing or wrong
   * PIN is HTTP 403 with code 1041 (`PlexError.isPinRequired`), a `PlexSdkError` reason
   * `StatusCode`; an unknown uuid is a 404 (`StatusCode`).
   */
  readonly switchHomeUser: (
    target: SwitchTarget,
    params?: SwitchParams,
    options?: CallOptions
  ) => Effect.Effect<PlexUser, PlexError.PlexError>
}

/**
 * The service tag.
 *
 * @since 0.2.0
 * @category tags
 */
export class HomeUsers extends Context.Tag("effect-plex/HomeUsers")<HomeUsers, Service>() {}

/**
 * Builds the service from `HttpClient`, `PlexConfig` and `PlexToken`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken> =
  Effect.map(Request.makeTokenRunner, (run) => {
    const list = run(endpoints.listHomeUsers)
    const switchUser = run(endpoints.switchHomeUser)
    return HomeUsers.of({
      listHomeUsers: (options) => list(undefined, options),
      switchHomeUser: (target, params, options) =>
        switchUser({
          uuid: target?.uuid,
          pin: params?.pin === undefined ? undefined : redacted(params.pin)
        }, options)
    })
  })

/**
 * The service as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<
  HomeUsers,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Layer.effect(HomeUsers, make)

/**
 * Accessor: {@link Service.listHomeUsers} from the `HomeUsers` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const listHomeUsers = (
  options?: CallOptions
): Effect.Effect<ReadonlyArray<HomeUser>, PlexError.PlexError, HomeUsers> =>
  Effect.flatMap(HomeUsers, (service) => service.listHomeUsers(options))

/**
 * Accessor: {@link Service.switchHomeUser} from the `HomeUsers` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const switchHomeUser = (
  target: SwitchTarget,
  params?: SwitchParams,
  options?: CallOptions
): Effect.Effect<PlexUser, PlexError.PlexError, HomeUsers> =>
  Effect.flatMap(HomeUsers, (service) => service.switchHomeUser(target, params, options))
