/**
 * PlexFake's `HttpApp` and the place where its areas are put together.
 *
 * How the fake is built (read this before adding an area):
 *
 * - State. One `Ref` (the {@link Store}, `state.ts`) holds the core every area shares — accounts,
 *   tokens (account and transient), pending faults, recorded requests — and one slot per area for
 *   that area's own state (PINs, sources, sign-in failure counters, …). An area never sees another
 *   area's slot. Through its `AreaContext<S>` it reads and writes `{ core, own }` in one atomic
 *   `modify`, so e.g. approving a PIN and minting its token cannot interleave with a revocation.
 * - An area (`area.ts`) is one file exporting `area: Area<S, C>`:
 *   - `name`: unique, names its slot;
 *   - `initial: Effect<S>`: its state in a fresh fake; `reset` runs it again, so whatever an area
 *     keeps is reset with no further code;
 *   - `onResetFaults?: (s: S) => S`: what `resetFaults` clears in it (account: the 1031 counters);
 *   - `routes(ctx): ReadonlyArray<Route>`: `{ host: "plexTv" | "pms", method, path, handle }`;
 *     plex.tv paths are relative to `/api/v2`. The app has already recorded the request, applied
 *     any fault, and (plex.tv) checked `X-Plex-Client-Identifier` when a handler runs;
 *   - `controls(ctx): C`: the members of the public `Service` it implements (`C` is a `Pick` of
 *     `Service`; declare the members, with TSDoc, on `Service` in `PlexFake.ts`).
 * - Adding an area = a new file plus one entry in {@link areas} below. The type of `make` checks
 *   that the areas' controls together implement `Service`, so a member declared on `Service` but
 *   implemented by no area is a compile error here; two areas with one name die in `make`.
 * - Routes are tried area by area in the order of {@link areas}, then route by route; the first
 *   match wins. No match answers a plex.tv 404 (code 1002) or the PMS's HTML 404. Responses shared
 *   by areas (error bodies, XML helpers) are in `wire.ts`.
 * - A request reaches the handlers through this pipeline: read once into an `Incoming`; recorded
 *   and matched against pending faults in one step; delayed; then failed, corrupted or dropped
 *   (`faults.ts`), or routed (a request with an expired Plex JWT is answered 498 first, see
 *   `jwt.ts`). Serving it (loopback, in-process) is `serve.ts`; both see only the
 *   `HttpApp` this module builds.
 * - Which service a request is for is decided by its path alone (`hostOf` below): this app is one
 *   origin. An area that needs further origins (the fake PMSs of `resources.ts`, each connection on
 *   a port of its own) does not route through it: it builds an `HttpApp` per origin over its own
 *   slot and opens it with `env.host` (`host.ts`: loopback listeners for `layerServer`, in-process
 *   origins for `layerClient`); `reset` closes them all.
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { RecordedRequest, Service } from "../PlexFake.js"
import * as Account from "./account.js"
import type { Area, AreaEnv, Handler, Host, Incoming, Route } from "./area.js"
import { header } from "./area.js"
import * as Faults from "./faults.js"
import type { ServerHost } from "./host.js"
import * as Jwt from "./jwt.js"
import * as Pins from "./pins.js"
import * as Pms from "./pms.js"
import * as Resources from "./resources.js"
import type { Store } from "./state.js"
import { makeStore } from "./state.js"
import { missingClientIdentifier, notFoundDetail, PLEX_TV_PREFIX, plexTvError, pmsError } from "./wire.js"

/** Every area of the fake, in the order their routes are tried. Register a new area here. */
export const areas = [Account.area, Pins.area, Pms.area, Resources.area, Jwt.area] as const

type ControlsOf<A> = A extends Area<any, infer C> ? C : never
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never
type AreaControls = Intersection<ControlsOf<(typeof areas)[number]>>

// -------------------------------------------------------------------------------------------------
// Reading and recording a request
// -------------------------------------------------------------------------------------------------

/** First value per name, as own properties (safe for names like `__proto__`). */
const firstValues = (params: URLSearchParams): Record<string, string> => {
  const seen = new Set<string>()
  const entries: Array<[string, string]> = []
  for (const [name, value] of params) {
    if (!seen.has(name)) {
      seen.add(name)
      entries.push([name, value])
    }
  }
  return Object.fromEntries(entries)
}

const readIncoming = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Incoming> =>
  Effect.gen(function*() {
    // The base only completes a path-only URL; nothing but the path and query is read from it.
    const url = new URL(request.url, "http://plex.fake")
    const headers: Record<string, string> = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value])
    )
    const contentType = headers["content-type"] ?? ""
    let form: Record<string, string> | undefined
    if (contentType.includes("application/x-www-form-urlencoded")) {
      const text = yield* Effect.orElseSucceed(request.text, () => "")
      form = firstValues(new URLSearchParams(text))
    }
    let body: unknown
    if (contentType.includes("application/json")) {
      const text = yield* Effect.orElseSucceed(request.text, () => "")
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
    }
    const path = url.pathname.length > 1 && url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname
    return {
      method: request.method.toUpperCase(),
      path,
      query: url.searchParams,
      headers,
      form,
      body,
      json: (headers["accept"] ?? "").toLowerCase().includes("application/json"),
      clientIdentifier: header(headers, "x-plex-client-identifier"),
      token: header(headers, "x-plex-token")
    }
  })

