/**
 * The seam every area of PlexFake implements: an {@link Area} owns some state, answers some
 * {@link Route}s and implements some members of the public `Service`. `app.ts` registers the areas
 * and explains how they fit together.
 *
 * @internal
 */
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Effect from "effect/Effect"
import type { ServerHost } from "./host.js"
import type { AreaContext, AreaState } from "./state.js"

/** A request as every handler sees it, read once by the app. */
export interface Incoming {
  /** Upper-case. */
  readonly method: string
  /** Without the query string, and without a trailing `/` (except for `/` itself). */
  readonly path: string
  readonly query: URLSearchParams
  /** Names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The fields of an `application/x-www-form-urlencoded` body (first value per name). */
  readonly form: Readonly<Record<string, string>> | undefined
  /** An `application/json` body, parsed (`undefined` when there was none or it did not parse). */
  readonly body?: unknown
  /** Whether the request accepts JSON; answer XML otherwise, as plex.tv and a PMS do. */
  readonly json: boolean
  /** `X-Plex-Client-Identifier`; a plex.tv handler only runs when it is there. */
  readonly clientIdentifier: string | undefined
  /** `X-Plex-Token` (the fake never reads a token from the query string). */
  readonly token: string | undefined
}

/**
 * Which service a route belongs to. `"plexTv"`: paths under `/api/v2`; no match answers a plex.tv
 * 404 (code 1002), and a match without `X-Plex-Client-Identifier` a 400 (code 1000) before the
 * handler runs. `"pms"`: every other path; no match answers the PMS's HTML 404.
 */
export type Host = "plexTv" | "pms"

/** What a route runs: `params` are the capture groups of a `RegExp` path (empty for a string path). */
export type Handler = (
  req: Incoming,
  params: ReadonlyArray<string>
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

/**
 * One route. The app tries the routes of each area in registration order, the first match wins.
 *
 * - `method`: upper-case, a list of them, or `"*"` for any method.
 * - `path`: for `"plexTv"` relative to `/api/v2` (e.g. `"/pins"`), for `"pms"` the whole path
 *   (e.g. `"/security/token"`). A string must equal the path; a `RegExp` must match it (anchor it;
 *   no `g`/`y` flag, which would make `exec` stateful).
 */
export interface Route {
  readonly host: Host
  readonly method: string | ReadonlyArray<string>
  readonly path: string | RegExp
  readonly handle: Handler
}

/**
 * What a fake offers its areas besides their state: `host` serves further origins (the fake Plex
 * Media Servers' connections, each an `HttpApp` of its own; see `host.ts`).
 */
export interface AreaEnv {
  readonly host: ServerHost
}

/**
 * An area of the fake: its state (see {@link AreaState}), its routes and the `Service` members it
 * implements (`C`, a `Pick` of the public `Service`). `routes` and `controls` are called once per
 * fake, in `make`, with the area's context (and the fake's {@link AreaEnv}, for areas that serve
 * origins of their own); close over them.
 */
export interface Area<S, C> extends AreaState<S> {
  readonly routes: (ctx: AreaContext<S>, env: AreaEnv) => ReadonlyArray<Route>
  readonly controls: (ctx: AreaContext<S>, env: AreaEnv) => C
}

/** The value of a header, treating an empty one as absent. */
export const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  const value = headers[name]
  return value === undefined || value === "" ? undefined : value
}
