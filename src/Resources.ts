/**
 * The account's Plex Media Servers, and how to reach each: list the account's resources on plex.tv,
 * race a server's connections for the best one that answers as that server, and provide the PMS
 * operations (`Authentication.getTransientToken`, `getSourceConnectionInformation`) with that
 * connection and **the server's own access token** through {@link layerServer}, so they need no
 * `serverUrl`. Every operation fails with exactly `PlexBadRequest | PlexUnauthorized | PlexSdkError`.
 *
 * A server's `accessToken` (from `listResources`) is what PMS operations send; the account token is
 * for plex.tv. Sending the account token to a shared server makes it treat the caller as a guest.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Conn from "./internal/connect.js"
import * as Request from "./internal/request.js"
import { PlexResource, ResourceConnection, type ResourceList, ServerConnection } from "./internal/resourceModels.js"
import { endpoints } from "./internal/resources.js"
import { ServerTarget, type Target } from "./internal/server.js"
import type * as PlexConfig from "./PlexConfig.js"
import type * as PlexError from "./PlexError.js"
import type * as PlexToken from "./PlexToken.js"

export {
  /**
   * What `probeConnections` found for a server: each connection's outcome, and the chosen one.
   *
   * @since 0.2.0
   * @category models
   */
  type ConnectionProbe,
  /**
   * Every connection of a server with its probe's outcome, and the one `connect` chooses.
   *
   * @since 0.2.0
   * @category models
   */
  type ConnectionReport,
  /**
   * How one connection's probe went: reachable (with its latency), refused, timed out, wrong server….
   *
   * @since 0.2.0
   * @category models
   */
  ProbeOutcome
} from "./internal/connect.js"

export {
  /**
   * A device of the account (see the class).
   *
   * @since 0.2.0
   * @category models
   */
  PlexResource,
  /**
   * One connection of a resource (see the class).
   *
   * @since 0.2.0
   * @category models
   */
  ResourceConnection,
  /**
   * What `listResources` returns: the resources, and how many entries were dropped.
   *
   * @since 0.2.0
   * @category models
   */
  type ResourceList,
  /**
   * A server reached through one of its connections (see the class).
   *
   * @since 0.2.0
   * @category models
   */
  ServerConnection,
  /**
   * The tag through which PMS operations find their server when no `serverUrl` is given;
   * {@link layerServer} provides it. Provide your own to route PMS calls some other way.
   *
   * @since 0.2.0
   * @category tags
   */
  ServerTarget,
  /**
   * The service behind {@link ServerTarget}: the connection to use now, and where to report a
   * connection that failed.
   *
   * @since 0.2.0
   * @category models
   */
  type Target
}

/**
 * Per-call overrides: `serverUrl` replaces the plex.tv API base; `token` replaces the configured
 * token, e.g. a Plex Home member's token after `HomeUsers.switchHomeUser`.
 *
 * @since 0.2.0
 * @category models
 */
export type CallOptions = PlexConfig.CallOptions

/**
 * The query of `listResources`. Each flag defaults to `true`: without `includeHttps` plex.tv lists
 * no `https` (`*.plex.direct`) connections, without `includeRelay` no relay ones, without
 * `includeIPv6` no IPv6 ones.
 *
 * @since 0.2.0
 * @category models
 */
export interface ListParams {
  readonly includeHttps?: boolean | undefined
  readonly includeRelay?: boolean | undefined
  readonly includeIPv6?: boolean | undefined
}

/**
 * How `connect` races: `timeout` is the budget of each candidate's probe (default 5 seconds), which
 * also bounds the whole race; `fastest: true` takes the first connection that answers as the server
 * instead of the best by preference.
 *
 * @since 0.2.0
 * @category models
 */
export type ConnectOptions = Conn.ConnectOptions

/**
 * Which server {@link layerServer} uses: `{ name }`, `{ clientIdentifier }` (the server's
 * `machineIdentifier`), or the first server a predicate accepts.
 *
 * @since 0.2.0
 * @category models
 */
export type Select = Conn.Select

