/**
 * PlexAuth's HttpApi pieces over real HTTP on loopback, against PlexFake on loopback: the
 * ready-made middlewares and one made with a cookie, the JSON bodies of 401 / 403 / 503, the
 * OpenAPI document, the typed client, and the PIN sign-in endpoints (what the browser may see).
 */
import {
  FetchHttpClient,
  HttpApi,
  HttpApiBuilder,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpClient,
  HttpClientRequest,
  HttpServer,
  OpenApi
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { Plex } from "effect-plex"
import * as PlexAuth from "effect-plex/PlexAuth"
import { PlexFake } from "effect-plex/testing"
import { createServer } from "node:http"
import { call, callsTo } from "./support.js"

class CookieAuth extends PlexAuth.Middleware<CookieAuth>()("test/CookieAuth", { cookie: "plex_token" }) {}

class Api extends HttpApi.make("test")
  .add(PlexAuth.PinApi)
  .add(
    HttpApiGroup.make("header").add(HttpApiEndpoint.get("me", "/me").addSuccess(Schema.String)).middleware(
      PlexAuth.Authenticated
    )
  )
  .add(
    HttpApiGroup.make("cookie").add(HttpApiEndpoint.get("me", "/cookie/me").addSuccess(Schema.String)).middleware(
      CookieAuth
    )
  )
  .add(
    HttpApiGroup.make("server").add(HttpApiEndpoint.get("server", "/server").addSuccess(Schema.String)).middleware(
      PlexAuth.ServerAccess
    )
  )
{}

const username = Effect.map(PlexAuth.CurrentPlexUser, (user) => user.username)

const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([
    HttpApiBuilder.group(Api, "header", (h) => h.handle("me", () => username)),
    HttpApiBuilder.group(Api, "cookie", (h) => h.handle("me", () => username)),
    HttpApiBuilder.group(Api, "server", (h) => h.handle("server", () => username)),
    PlexAuth.layerPinApi(Api, { forwardUrl: "https://app.example/signed-in" })
  ]),
  Layer.provide([
    PlexAuth.layerMiddleware(PlexAuth.Authenticated),
    PlexAuth.layerMiddleware(CookieAuth),
    PlexAuth.layerMiddleware(PlexAuth.ServerAccess)
  ])
)

/** The accounts and the operator's server, made before PlexAuth (which needs the server's id). */
class Seed extends Context.Tag("test/Seed")<Seed, {
  readonly owner: PlexFake.FakeAccount
  readonly friend: PlexFake.FakeAccount
  readonly stranger: PlexFake.FakeAccount
}>() {}

const SeedLive = Layer.effect(
  Seed,
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const owner = yield* fake.addAccount({ login: "owner@example.com", password: "pw", username: "owner" })
    const friend = yield* fake.addAccount({ login: "friend@example.com", password: "pw", username: "friend" })
    const stranger = yield* fake.addAccount({ login: "stranger@example.com", password: "pw", username: "stranger" })
    yield* fake.addServer({
      name: "Operator's Plex",
      owner: owner.login,
      sharedWith: [friend.login],
      machineIdentifier: "operator-server",
      connections: [{}]
    })
    return { owner, friend, stranger }
  })
)

const Sdk = Layer.unwrapEffect(Effect.map(PlexFake.PlexFakeServer, (urls) =>
  Plex.layer({
    clientIdentifier: "backend-under-test",
    product: "PlexAuth tests",
    plexTvUrl: urls.plexTvUrl,
    clientsUrl: urls.plexTvUrl,
    policy: { maxAttempts: 1 }
  })))

const Live = HttpApiBuilder.serve().pipe(
  Layer.provide(ApiLive),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(PlexAuth.layer({ server: "operator-server" })),
  Layer.provideMerge(Sdk),
  Layer.provideMerge(SeedLive),
  Layer.provideMerge(PlexFake.layerServer),
  Layer.provideMerge(FetchHttpClient.layer),
  // The 503 warnings are what these tests provoke; test/auth/secrets.test.ts reads them.
  Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
)

