import { HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream, TestClock } from "effect"
import * as PlexFake from "../src/testing/PlexFake.js"

// In-process mode: the fake runs inside the calling fiber through the HttpClient of
// `PlexFake.layerClient`, so `it.effect`'s TestClock drives PIN expiry, auto-approval and delays.
// No layer() here: each test provides a fresh fake.

const CLIENT = "inprocess-client"
const identity = {
  accept: "application/json",
  "x-plex-client-identifier": CLIENT,
  "x-plex-product": "PlexFake tests"
}

const plexTv = `${PlexFake.inProcessOrigin}/api/v2`

const json = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const body = response.status === 204 ? null : yield* response.json
    return { status: response.status, body: body as any, headers: response.headers }
  })

const createPin = (strong: boolean) =>
  json(HttpClientRequest.post(`${plexTv}/pins`, { headers: identity, urlParams: strong ? { strong: "true" } : {} }))

const pollPin = (id: number) => json(HttpClientRequest.get(`${plexTv}/pins/${id}`, { headers: identity }))

describe("PlexFake in-process (layerClient)", () => {
  it.effect("exposes the in-process origin as the fake's URLs", () =>
    Effect.gen(function*() {
      const urls = yield* PlexFake.PlexFakeServer
      expect(urls).toEqual({
        url: "http://plex.fake",
        plexTvUrl: "http://plex.fake/api/v2",
        serverUrl: "http://plex.fake"
      })
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("signs in with a form body (201) and validates the token", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({ login: "alice", password: "pw" })
      const signIn = yield* json(
        HttpClientRequest.post(`${plexTv}/users/signin`, { headers: identity }).pipe(
          HttpClientRequest.bodyUrlParams({ login: "alice", password: "pw", rememberMe: "false" })
        )
      )
      expect(signIn.status).toBe(201)
      expect(signIn.body.authToken).toBe(account.token)
      const [recorded] = yield* fake.requests
      expect(recorded?.form).toEqual({ login: "alice", password: "pw", rememberMe: "false" })
      const user = yield* json(
        HttpClientRequest.get(`${plexTv}/user`, { headers: { ...identity, "x-plex-token": account.token } })
      )
      expect(user.status).toBe(200)
      expect(user.body.username).toBe("alice")
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("a 4-char PIN expires after 900 s of TestClock time (404 1020), counting expiresIn down", () =>
    Effect.gen(function*() {
      const created = yield* createPin(false)
      expect(created.status).toBe(201)
      expect(created.body.expiresIn).toBe(900)
      expect(created.body.createdAt).toBe("1970-01-01T00:00:00Z")
      expect(created.body.expiresAt).toBe("1970-01-01T00:15:00Z")
      yield* TestClock.adjust("600 seconds")
      const live = yield* pollPin(created.body.id)
      expect(live.status).toBe(200)
      expect(live.body.expiresIn).toBe(300)
      yield* TestClock.adjust("300 seconds")
      const expired = yield* pollPin(created.body.id)
      expect(expired.status).toBe(404)
      expect(expired.body).toEqual({ errors: [{ code: 1020, message: "Code not found or expired", status: 404 }] })
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("a strong PIN lives 1800 s", () =>
    Effect.gen(function*() {
      const created = yield* createPin(true)
      yield* TestClock.adjust("1799 seconds")
      expect((yield* pollPin(created.body.id)).status).toBe(200)
      yield* TestClock.adjust("1 second")
      expect((yield* pollPin(created.body.id)).status).toBe(404)
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("linking an expired PIN is a 404 1020; approvePin fails for it", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({ login: "bob", password: "pw" })
      const created = yield* createPin(false)
      yield* TestClock.adjust("901 seconds")
      const link = yield* json(
        HttpClientRequest.put(`${plexTv}/pins/link`, { headers: { ...identity, "x-plex-token": account.token } }).pipe(
          HttpClientRequest.bodyUrlParams({ code: created.body.code })
        )
      )
      expect(link.status).toBe(404)
      expect(link.body.errors[0].code).toBe(1020)
      const error = yield* Effect.flip(fake.approvePin(created.body.id, account.token))
      expect(error._tag).toBe("PlexFakeError")
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("autoApprovePins approves once `after` has passed since creation (first account by default)", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const first = yield* fake.addAccount({ login: "carol", password: "pw" })
      yield* fake.addAccount({ login: "dave", password: "pw" })
      yield* fake.autoApprovePins("5 seconds")
      const created = yield* createPin(false)
      yield* TestClock.adjust("4 seconds")
      expect((yield* pollPin(created.body.id)).body.authToken).toBeNull()
      yield* TestClock.adjust("1 second")
      const approved = yield* pollPin(created.body.id)
      expect(approved.body.authToken).toBe(first.token)
      expect(approved.body.newRegistration).toBe(false)
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("delayNext sleeps on the TestClock", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.delayNext(1, "30 seconds")
      const fiber = yield* Effect.fork(json(HttpClientRequest.get(`${plexTv}/ping`, { headers: identity })))
      yield* TestClock.adjust("29 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.status).toBe(401)
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("dropNext fails the request with a Transport RequestError", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const client = yield* HttpClient.HttpClient
      yield* fake.dropNext(1)
      const error = yield* Effect.flip(client.get(`${plexTv}/ping`, { headers: identity }))
      assert(HttpClientError.isHttpClientError(error))
      assert(error._tag === "RequestError")
      expect(error.reason).toBe("Transport")
      const next = yield* client.get(`${plexTv}/ping`, { headers: identity })
      expect(next.status).toBe(401)
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("refuses any origin other than http://plex.fake without touching the network", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get("https://plex.tv/api/v2/user", { headers: identity }))
      assert(error._tag === "RequestError")
      expect(error.reason).toBe("Transport")
      expect(error.description).toContain("http://plex.fake")
      expect(yield* fake.requests).toEqual([])
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("failNext with Retry-After and the PMS routes work in-process", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({ login: "erin", password: "pw" })
      const client = yield* HttpClient.HttpClient
      yield* fake.failNext(1, { status: 429, retryAfter: 7 }, { path: "/security" })
      const request = HttpClientRequest.post(`${PlexFake.inProcessOrigin}/security/token`, {
        headers: { accept: "application/json", "x-plex-token": account.token },
        urlParams: { type: "delegation", scope: "all" }
      })
      const limited = yield* client.execute(request)
      expect(limited.status).toBe(429)
      expect(limited.headers["retry-after"]).toBe("7")
      expect(yield* limited.json).toEqual({ errors: [{ code: 1003, message: "API rate limit exceeded", status: 429 }] })
      const ok = yield* client.execute(request)
      expect(ok.status).toBe(200)
      const body = (yield* ok.json) as { MediaContainer: { token: string } }
      expect(body.MediaContainer.token).toMatch(/^transient-/)
      const unauthorized = yield* client.execute(HttpClientRequest.setHeader(request, "x-plex-token", "bogus"))
      expect(unauthorized.status).toBe(401)
      expect(unauthorized.headers["content-type"]).toBe("text/html")
      expect(yield* unauthorized.text).toBe(
        "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
      )
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("corrupted bodies reach the client as such (truncated, chunked oversized)", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({ login: "frank", password: "pw" })
      const client = yield* HttpClient.HttpClient
      const get = client.get(`${plexTv}/user`, { headers: { ...identity, "x-plex-token": account.token } })
      const full = yield* Effect.flatMap(get, (r) => r.text)
      yield* fake.corruptNext(1, "truncated")
      const truncated = yield* get
      const text = yield* truncated.text
      expect(text.length).toBe(Math.floor(full.length / 2))
      expect(truncated.headers["content-length"]).toBe(String(text.length))
      yield* fake.corruptNext(1, { _tag: "oversized", bytes: 200_000, chunked: true })
      const oversized = yield* get
      expect(oversized.headers["content-length"]).toBeUndefined()
      let total = 0
      yield* Stream.runForEach(oversized.stream, (chunk) => Effect.sync(() => (total += chunk.length)))
      expect(total).toBe(200_000)
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("a PIN created by one fake is unknown to another (each layer build is fresh)", () =>
    Effect.gen(function*() {
      const created = yield* createPin(false).pipe(Effect.provide(PlexFake.layerClient))
      const polled = yield* pollPin(created.body.id).pipe(Effect.provide(PlexFake.layerClient))
      expect(polled.status).toBe(404)
    }))
})