/**
 * The Resources operations. Get it with `yield* Resources.Resources` or use the module-level
 * accessors.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /**
   * `GET {plexTvUrl}/resources?includeHttps=1&includeRelay=1&includeIPv6=1` with the account
   * token: the account's devices, servers and clients alike, as {@link PlexResource}s. Decodes
   * plex.tv's JSON array, its XML `<resources>` list and the legacy `<MediaContainer><Device>`
   * document; an entry without `name` or `clientIdentifier` is dropped and counted in
   * `dropped`. 401 (`PlexUnauthorized`) means the token is not valid on plex.tv.
   */
  readonly listResources: (
    params?: ListParams,
    options?: CallOptions
  ) => Effect.Effect<ResourceList, PlexError.PlexError>
  /** `listResources`, keeping only the Plex Media Servers (`PlexResource.isServer`). */
  readonly servers: (
    params?: ListParams,
    options?: CallOptions
  ) => Effect.Effect<ReadonlyArray<PlexResource>, PlexError.PlexError>
  /**
   * Probes every candidate connection of `resource` at the same time with `GET {uri}/identity`
   * (the server's own `accessToken` in `X-Plex-Token`), and accepts a connection only if the
   * `machineIdentifier` it answers is the resource's `clientIdentifier`. Preference: local before
   * remote before relay, https before http; local connections of a server the account does not own
   * are skipped. Returns the best candidate that answered within `timeout` (or, with `fastest`, the
   * first); the other probes are then interrupted and their requests aborted, so the race takes at
   * most about one `timeout`, however many candidates there are. Fails with `PlexSdkError` reason
   * `NoConnection`, whose `detail` lists each candidate's URI and outcome (refused, timed out, wrong
   * server, HTTP status), or `InvalidRequest` when the resource has no `accessToken`.
   */
  readonly connect: (
    resource: PlexResource,
    options?: ConnectOptions
  ) => Effect.Effect<ServerConnection, PlexError.PlexError>
  /**
   * The same race as `connect`, for diagnosis: every probe runs to its end (each bounded by
   * `timeout`), and the report lists every connection in preference order with how its probe went
   * (`ProbeOutcome`: reachable and its latency, refused, unreachable, timed out, wrong server, an
   * HTTP status, skipped), the skipped ones last, and the one `connect` would choose, if any. A
   * server none of whose connections answers is a report, not a failure; it fails only with
   * `InvalidRequest` (no `accessToken`, a bad `timeout`). `fastest` is ignored: every probe ends.
   */
  readonly probeConnections: (
    resource: PlexResource,
    options?: ConnectOptions
  ) => Effect.Effect<Conn.ConnectionReport, PlexError.PlexError>
}

/**
 * The service tag.
 *
 * @since 0.2.0
 * @category tags
 */
export class Resources extends Context.Tag("effect-plex/Resources")<Resources, Service>() {}

const resolve = (params: ListParams | undefined) => ({
  includeHttps: params?.includeHttps ?? true,
  includeRelay: params?.includeRelay ?? true,
  includeIPv6: params?.includeIPv6 ?? true
})

const fromRunner = (run: Request.Runner): Service => {
  const list = run(endpoints.listResources)
  const identity = run(endpoints.identity)
  const listResources: Service["listResources"] = (params, options) => list(resolve(params), options)
  const probe: Conn.Probe = (uri, token) => identity(undefined, { serverUrl: uri, token })
  return Resources.of({
    listResources,
    servers: (params, options) => Effect.map(listResources(params, options), (all) => all.filter((r) => r.isServer)),
    connect: (resource, options) => Conn.connect(resource, probe, options),
    probeConnections: (resource, options) =>
      Conn.probeConnections(resource, probe, options && { timeout: options.timeout })
  })
}

/**
 * Builds the service from `HttpClient`, `PlexConfig` and `PlexToken` (the account token, for
 * plex.tv).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken> =
  Effect.map(Request.makeTokenRunner, fromRunner)

/**
 * The service as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<
  Resources,
  never,
  HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
> = Layer.effect(Resources, make)

/**
 * A {@link ServerTarget} for one of the account's servers: provide it to a service's layer and that
 * service's PMS operations go to the server's best connection, with **the server's own access
 * token**, whenever a call passes no `serverUrl`; plex.tv operations keep the account token.
 *
 * ```ts
 * const Auth = Authentication.layer.pipe(Layer.provide(Resources.layerServer({ name: "Living Room" })))
 * // Authentication.getTransientToken() now needs no serverUrl.
 * ```
 *
 * On the first PMS call it lists the account's resources, picks the server (`{ name }`,
 * `{ clientIdentifier }` or a predicate) and races its connections (see `connect`, whose options
 * it takes); concurrent first calls share one race. The choice is then remembered. After a
 * transport failure or a timeout on the chosen connection, the next PMS call races again, once per
 * failure rather than once per call. A failed pick (no server matches: `NoConnection`; none of its
 * connections answers; plex.tv refuses the token) fails that call, and the next one tries again.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerServer = (
  select: Select,
  options?: ConnectOptions
): Layer.Layer<ServerTarget, never, HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken> =>
  Layer.effect(
    ServerTarget,
    Effect.flatMap(Request.makeTokenRunner, (run) => {
      const service = fromRunner(run)
      return Conn.makeTarget(service.listResources(), (resource) => service.connect(resource, options), select)
    })
  )

/**
 * Accessor: {@link Service.listResources} from the `Resources` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const listResources = (
  params?: ListParams,
  options?: CallOptions
): Effect.Effect<ResourceList, PlexError.PlexError, Resources> =>
  Effect.flatMap(Resources, (service) => service.listResources(params, options))

/**
 * Accessor: {@link Service.servers} from the `Resources` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const servers = (
  params?: ListParams,
  options?: CallOptions
): Effect.Effect<ReadonlyArray<PlexResource>, PlexError.PlexError, Resources> =>
  Effect.flatMap(Resources, (service) => service.servers(params, options))

/**
 * Accessor: {@link Service.connect} from the `Resources` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const connect = (
  resource: PlexResource,
  options?: ConnectOptions
): Effect.Effect<ServerConnection, PlexError.PlexError, Resources> =>
  Effect.flatMap(Resources, (service) => service.connect(resource, options))

/**
 * Accessor: {@link Service.probeConnections} from the `Resources` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const probeConnections = (
  resource: PlexResource,
  options?: ConnectOptions
): Effect.Effect<Conn.ConnectionReport, PlexError.PlexError, Resources> =>
  Effect.flatMap(Resources, (service) => service.probeConnections(resource, options))