const withToken = (token: string) => HttpClientRequest.setHeader("x-plex-token", token)
const withCookie = (token: string) => HttpClientRequest.setHeader("cookie", `plex_token=${token}`)

layer(Live, { excludeTestServices: true })("PlexAuth over HTTP", (it) => {
  it.effect("Authenticated: 200 for a valid token; 401 with a JSON body saying why otherwise", () =>
    Effect.gen(function*() {
      const { owner } = yield* Seed
      const ok = yield* call(HttpClientRequest.get("/me").pipe(withToken(owner.token)))
      assert.deepStrictEqual([ok.status, ok.body], [200, "owner"])
      const missing = yield* call(HttpClientRequest.get("/me"))
      assert.strictEqual(missing.status, 401)
      assert.deepStrictEqual(missing.body, {
        _tag: "Unauthenticated",
        reason: "MissingToken",
        message: "no Plex token came with the request"
      })
      const empty = yield* call(HttpClientRequest.get("/me").pipe(withToken("")))
      assert.strictEqual(empty.body.reason, "MissingToken")
      const wrong = yield* call(HttpClientRequest.get("/me").pipe(withToken("not-a-token-plex-knows")))
      assert.deepStrictEqual([wrong.status, wrong.body._tag, wrong.body.reason], [
        401,
        "Unauthenticated",
        "InvalidToken"
      ])
    }))

  it.effect("ServerAccess: owner and friend (shared) pass, a stranger gets 403 with a JSON body", () =>
    Effect.gen(function*() {
      const { friend, owner, stranger } = yield* Seed
      for (const [account, name] of [[owner, "owner"], [friend, "friend"]] as const) {
        const ok = yield* call(HttpClientRequest.get("/server").pipe(withToken(account.token)))
        assert.deepStrictEqual([ok.status, ok.body], [200, name])
      }
      const denied = yield* call(HttpClientRequest.get("/server").pipe(withToken(stranger.token)))
      assert.strictEqual(denied.status, 403)
      assert.strictEqual(denied.body._tag, "ServerAccessDenied")
      assert.isString(denied.body.message)
      // The stranger is still signed in where no server is required.
      const me = yield* call(HttpClientRequest.get("/me").pipe(withToken(stranger.token)))
      assert.strictEqual(me.status, 200)
      const anonymous = yield* call(HttpClientRequest.get("/server"))
      assert.strictEqual(anonymous.status, 401)
    }))

  it.effect("plex.tv down: 503 with a body that says so and nothing about why; the next request succeeds", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const fresh = yield* fake.issueToken("friend@example.com")
      yield* fake.failNext(1, { status: 502, body: "upstream connect error" }, { path: "/api/v2/user" })
      const down = yield* call(HttpClientRequest.get("/me").pipe(withToken(fresh)))
      assert.strictEqual(down.status, 503)
      assert.deepStrictEqual(Object.keys(down.body).sort(), ["_tag", "message"])
      assert.strictEqual(down.body._tag, "PlexUnreachable")
      for (const detail of ["502", "upstream", "getTokenDetails", "StatusCode"]) assert.notInclude(down.text, detail)
      const after = yield* call(HttpClientRequest.get("/me").pipe(withToken(fresh)))
      assert.deepStrictEqual([after.status, after.body], [200, "friend"])
    }))

  it.effect("a cookie middleware: the cookie alone works; the header, when present, decides", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { owner } = yield* Seed
      const cookie = yield* call(HttpClientRequest.get("/cookie/me").pipe(withCookie(owner.token)))
      assert.deepStrictEqual([cookie.status, cookie.body], [200, "owner"])
      const header = yield* call(HttpClientRequest.get("/cookie/me").pipe(withToken(owner.token)))
      assert.strictEqual(header.status, 200)
      const both = yield* call(HttpClientRequest.get("/cookie/me").pipe(withToken(owner.token), withCookie("junk")))
      assert.strictEqual(both.status, 200)
      // A refused header is not rescued by a good cookie, and keeps its own reason.
      const badHeader = yield* call(
        HttpClientRequest.get("/cookie/me").pipe(withToken("refused-token"), withCookie(owner.token))
      )
      assert.deepStrictEqual([badHeader.status, badHeader.body.reason], [401, "InvalidToken"])
      const neither = yield* call(HttpClientRequest.get("/cookie/me"))
      assert.deepStrictEqual([neither.status, neither.body.reason], [401, "MissingToken"])
      // plex.tv down for the header's token: 503, not the cookie's verdict, and one call for it.
      const fresh = yield* fake.issueToken("owner@example.com")
      const before = yield* callsTo("/user")
      yield* fake.failNext(1, { status: 503 }, { path: "/api/v2/user" })
      const down = yield* call(HttpClientRequest.get("/cookie/me").pipe(withToken(fresh), withCookie(owner.token)))
      assert.strictEqual(down.status, 503)
      assert.strictEqual(yield* callsTo("/user"), before + 1)
    }))

  it.effect("the OpenAPI document shows the security schemes and the 401 / 403 / 503 answers with their bodies", () =>
    Effect.sync(() => {
      const doc = OpenApi.fromApi(Api)
      assert.deepStrictEqual(doc.components.securitySchemes.plexToken, {
        type: "apiKey",
        name: "X-Plex-Token",
        in: "header",
        description: "A Plex account token (or Plex JWT), as Plex's apps send it."
      })
      assert.deepInclude(doc.components.securitySchemes.plexCookie, {
        type: "apiKey",
        name: "plex_token",
        in: "cookie"
      })
      const me = doc.paths["/me"].get!
      assert.deepStrictEqual(me.security, [{ plexToken: [] }])
      assert.sameMembers(Object.keys(me.responses), ["200", "400", "401", "503"])
      const ref = (response: any) => response.content["application/json"].schema.$ref
      assert.strictEqual(ref(me.responses["401"]), "#/components/schemas/PlexAuth.Unauthenticated")
      assert.strictEqual(ref(me.responses["503"]), "#/components/schemas/PlexAuth.PlexUnreachable")
      const server = doc.paths["/server"].get!
      assert.sameMembers(Object.keys(server.responses), ["200", "400", "401", "403", "503"])
      assert.strictEqual(ref(server.responses["403"]), "#/components/schemas/PlexAuth.ServerAccessDenied")
      assert.deepStrictEqual(doc.paths["/cookie/me"].get!.security, [{ plexToken: [] }, { plexCookie: [] }])
      const unauthenticated = doc.components.schemas["PlexAuth.Unauthenticated"] as any
      assert.sameMembers(unauthenticated.required, ["_tag", "reason", "message"])
      assert.sameMembers(unauthenticated.properties.reason.enum, ["MissingToken", "InvalidToken", "ExpiredToken"])
      // Component names OpenAPI accepts (no slashes).
      for (const name of Object.keys(doc.components.schemas)) assert.match(name, /^[A-Za-z0-9._-]+$/)
      const pin = doc.paths["/auth/pin"].post!
      assert.sameMembers(Object.keys(pin.responses), ["201", "400", "503"])
      const check = doc.paths["/auth/pin/{id}"].get!
      assert.sameMembers(Object.keys(check.responses), ["200", "400", "404", "503"])
      assert.deepInclude(check.parameters.map((p: any) => [p.name, p.in]), ["x-plex-pin-code", "header"])
      assert.deepStrictEqual(pin.security, [])
    }))

  it.effect("HttpApiClient decodes the failures into the same tagged errors", () =>
    Effect.gen(function*() {
      const { owner } = yield* Seed
      const server = yield* HttpServer.HttpServer
      const baseUrl = HttpServer.formatAddress(server.address)
      const signedIn = yield* HttpApiClient.make(Api, {
        baseUrl,
        transformClient: HttpClient.mapRequest(withToken(owner.token))
      })
      assert.strictEqual(yield* signedIn.header.me(), "owner")
      const anonymous = yield* HttpApiClient.make(Api, { baseUrl })
      const error = yield* Effect.flip(anonymous.header.me())
      assert.instanceOf(error, PlexAuth.Unauthenticated)
      assert.strictEqual((error as PlexAuth.Unauthenticated).reason, "MissingToken")
    }))

  it.effect("PIN sign-in: create, wait, approve; the token is handed out once, with Cache-Control: no-store", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { friend } = yield* Seed
      const created = yield* call(HttpClientRequest.post("/auth/pin"))
      assert.strictEqual(created.status, 201)
      const { authUrl, code, id } = created.body
      assert.isNumber(id)
      // A strong code: the only thing standing between a PIN id and its token.
      assert.isAtLeast(code.length, 20)
      const url = new URL(authUrl)
      const params = new URLSearchParams(url.hash.slice(2))
      assert.strictEqual(`${url.origin}${url.pathname}`, "https://app.plex.tv/auth")
      assert.strictEqual(params.get("clientID"), "backend-under-test")
      assert.strictEqual(params.get("code"), code)
      assert.strictEqual(params.get("forwardUrl"), "https://app.example/signed-in")
      const check = (pinCode: string | undefined) =>
        call(
          pinCode === undefined
            ? HttpClientRequest.get(`/auth/pin/${id}`)
            : HttpClientRequest.get(`/auth/pin/${id}`).pipe(HttpClientRequest.setHeader("x-plex-pin-code", pinCode))
        )
      const waiting = yield* check(code)
      assert.strictEqual(waiting.status, 200)
      assert.strictEqual(waiting.body.state, "waiting")
      assert.notProperty(waiting.body, "token")
      assert.strictEqual(waiting.headers["cache-control"], "no-store")
      yield* fake.approvePin(id, friend.token)
      // The id alone, or with a wrong code, gets nothing.
      const wrong = yield* check("WRONGCODE")
      assert.deepStrictEqual([wrong.status, wrong.body._tag], [404, "PinNotFound"])
      assert.notInclude(wrong.text, friend.token)
      const noCode = yield* check(undefined)
      assert.strictEqual(noCode.status, 400)
      assert.notInclude(noCode.text, friend.token)
      // Concurrent checks: exactly one of them carries the token.
      const checks = yield* Effect.all(Array.from({ length: 10 }, () => check(code)), { concurrency: "unbounded" })
      const approved = checks.filter((c) => c.body.state === "approved")
      assert.strictEqual(approved.length, 1)
      assert.strictEqual(approved[0].body.token, friend.token)
      assert.strictEqual(approved[0].headers["cache-control"], "no-store")
      assert.isTrue(checks.every((c) => c.body.state === "approved" || c.body.state === "expired"))
      const again = yield* check(code)
      assert.deepStrictEqual(again.body, { state: "expired" })
      // The token works.
      const me = yield* call(HttpClientRequest.get("/me").pipe(withToken(friend.token)))
      assert.strictEqual(me.body, "friend")
    }))

  it.effect("PIN sign-in: an unknown or expired PIN reads expired; plex.tv down is 503", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const unknown = yield* call(
        HttpClientRequest.get("/auth/pin/987654321").pipe(HttpClientRequest.setHeader("x-plex-pin-code", "x"))
      )
      assert.deepStrictEqual([unknown.status, unknown.body], [200, { state: "expired" }])
      const bad = yield* call(
        HttpClientRequest.get("/auth/pin/not-a-number").pipe(HttpClientRequest.setHeader("x-plex-pin-code", "x"))
      )
      assert.strictEqual(bad.status, 400)
      yield* fake.failNext(1, { status: 503 }, { path: "/api/v2/pins" })
      const down = yield* call(HttpClientRequest.post("/auth/pin"))
      assert.deepStrictEqual([down.status, down.body._tag], [503, "PlexUnreachable"])
      const created = yield* call(HttpClientRequest.post("/auth/pin"))
      yield* fake.dropNext(1, { path: "/api/v2/pins" })
      const dropped = yield* call(
        HttpClientRequest.get(`/auth/pin/${created.body.id}`).pipe(
          HttpClientRequest.setHeader("x-plex-pin-code", created.body.code)
        )
      )
      assert.strictEqual(dropped.status, 503)
    }))
})
