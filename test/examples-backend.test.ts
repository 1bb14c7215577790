/**
 * examples/backend.ts over real HTTP on loopback, with PlexFake on loopback: the browser's walk
 * (PIN sign-in, /me, /server, sign-out), and what the issue asks of a backend: a valid token is
 * 200, none or a revoked one 401 (and a revoked one does not reach plex.tv again for a while),
 * plex.tv failing is 503 with nothing cached from the outage, 1,000 concurrent requests with one new
 * token make one plex.tv call, and server access decides 403 or 200. (The TTL, on `TestClock`, is
 * in test/auth/cache.test.ts.)
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Console, Context, Effect, Layer } from "effect"
import { PlexFake } from "effect-plex/testing"
import * as Backend from "../examples/backend.js"

class Seeded extends Context.Tag("test/Seeded")<Seeded, Effect.Effect.Success<typeof Backend.seedFake>>() {}

const Live = Layer.unwrapEffect(
  Effect.map(Seeded, ({ provider }) => Backend.serve(0).pipe(Layer.provide(Layer.setConfigProvider(provider))))
).pipe(
  Layer.provideMerge(Layer.effect(Seeded, Backend.seedFake)),
  Layer.provideMerge(PlexFake.layerServer),
  Layer.provideMerge(FetchHttpClient.layer)
)

const baseUrl = Effect.map(HttpServer.HttpServer, (server) => HttpServer.formatAddress(server.address))

const get = (path: string, token?: string) =>
  Effect.gen(function*() {
    const request = HttpClientRequest.get(`${yield* baseUrl}${path}`)
    const response = yield* (yield* HttpClient.HttpClient).execute(
      token === undefined ? request : HttpClientRequest.setHeader(request, "x-plex-token", token)
    )
    const text = yield* response.text
    return { status: response.status, text, body: text === "" ? undefined : JSON.parse(text) }
  })

const userCalls = Effect.flatMap(
  PlexFake.PlexFake,
  (fake) => Effect.map(fake.requests, (requests) => requests.filter((r) => r.path === "/api/v2/user").length)
)

/** Console output of an effect, line by line. */
const captureConsole = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Console.consoleWith((current) => {
    const lines: Array<string> = []
    const log = (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
    return Effect.map(Effect.withConsole(self, { ...current, log, info: log, warn: log, error: log }), () => lines)
  })

layer(Live, { excludeTestServices: true })("examples/backend.ts", (it) => {
  it.effect(
    "the browser's walk: PIN sign-in, /me, /server, a request without a token, sign-out",
    () =>
      Effect.gen(function*() {
        const report = (yield* captureConsole(Backend.browserWalk(yield* baseUrl))).join("\n")
        assert.include(report, "created a PIN (201)")
        assert.include(report, "the PIN was approved")
        assert.include(report, "/me: ada, may use the server: true")
        assert.include(report, "/server: 200 Ada's Plex (owned: true)")
        assert.include(report, "/me without a token: 401 MissingToken")
        assert.include(report, "signed out: 204")
        const { ada } = yield* Seeded
        assert.notInclude(report, ada.token)
      }),
    20_000
  )

  it.effect("/health is public; /me: 200 with the user and never their token, 401 without a token", () =>
    Effect.gen(function*() {
      const { grace } = yield* Seeded
      assert.deepStrictEqual(yield* get("/health"), { status: 200, text: "\"ok\"", body: "ok" })
      const me = yield* get("/me", grace.token)
      assert.strictEqual(me.status, 200)
      assert.deepStrictEqual(me.body, {
        id: grace.id,
        uuid: grace.uuid,
        username: "grace",
        title: "grace",
        email: "grace@example.com",
        serverAccess: true
      })
      assert.notInclude(me.text, grace.token)
      const anonymous = yield* get("/me")
      assert.deepStrictEqual([anonymous.status, anonymous.body._tag, anonymous.body.reason], [
        401,
        "Unauthenticated",
        "MissingToken"
      ])
    }))

  it.effect("a revoked token: 401, and within the negative-cache time no further plex.tv call", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const token = yield* fake.issueToken("grace@example.com")
      assert.strictEqual((yield* get("/me", token)).status, 200)
      yield* fake.revokeToken(token)
      // Sign-out forgets it here; plex.tv then refuses it.
      const signOut = yield* (yield* HttpClient.HttpClient).execute(
        HttpClientRequest.post(`${yield* baseUrl}/signout`).pipe(HttpClientRequest.setHeader("x-plex-token", token))
      )
      assert.strictEqual(signOut.status, 204)
      const before = yield* userCalls
      const refused = yield* get("/me", token)
      assert.deepStrictEqual([refused.status, refused.body.reason], [401, "InvalidToken"])
      assert.strictEqual(yield* userCalls, before + 1)
      for (let i = 0; i < 20; i++) assert.strictEqual((yield* get("/me", token)).status, 401)
      assert.strictEqual(yield* userCalls, before + 1)
    }))

  it.effect(
    "plex.tv failing: 503, and the next request after recovery succeeds (nothing cached from the outage)",
    () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const token = yield* fake.issueToken("grace@example.com")
        // Every attempt the SDK's default policy makes (3) fails.
        yield* fake.failNext(3, { status: 503 }, { path: "/api/v2/user" })
        const down = yield* get("/me", token)
        assert.deepStrictEqual([down.status, down.body._tag], [503, "PlexUnreachable"])
        const back = yield* get("/me", token)
        assert.deepStrictEqual([back.status, back.body.username], [200, "grace"])
      }),
    20_000
  )

  it.effect(
    "1,000 concurrent requests with the same new token make exactly one GET /user",
    () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const token = yield* fake.issueToken("ada@example.com")
        const before = yield* userCalls
        // plex.tv answers slowly, so every request arrives while the first lookup is still out.
        yield* fake.delayNext(1, "1 second", { path: "/api/v2/user" })
        const results = yield* Effect.all(Array.from({ length: 1000 }, () => get("/me", token)), {
          concurrency: "unbounded"
        })
        assert.isTrue(results.every((r) => r.status === 200 && r.body.username === "ada"))
        assert.strictEqual(yield* userCalls, before + 1)
      }),
    30_000
  )

  it.effect("server access: a user without it gets 403 on /server and serverAccess false; a shared one 200", () =>
    Effect.gen(function*() {
      const { grace, mallory } = yield* Seeded
      const denied = yield* get("/server", mallory.token)
      assert.deepStrictEqual([denied.status, denied.body._tag], [403, "ServerAccessDenied"])
      const me = yield* get("/me", mallory.token)
      assert.deepStrictEqual([me.status, me.body.serverAccess], [200, false])
      const shared = yield* get("/server", grace.token)
      assert.deepStrictEqual([shared.status, shared.body], [200, { name: "Ada's Plex", owned: false }])
    }))
})
