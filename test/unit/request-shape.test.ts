import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { PlexConfig } from "../../src/index.js"
import { Authentication, PlexToken } from "../../src/index.js"
import {
  authLayer,
  baseConfig,
  fixture,
  makeTestClient,
  pathAndQuery,
  queryOf,
  reply,
  SERVER_URL,
  setup,
  TOKEN
} from "./helpers.js"

const fullConfig: PlexConfig.Options = {
  clientIdentifier: "cid-7f3a",
  product: "Effect Plex Tests",
  version: "1.2.3",
  platform: "Node.js",
  platformVersion: "20.19",
  device: "Linux",
  deviceName: "unit runner",
  model: "vitest",
  deviceVendor: "Effect",
  marketplace: "googlePlay",
  serverUrl: SERVER_URL
}

const identityHeaders = {
  "x-plex-client-identifier": "cid-7f3a",
  "x-plex-product": "Effect Plex Tests",
  "x-plex-version": "1.2.3",
  "x-plex-platform": "Node.js",
  "x-plex-platform-version": "20.19",
  "x-plex-device": "Linux",
  "x-plex-device-name": "unit runner",
  "x-plex-model": "vitest",
  "x-plex-device-vendor": "Effect",
  "x-plex-marketplace": "googlePlay"
}

const xPlexHeaders = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("x-plex-")))

const user = reply.fixture(200, "get-token-details.200.spec-example.json")
const transient = reply.fixture(200, "get-transient-token.200.json")
const source = reply.fixture(200, "get-source-connection-information.200.json")
const signedIn = reply.fixture(201, "post-users-sign-in-data.201.spec-example.json")

