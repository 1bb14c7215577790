/**
 * `PlexAuth.middleware`, the plain middleware for `HttpRouter` users, over real HTTP on loopback
 * against PlexFake on loopback: the same verdicts and JSON bodies as the HttpApi middleware.
 */
import {
  FetchHttpClient,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServer,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { Plex } from "effect-plex"
import * as PlexAuth from "effect-plex/PlexAuth"
import { PlexFake } from "effect-plex/testing"
import { createServer } from "node:http"
import { call } from "./support.js"

const me = Effect.map(PlexAuth.CurrentPlexUser, (user) => HttpServerResponse.unsafeJson({ username: user.username }))

const signedIn = HttpRouter.empty.pipe(HttpRouter.get("/me", me), HttpRouter.use(PlexAuth.middleware()))
const withServer = HttpRouter.empty.pipe(
  HttpRouter.get("/server/me", me),
  HttpRouter.use(PlexAuth.middleware({ serverAccess: true, cookie: "plex_token" }))
)
const router = HttpRouter.empty.pipe(
  HttpRouter.get("/health", HttpServerResponse.text("ok")),
  HttpRouter.concat(signedIn),
  HttpRouter.concat(withServer)
)

const Sdk = Layer.unwrapEffect(Effect.map(PlexFake.PlexFakeServer, (urls) =>
  Plex.layer({
    clientIdentifier: "router-under-test",
    product: "PlexAuth router tests",
    plexTvUrl: urls.plexTvUrl,
    policy: { maxAttempts: 1 }
  })))

const Live = HttpServer.serve(router).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(PlexAuth.layer({ server: "router-server" })),
  Layer.provideMerge(Sdk),
  Layer.provideMerge(PlexFake.layerServer),
  Layer.provideMerge(FetchHttpClient.layer),
  // The 503 warnings are what these tests provoke; test/auth/secrets.test.ts reads them.
  Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
)

const accounts = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const login = `u${Math.random().toString(36).slice(2)}@example.com`
  const owner = yield* fake.addAccount({ login, password: "pw", username: "routerowner" })
  const stranger = yield* fake.addAccount({ login: `s-${login}`, password: "pw", username: "routerstranger" })
  yield* fake.addServer({ name: "R", owner: login, machineIdentifier: "router-server", connections: [{}] }).pipe(
    Effect.ignore
  )
  return { owner, stranger }
})

layer(Live, { excludeTestServices: true })("PlexAuth.middleware", (it) => {
  it.effect("200 with the user; 401 / 403 / 503 with the same JSON bodies as the HttpApi middleware", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { owner, stranger } = yield* accounts
      const token = (t: string) => HttpClientRequest.setHeader("x-plex-token", t)
      const ok = yield* call(HttpClientRequest.get("/me").pipe(token(owner.token)))
      assert.deepStrictEqual([ok.status, ok.body], [200, { username: "routerowner" }])
      const missing = yield* call(HttpClientRequest.get("/me"))
      assert.deepStrictEqual([missing.status, missing.body], [
        401,
        { _tag: "Unauthenticated", reason: "MissingToken", message: "no Plex token came with the request" }
      ])
      const refused = yield* call(HttpClientRequest.get("/me").pipe(token("refused-token")))
      assert.deepStrictEqual([refused.status, refused.body.reason], [401, "InvalidToken"])
      const denied = yield* call(HttpClientRequest.get("/server/me").pipe(token(stranger.token)))
      assert.deepStrictEqual([denied.status, denied.body._tag], [403, "ServerAccessDenied"])
      const allowed = yield* call(HttpClientRequest.get("/server/me").pipe(token(owner.token)))
      assert.strictEqual(allowed.status, 200)
      const byCookie = yield* call(
        HttpClientRequest.get("/server/me").pipe(HttpClientRequest.setHeader("cookie", `plex_token=${owner.token}`))
      )
      assert.strictEqual(byCookie.status, 200)
      const fresh = yield* fake.issueToken(owner.login)
      yield* fake.failNext(1, { status: 500 }, { path: "/api/v2/user" })
      const down = yield* call(HttpClientRequest.get("/me").pipe(token(fresh)))
      assert.deepStrictEqual([down.status, down.body._tag], [503, "PlexUnreachable"])
      const back = yield* call(HttpClientRequest.get("/me").pipe(token(fresh)))
      assert.strictEqual(back.status, 200)
      // Routes outside the middleware stay public.
      const health = yield* (yield* HttpClient.HttpClient).get(
        `${HttpServer.formatAddress((yield* HttpServer.HttpServer).address)}/health`
      )
      assert.strictEqual(health.status, 200)
    }))
})
