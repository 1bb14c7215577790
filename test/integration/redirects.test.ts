/**
 * Redirects over loopback, on both transports: a same-origin redirect is followed with the token;
 * a redirect to another origin is refused and the other origin never sees the token (fetch would
 * forward `X-Plex-Token`, a custom header, on its own).
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { Authentication, PlexConfig, PlexError, PlexPolicy, PlexToken } from "effect-plex"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const userBody = fs.readFileSync(new URL("../fixtures/get-token-details.200.plex-api-rs-free.json", import.meta.url))

interface Seen {
  readonly path: string
  readonly token: string | undefined
}

/** A loopback server whose handler may redirect; records the path and token of every request. */
const serve = (handler: (req: http.IncomingMessage, res: http.ServerResponse, origin: string) => void) =>
  Effect.acquireRelease(
    Effect.async<{ origin: string; seen: Array<Seen>; server: http.Server }>((resume) => {
      const seen: Array<Seen> = []
      let origin = ""
      const server = http.createServer((req, res) => {
        const token = req.headers["x-plex-token"]
        seen.push({ path: req.url ?? "", token: typeof token === "string" ? token : undefined })
        handler(req, res, origin)
      })
      server.listen(0, "127.0.0.1", () => {
        origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({ origin, seen, server }))
      })
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((done) => server.close(() => done())))
  )

const sdk = (client: Layer.Layer<HttpClient.HttpClient>, origin: string) =>
  Authentication.layer.pipe(
    Layer.provide(Layer.mergeAll(
      PlexConfig.layer({ clientIdentifier: "redirect-tests", plexTvUrl: `${origin}/api/v2` }),
      PlexToken.layer("REDIRECT-SECRET-TOKEN"),
      client
    ))
  )

const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["FetchHttpClient", FetchHttpClient.layer],
  ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici]
]

describe("redirects", () => {
  for (const [name, client] of transports) {
    it.live(`${name}: a same-origin redirect is followed with the token`, () =>
      Effect.gen(function*() {
        const server = yield* serve((req, res) => {
          if (req.url === "/api/v2/user") {
            res.writeHead(302, { location: "/api/v2/moved/user" }).end()
          } else {
            res.writeHead(200, { "content-type": "application/json", "content-length": userBody.length }).end(userBody)
          }
        })
        const user = yield* Authentication.getTokenDetails().pipe(Effect.provide(sdk(client, server.origin)))
        assert.strictEqual(user.id, 12345)
        assert.deepStrictEqual(server.seen.map((s) => s.path), ["/api/v2/user", "/api/v2/moved/user"])
        assert.deepStrictEqual(server.seen.map((s) => s.token), ["REDIRECT-SECRET-TOKEN", "REDIRECT-SECRET-TOKEN"])
      }).pipe(Effect.scoped))

    it.live(`${name}: a cross-origin redirect is refused and the other origin never sees the token`, () =>
      Effect.gen(function*() {
        const other = yield* serve((_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": userBody.length }).end(userBody)
        })
        const server = yield* serve((_req, res) => {
          res.writeHead(307, { location: `${other.origin}/api/v2/user` }).end()
        })
        const exit = yield* Effect.exit(
          Authentication.getTokenDetails().pipe(Effect.provide(sdk(client, server.origin)))
        )
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
          const error = exit.cause.error
          assert.isTrue(PlexError.isReason(error, "StatusCode"))
          assert.match(error.message, /another origin/)
          if (error._tag === "PlexSdkError") assert.strictEqual(error.status, 307)
        } else {
          assert.fail(`expected a typed failure, got ${String(exit)}`)
        }
        assert.strictEqual(server.seen.length, 1)
        assert.strictEqual(other.seen.length, 0)
      }).pipe(Effect.scoped))
  }

  it.live("a followed redirect keeps only the target's own query, and never a token in it", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => {
        if (req.url?.startsWith("/security/resources")) {
          res.writeHead(302, { location: "/moved/resources?page=2&X-Plex-Token=REDIRECT-SECRET-TOKEN" }).end()
        } else {
          const body = JSON.stringify({ MediaContainer: { Device: { name: "n", clientIdentifier: "c" } } })
          res.writeHead(200, { "content-type": "application/json" }).end(body)
        }
      })
      const layer = Authentication.layer.pipe(
        Layer.provide(Layer.mergeAll(
          PlexConfig.layer({ clientIdentifier: "redirect-tests", serverUrl: server.origin }),
          PlexToken.layer("REDIRECT-SECRET-TOKEN"),
          FetchHttpClient.layer
        ))
      )
      const info = yield* Authentication.getSourceConnectionInformation({ source: "server://abc" }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(info.device.name, "n")
      assert.deepStrictEqual(server.seen.map((s) => s.path), [
        "/security/resources?source=server%3A%2F%2Fabc",
        "/moved/resources?page=2"
      ])
    }).pipe(Effect.scoped))

  it.live("redirects: \"none\" treats a same-origin redirect as an unexpected status", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(301, { location: "/elsewhere" }).end()
      })
      const exit = yield* Effect.exit(
        Authentication.getTokenDetails().pipe(
          PlexPolicy.withPolicy({ redirects: "none" }),
          Effect.provide(sdk(FetchHttpClient.layer, server.origin))
        )
      )
      assert.isTrue(
        Exit.isFailure(exit) && exit.cause._tag === "Fail" && PlexError.isReason(exit.cause.error, "StatusCode")
      )
      assert.strictEqual(server.seen.length, 1)
    }).pipe(Effect.scoped))

  it.live("a redirect loop stops after maxRedirects", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(302, { location: "/api/v2/user" }).end()
      })
      const exit = yield* Effect.exit(
        Authentication.getTokenDetails().pipe(
          PlexPolicy.withPolicy({ maxRedirects: 3, maxAttempts: 1 }),
          Effect.provide(sdk(FetchHttpClient.layer, server.origin))
        )
      )
      assert.isTrue(
        Exit.isFailure(exit) && exit.cause._tag === "Fail" && PlexError.isReason(exit.cause.error, "StatusCode")
      )
      assert.strictEqual(server.seen.length, 4)
    }).pipe(Effect.scoped))
})
