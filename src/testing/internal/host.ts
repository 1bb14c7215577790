/**
 * Where PlexFake's extra origins live: each fake Plex Media Server connection is an `HttpApp` of its
 * own, served at an origin of its own by a {@link ServerHost}. Over loopback (`layerServer`) an
 * origin is a listener on `127.0.0.1:<port>` (`loopbackHost.ts`), and a refusing one is a closed
 * port; in-process (`layerClient`, `make`) it is `http://pms-<n>.plex.fake`, answered by the
 * in-process client, and a refusing one fails like a refused connection (`ECONNREFUSED`).
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Effect from "effect/Effect"

/** Serves apps at origins of their own, for the fake's lifetime. */
export interface ServerHost {
  /** Serves `app` at a new origin; with `refusing`, the origin refuses connections until told not to. */
  readonly open: (app: HttpApp.Default, refusing: boolean) => Effect.Effect<string>
  /** Makes an origin refuse connections (a closed port), or accept them again at the same origin. */
  readonly setRefusing: (origin: string, refusing: boolean) => Effect.Effect<void>
  /** Stops serving every origin (`reset`; the layer's end for loopback). */
  readonly closeAll: Effect.Effect<void>
}

/** What the in-process client finds at an origin. */
export type InProcessEntry = { readonly app: HttpApp.Default; readonly refusing: boolean }

/** An in-process host, and the lookup its client uses. */
export interface InProcessHost extends ServerHost {
  readonly lookup: (origin: string) => InProcessEntry | undefined
}

/** Origins `http://pms-<n>.plex.fake`, numbered per host. */
export const makeInProcessHost = (): InProcessHost => {
  const entries = new Map<string, InProcessEntry>()
  let next = 1
  return {
    open: (app, refusing) =>
      Effect.sync(() => {
        const origin = `http://pms-${next++}.plex.fake`
        entries.set(origin, { app, refusing })
        return origin
      }),
    setRefusing: (origin, refusing) =>
      Effect.sync(() => {
        const entry = entries.get(origin)
        if (entry !== undefined) entries.set(origin, { ...entry, refusing })
      }),
    closeAll: Effect.sync(() => entries.clear()),
    lookup: (origin) => entries.get(origin)
  }
}