describe("request shape", () => {
  it.effect("getTokenDetails: GET {plexTvUrl}/user with the default plex.tv base and every identity header", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(user, { config: fullConfig })
      yield* auth.getTokenDetails()
      assert.strictEqual(client.requests.length, 1)
      const request = client.last()
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url, "https://plex.tv/api/v2/user")
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.deepStrictEqual(xPlexHeaders(request.headers), { ...identityHeaders, "x-plex-token": TOKEN })
      assert.strictEqual(request.body, "")
    }))

  it.effect("getTransientToken: POST {serverUrl}/security/token?type=delegation&scope=all", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(transient, { config: fullConfig })
      yield* auth.getTransientToken()
      const request = client.last()
      // POST with no body: the only verb the current spec declares ("POST is preferred").
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.body, "")
      assert.isUndefined(request.headers["content-type"])
      assert.strictEqual(request.url, `${SERVER_URL}/security/token?type=delegation&scope=all`)
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.deepStrictEqual(xPlexHeaders(request.headers), { ...identityHeaders, "x-plex-token": TOKEN })
      // Explicit defaults give the same request.
      yield* auth.getTransientToken({ type: "delegation", scope: "all" })
      assert.strictEqual(client.last().url, request.url)
    }))

  it.effect("getSourceConnectionInformation: GET /security/resources with an encoded source and refresh=1", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(source, { config: fullConfig })
      yield* auth.getSourceConnectionInformation({ source: "server://243b471948ace337" })
      const plain = client.last()
      assert.strictEqual(plain.method, "GET")
      assert.strictEqual(plain.url, `${SERVER_URL}/security/resources?source=server%3A%2F%2F243b471948ace337`)
      assert.deepStrictEqual(xPlexHeaders(plain.headers), { ...identityHeaders, "x-plex-token": TOKEN })
      assert.strictEqual(plain.headers["accept"], "application/json")

      yield* auth.getSourceConnectionInformation({ source: "provider://tv.plex.provider.epg", refresh: true })
      assert.strictEqual(
        pathAndQuery(client.last().url),
        "/security/resources?source=provider%3A%2F%2Ftv.plex.provider.epg&refresh=1"
      )
      assert.deepStrictEqual(queryOf(client.last().url), [["source", "provider://tv.plex.provider.epg"], [
        "refresh",
        "1"
      ]])

      yield* auth.getSourceConnectionInformation({ source: "server://abc", refresh: false })
      assert.notInclude(client.last().url, "refresh=1")
    }))

  it.effect("postUsersSignInData: POST {plexTvUrl}/users/signin, form body, no token header", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(signedIn, { config: fullConfig })
      yield* auth.postUsersSignInData({ login: "someone@example.com", password: "p4ss word&=" })
      const request = client.last()
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.url, "https://plex.tv/api/v2/users/signin")
      assert.strictEqual(request.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(request.headers["accept"], "application/json")
      // The identity headers go along; the configured token does not.
      assert.deepStrictEqual(xPlexHeaders(request.headers), identityHeaders)
      assert.isUndefined(request.headers["x-plex-token"])
      assert.deepStrictEqual([...new URLSearchParams(request.body)], [
        ["login", "someone@example.com"],
        ["password", "p4ss word&="],
        ["rememberMe", "false"]
      ])
    }))

  it.effect("postUsersSignInData: the body matches the reference wire example byte for byte", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(signedIn)
      yield* auth.postUsersSignInData({
        login: "username@email.com",
        password: "password123",
        verificationCode: "123456"
      })
      assert.strictEqual(client.last().body, fixture("post-users-sign-in-data.request.form-urlencoded.txt").trim())
    }))

  it.effect("postUsersSignInData: rememberMe true and a Redacted verificationCode are sent", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(signedIn)
      yield* auth.postUsersSignInData({
        login: "u",
        password: Redacted.make("pw"),
        rememberMe: true,
        verificationCode: Redacted.make("654321")
      })
      assert.deepStrictEqual([...new URLSearchParams(client.last().body)], [
        ["login", "u"],
        ["password", "pw"],
        ["rememberMe", "true"],
        ["verificationCode", "654321"]
      ])
    }))

  it.effect("postUsersSignInData is accepted on 201 and on 200", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup([signedIn, reply.fixture(200, "post-users-sign-in-data.201.spec-example.json")])
      const first = yield* auth.postUsersSignInData({ login: "u", password: "p" })
      const second = yield* auth.postUsersSignInData({ login: "u", password: "p" })
      assert.strictEqual(first.id, 13692262)
      assert.strictEqual(second.id, 13692262)
    }))

  it.effect("postUsersSignInData works with no token source at all", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(signedIn, { token: null })
      yield* auth.postUsersSignInData({ login: "u", password: "p" })
      assert.strictEqual(client.requests.length, 1)
      assert.isUndefined(client.last().headers["x-plex-token"])
    }))

  it.effect("the token travels only as a header, never in a URL", () =>
    Effect.gen(function*() {
      const client = makeTestClient((request) =>
        request.url.includes("/security/token")
          ? transient
          : request.url.includes("/security/resources")
          ? source
          : request.url.endsWith("/users/signin")
          ? signedIn
          : user
      )
      const program = Effect.gen(function*() {
        yield* Authentication.getTokenDetails()
        yield* Authentication.getTransientToken()
        yield* Authentication.getSourceConnectionInformation({ source: "server://abc", refresh: true })
        yield* Authentication.postUsersSignInData({ login: "u", password: "p" })
      })
      yield* Effect.provide(program, authLayer(client))
      assert.strictEqual(client.requests.length, 4)
      for (const request of client.requests) {
        assert.notInclude(request.url, TOKEN)
        assert.notInclude(request.url.toLowerCase(), "x-plex-token")
        assert.notInclude(request.body, TOKEN)
      }
      assert.deepStrictEqual(client.requests.map((r) => r.headers["x-plex-token"]), [TOKEN, TOKEN, TOKEN, undefined])
    }))

  it.effect("options.serverUrl and options.token override the configuration for one call", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup((request) =>
        request.url.includes("/security/token") ? transient : request.url.includes("/resources") ? source : user
      )
      const other = Redacted.make("tok-override-1")
      yield* auth.getTransientToken(undefined, { serverUrl: "http://127.0.0.1:40000/", token: other })
      assert.strictEqual(client.last().url, "http://127.0.0.1:40000/security/token?type=delegation&scope=all")
      assert.strictEqual(client.last().headers["x-plex-token"], "tok-override-1")

      yield* auth.getSourceConnectionInformation({ source: "server://abc" }, { serverUrl: "http://127.0.0.1:40001" })
      assert.strictEqual(pathAndQuery(client.last().url), "/security/resources?source=server%3A%2F%2Fabc")
      assert.strictEqual(new URL(client.last().url).origin, "http://127.0.0.1:40001")
      assert.strictEqual(client.last().headers["x-plex-token"], TOKEN)

      // For plex.tv operations serverUrl replaces the API base, path included.
      yield* auth.getTokenDetails({ serverUrl: "http://127.0.0.1:40002/api/v2", token: other })
      assert.strictEqual(client.last().url, "http://127.0.0.1:40002/api/v2/user")
      assert.strictEqual(client.last().headers["x-plex-token"], "tok-override-1")

      // The override lasts one call.
      yield* auth.getTokenDetails()
      assert.strictEqual(client.last().url, "https://plex.tv/api/v2/user")
      assert.strictEqual(client.last().headers["x-plex-token"], TOKEN)
    }))

  it.effect("sign-in honours options.serverUrl and ignores options.token", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(signedIn)
      yield* auth.postUsersSignInData(
        { login: "u", password: "p" },
        { serverUrl: "http://127.0.0.1:40003/api/v2", token: Redacted.make("tok-should-not-go") }
      )
      assert.strictEqual(client.last().url, "http://127.0.0.1:40003/api/v2/users/signin")
      assert.isUndefined(client.last().headers["x-plex-token"])
    }))

  it.effect("a configured plexTvUrl (trailing slash or not) replaces the default base", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(user, {
        config: { ...baseConfig, plexTvUrl: "http://127.0.0.1:41000/api/v2/" }
      })
      yield* auth.getTokenDetails()
      assert.strictEqual(client.last().url, "http://127.0.0.1:41000/api/v2/user")
    }))

  it.effect("a minimal config sends only accept and the client identifier (no empty identity headers)", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(user, {
        config: { clientIdentifier: "only-id", product: "", serverUrl: SERVER_URL }
      })
      yield* auth.getTokenDetails()
      const headers = client.last().headers
      assert.deepStrictEqual(xPlexHeaders(headers), { "x-plex-client-identifier": "only-id", "x-plex-token": TOKEN })
      assert.strictEqual(headers["accept"], "application/json")
    }))

  it.effect("the accessors use the Authentication in context", () =>
    Effect.gen(function*() {
      const client = makeTestClient(user)
      const result = yield* Authentication.getTokenDetails().pipe(
        Effect.provide(authLayer(client, { token: PlexToken.layer(Redacted.make("tok-from-layer")) }))
      )
      assert.strictEqual(result.username, "Username")
      assert.strictEqual(client.last().headers["x-plex-token"], "tok-from-layer")
    }))
})
