/**
 * The loopback {@link ServerHost}: each origin is a `node:http` server on `127.0.0.1` (never other
 * interfaces) on a port of its own. A refusing origin is that port closed, so a client meets a real
 * `ECONNREFUSED`; accepting again listens on the same port. Every server closes with the scope.
 * Loads `node:http` and `@effect/platform-node` only when built, like `serve.ts`.
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import type { ServerHost } from "./host.js"

interface Entry {
  readonly server: Http.Server
  readonly port: number
  listening: boolean
}

/**
 * A loopback host for the scope's lifetime. Handlers run on the runtime this is built with (the
 * layer's, so the servers' sleeps use the live clock even when a test runs on `TestClock`).
 */
export const makeLoopbackHost: Effect.Effect<ServerHost, never, Scope.Scope> = Effect.gen(function*() {
  const [HttpModule, NodeHttpServer] = yield* Effect.promise(() =>
    Promise.all([import("node:http"), import("@effect/platform-node/NodeHttpServer")])
  )
  const runtime = yield* Effect.runtime<never>()
  const entries = new Map<string, Entry>()

  const listen = (server: Http.Server, port: number) =>
    Effect.async<void>((resume) => {
      const onError = (error: Error) => resume(Effect.die(error))
      server.once("error", onError)
      server.listen(port, "127.0.0.1", () => {
        server.off("error", onError)
        resume(Effect.void)
      })
    })

  const close = (server: Http.Server) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      // Kept-alive and in-flight connections too: a refusing origin takes no more requests.
      server.closeAllConnections()
    })

  const closeAll = Effect.suspend(() => {
    const open = [...entries.values()].filter((entry) => entry.listening)
    entries.clear()
    return Effect.forEach(open, (entry) => close(entry.server), { discard: true, concurrency: "unbounded" })
  })

  yield* Effect.addFinalizer(() => closeAll)

  return {
    open: (app: HttpApp.Default, refusing: boolean) =>
      Effect.gen(function*() {
        const handler = Runtime.runSync(runtime)(NodeHttpServer.makeHandler(app))
        const server = HttpModule.createServer(handler)
        yield* listen(server, 0)
        const address = server.address()
        if (address === null || typeof address === "string") {
          return yield* Effect.dieMessage("PlexFake: a loopback server has no TCP address")
        }
        const origin = `http://127.0.0.1:${address.port}`
        if (refusing) yield* close(server)
        entries.set(origin, { server, port: address.port, listening: !refusing })
        return origin
      }),
    setRefusing: (origin, refusing) =>
      Effect.suspend(() => {
        const entry = entries.get(origin)
        if (entry === undefined || entry.listening === !refusing) return Effect.void
        entry.listening = !refusing
        return refusing ? close(entry.server) : listen(entry.server, entry.port)
      }),
    closeAll
  }
})
