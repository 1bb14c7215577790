/**
 * Attempt timeouts over loopback on each transport @effect/platform offers on Node (fetch, undici,
 * node:http): the SDK ends an attempt by aborting its request, so every transport must turn that
 * abort into an ended request (a Timeout for the caller, a closed connection for the server), with
 * real timers.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { Authentication, PlexConfig, PlexError, PlexPolicy, PlexToken } from "effect-plex"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A loopback server that never answers; `closed` counts requests whose connection went away. */
const silentServer = Effect.acquireRelease(
  Effect.async<{ origin: string; received: () => number; closed: () => number; server: http.Server }>((resume) => {
    let received = 0
    let closed = 0
    const server = http.createServer((req) => {
      received++
      req.socket.once("close", () => closed++)
    })
    server.listen(0, "127.0.0.1", () => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resume(Effect.succeed({ origin, received: () => received, closed: () => closed, server }))
    })
  }),
  ({ server }) =>
    Effect.promise(() =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      })
    )
)

const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["fetch", FetchHttpClient.layer],
  ["undici", NodeHttpClient.layerUndici],
  ["node:http", NodeHttpClient.layer]
]

describe("attempt timeouts abort the request on every transport", () => {
  for (const [name, transport] of transports) {
    it.live(`${name}: Timeout after the attempt's budget, and the server sees the connection close`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { closed, origin, received } = yield* silentServer
        // Built in the test's scope: undici's dispatcher lives as long as its layer.
        const context = yield* Layer.build(
          Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
            transport,
            Layer.orDie(PlexConfig.layer({ clientIdentifier: "timeouts-test", serverUrl: origin })),
            PlexToken.layer("tok-timeouts-1")
          )))
        )
        const started = Date.now()
        const exit = yield* Effect.exit(
          Authentication.getTransientToken().pipe(
            PlexPolicy.withPolicy({ attemptTimeout: "200 millis", maxAttempts: 1 }),
            Effect.provide(context)
          )
        )
        const elapsed = Date.now() - started
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", String(exit))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          assert.isTrue(PlexError.isReason(exit.cause.error, "Timeout"), String(exit.cause.error))
        }
        assert.isAtLeast(elapsed, 180)
        assert.isBelow(elapsed, 2000)
        assert.strictEqual(received(), 1)
        // The abort reaches the socket shortly after the attempt ends.
        for (let i = 0; i < 100 && closed() === 0; i++) yield* Effect.sleep("10 millis")
        assert.strictEqual(closed(), 1, "the aborted request's connection is closed")
      })))
  }
})

/** A loopback port with nothing listening: bound, then closed. */
const closedPort = Effect.async<number>((resume) => {
  const server = http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

describe("a refused connection exposes its errno", () => {
  for (const [name, transport] of transports) {
    it.live(`${name}: Transport with errno ECONNREFUSED`, () =>
      Effect.scoped(Effect.gen(function*() {
        const port = yield* closedPort
        const context = yield* Layer.build(
          Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
            transport,
            Layer.orDie(PlexConfig.layer({ clientIdentifier: "errno-test", serverUrl: `http://127.0.0.1:${port}` })),
            PlexToken.layer("tok-errno-1")
          )))
        )
        const exit = yield* Effect.exit(
          Authentication.getTransientToken().pipe(PlexPolicy.withPolicy({ maxAttempts: 1 }), Effect.provide(context))
        )
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail", String(exit))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const error = exit.cause.error
          assert.isTrue(PlexError.isReason(error, "Transport"), String(error))
          assert.strictEqual((error as PlexError.PlexSdkError).errno, "ECONNREFUSED")
          assert.include(error.message, "ECONNREFUSED")
        }
      })))
  }
})