const record = (req: Incoming, time: number): RecordedRequest => ({
  method: req.method,
  path: req.path,
  searchParams: firstValues(req.query),
  headers: req.headers,
  ...(req.form === undefined ? {} : { form: req.form }),
  ...(req.body === undefined ? {} : { json: req.body }),
  time
})

// -------------------------------------------------------------------------------------------------
// Routing
// -------------------------------------------------------------------------------------------------

/** Which service the request is for, and its path as that service's routes spell it. */
const hostOf = (req: Incoming): readonly [Host, string] =>
  req.path === PLEX_TV_PREFIX || req.path.startsWith(`${PLEX_TV_PREFIX}/`) ?
    ["plexTv", req.path.slice(PLEX_TV_PREFIX.length)] :
    ["pms", req.path]

const methodMatches = (route: Route, method: string): boolean =>
  typeof route.method === "string" ? route.method === "*" || route.method === method : route.method.includes(method)

/** The first route for this host, method and path, with its `RegExp` capture groups. */
const findRoute = (
  routes: ReadonlyArray<Route>,
  host: Host,
  method: string,
  path: string
): readonly [Handler, ReadonlyArray<string>] | undefined => {
  for (const route of routes) {
    if (route.host !== host || !methodMatches(route, method)) continue
    if (typeof route.path === "string") {
      if (route.path === path) return [route.handle, []]
    } else {
      const match = route.path.exec(path)
      if (match !== null) return [route.handle, match.slice(1)]
    }
  }
  return undefined
}

const router =
  (routes: ReadonlyArray<Route>) => (req: Incoming): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const [host, path] = hostOf(req)
    const found = findRoute(routes, host, req.method, path)
    if (found === undefined) {
      return Effect.succeed(host === "plexTv" ? plexTvError(req.json, notFoundDetail) : pmsError(404))
    }
    // An unknown path is a 404 whatever the headers, so the client identifier is checked only now.
    if (host === "plexTv" && req.clientIdentifier === undefined) {
      return Effect.succeed(plexTvError(req.json, missingClientIdentifier))
    }
    const [handle, params] = found
    return handle(req, params)
  }

// -------------------------------------------------------------------------------------------------
// The app
// -------------------------------------------------------------------------------------------------

const makeApp = (store: Store, route: (req: Incoming) => Effect.Effect<HttpServerResponse.HttpServerResponse>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const req = yield* readIncoming(request)
    const recorded = record(req, yield* Clock.currentTimeMillis)
    // Recorded before any fault applies, so a test sees every attempt of a retried request.
    const [delay, outcome] = yield* Ref.modify(store.ref, (s) => {
      const [delay, delays] = Faults.takeFault(s.core.delays, req.path)
      const [outcome, outcomes] = Faults.takeFault(s.core.outcomes, req.path)
      const core = { ...s.core, delays, outcomes, requests: Chunk.append(s.core.requests, recorded) }
      return [[delay, outcome] as const, { ...s, core }]
    })
    // interruptible: the server runs handlers uninterruptibly, but a client that gave up should not keep
    // a long delay alive
    if (delay !== undefined) yield* Effect.interruptible(Effect.sleep(delay))
    if (outcome !== undefined) {
      switch (outcome._tag) {
        case "Drop":
          return Faults.droppedConnection
        case "Fail":
          return Faults.failResponse(outcome.response, req.json)
        case "Corrupt":
          if (outcome.kind !== "truncated") return Faults.corruptResponse(outcome.kind)
          return Faults.truncate(yield* route(req))
      }
    }
    // A Plex JWT: 498 once expired on plex.tv, 401 on the PMS (jwt.ts).
    const refused = req.token === undefined
      ? undefined
      : Jwt.gate((yield* Ref.get(store.ref)).core, req, hostOf(req)[0], yield* Clock.currentTimeMillis)
    return refused ?? (yield* route(req))
  })

/** A fresh fake: its controls (every `Service` member but `app`) and its raw `HttpApp`. */
export interface Fake {
  readonly controls: Omit<Service, "app">
  /**
   * The app before any runner: a dropped request answers {@link Faults.droppedConnection}, which
   * the runner must turn into a dropped connection.
   */
  readonly app: HttpApp.Default
}

const bind = <S, C>(store: Store, area: Area<S, C>, env: AreaEnv) => {
  const ctx = store.context(area)
  return { routes: area.routes(ctx, env), controls: area.controls(ctx, env) }
}

/** Builds a fake with every registered area in its initial state; `host` serves its extra origins. */
export const make = (host: ServerHost): Effect.Effect<Fake> =>
  Effect.gen(function*() {
    const store = yield* makeStore(areas)
    const bound = areas.map((area: Area<any, any>) => bind(store, area, { host }))
    // Sound by construction: each area's controls are exactly its `C`, and their union is spread here.
    const areaControls = Object.assign({}, ...bound.map((b) => b.controls)) as AreaControls
    const controls: Omit<Service, "app"> = {
      ...areaControls,
      ...Faults.controls(store),
      requests: Effect.map(Ref.get(store.ref), (s) => Chunk.toReadonlyArray(s.core.requests)),
      clearRequests: Ref.update(store.ref, (s) => ({ ...s, core: { ...s.core, requests: Chunk.empty() } })),
      reset: Effect.zipRight(host.closeAll, store.reset)
    }
    return { controls, app: makeApp(store, router(bound.flatMap((b) => b.routes))) }
  })
