/**
 * What the JWT operations send, recorded by the test client and compared with Plex's documented
 * examples (test/fixtures, from the official PMS OpenAPI): the PIN with a key, key registration,
 * the nonce → device JWT → token exchange of a refresh, and the device JWT itself (header and
 * claims, checked with jose against the device's public key). Plus the named predicates of the JWT
 * errors, and what is refused before anything is sent.
 */
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { PinLogin, PlexConfig, PlexError, PlexJwt, PlexPolicy, PlexToken } from "effect-plex"
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from "jose"
import {
  expectFailure,
  fixtureJson,
  makeTestClient,
  type RecordedRequest,
  reply,
  type Script
} from "../unit/helpers.js"
import { CLIENT, CLIENTS_URL, jwtLayer, makePlexKey, plexClaims, START } from "./support.js"

const sorted = (o: object) => Object.keys(o).sort()

const body = (request: RecordedRequest) => JSON.parse(request.body)

/** PinLogin and PlexJwt over one test client. */
const services = (script: Script) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(START)
    const client = makeTestClient(script)
    const pins = PinLogin.layer.pipe(
      Layer.provide(client.layer),
      Layer.provide(
        Layer.orDie(PlexConfig.layer({ clientIdentifier: CLIENT, product: "jwt tests", clientsUrl: CLIENTS_URL }))
      ),
      Layer.provide(PlexToken.none)
    )
    const context = yield* Layer.build(Layer.merge(pins, jwtLayer(client)))
    return {
      client,
      pins: context.unsafeMap.get(PinLogin.PinLogin.key) as PinLogin.Service,
      jwt: context.unsafeMap.get(PlexJwt.PlexJwt.key) as PlexJwt.Service
    }
  })

const pinBody = (authToken: string | null) => ({
  id: 1234,
  code: "abcdefghijklmnopqrstuvwxy",
  expiresIn: 1800,
  authToken
})

describe("PIN with a device key", () => {
  it.scoped("createPin({ jwk }) posts the public JWK and strong as JSON to clients.plex.tv, as the docs show", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* services(reply.json(201, pinBody(null)))
      const key = yield* PlexJwt.generateKey
      const pin = yield* pins.createPin({ jwk: key.publicJwk, strong: true })
      assert.strictEqual(pin.id, 1234)
      const sent = client.last()
      assert.strictEqual(sent.method, "POST")
      assert.strictEqual(sent.url, `${CLIENTS_URL}/pins`)
      assert.strictEqual(sent.headers["content-type"], "application/json")
      assert.strictEqual(sent.headers["x-plex-client-identifier"], CLIENT)
      const documented = fixtureJson("post-pins-jwk.request.official-docs.json")
      const json = body(sent)
      assert.deepStrictEqual(sorted(json), sorted(documented))
      assert.strictEqual(json.strong, true)
      // Every documented JWK member, plus `use` (as /auth/jwk's example and python-plexapi send).
      for (const member of Object.keys(documented.jwk)) assert.property(json.jwk, member)
      assert.deepStrictEqual(json.jwk, { ...key.publicJwk })
      assert.notProperty(json.jwk, "d")
    }))

  it.scoped("waiting checks GET {clientsUrl}/pins/{id}?deviceJWT=… with a fresh device JWT and yields the Plex JWT", () =>
    Effect.gen(function*() {
      const key = yield* PlexJwt.generateKey
      let checks = 0
      const { client, jwt, pins } = yield* services(() => {
        checks++
        return checks < 3 ? reply.json(200, pinBody(null)) : reply.json(200, pinBody("the-plex-jwt"))
      })
      const waiting = pins.waitForToken(1234, { deviceJwt: jwt.signDeviceJwt(key), interval: "1 second" })
      const fiber = yield* Effect.fork(waiting)
      yield* TestClock.adjust("5 seconds")
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token), "the-plex-jwt")
      assert.strictEqual(client.requests.length, 3)
      for (const sent of client.requests) {
        const url = new URL(sent.url)
        assert.strictEqual(`${url.origin}${url.pathname}`, `${CLIENTS_URL}/pins/1234`)
        const deviceJwt = url.searchParams.get("deviceJWT")!
        const header = decodeProtectedHeader(deviceJwt)
        assert.deepStrictEqual(sorted(header), sorted(fixtureJson("device-jwt.header.official-docs.json")))
        assert.deepStrictEqual(header, { alg: "EdDSA", kid: key.kid, typ: "JWT" })
        // The documented claims, without a nonce: a PIN check has none to sign.
        const documented = sorted(fixtureJson("device-jwt.payload.official-docs.json")).filter((k) => k !== "nonce")
        const { payload } = yield* Effect.promise(async () =>
          jwtVerify(deviceJwt, await importJWK(key.publicJwk, "EdDSA"), { currentDate: new Date(START + 5000) })
        )
        assert.deepStrictEqual(sorted(payload), documented)
        assert.strictEqual(payload.aud, "plex.tv")
        assert.strictEqual(payload.iss, CLIENT)
        assert.strictEqual(payload.exp! - payload.iat!, 300)
      }
      // A new device JWT per check, so it never outlives its 5 minutes.
      const jwts = new Set(client.requests.map((r) => new URL(r.url).searchParams.get("deviceJWT")))
      assert.strictEqual(jwts.size, 3)
    }))
})

/** A refresh's script: the documented nonce, then a Plex JWT the test's Plex key signs. */
const refreshScript =
  (plexKey: Effect.Effect.Success<ReturnType<typeof makePlexKey>>, token: string): Script => (request) =>
    request.url.endsWith("/auth/nonce")
      ? reply.json(200, fixtureJson("get-auth-nonce.2xx.official-docs.json"))
      : request.url.endsWith("/auth/token")
      ? reply.json(200, { auth_token: token })
      : request.url.endsWith("/auth/keys")
      ? reply.json(200, { keys: [plexKey.publicJwk] })
      : request.url.endsWith("/auth/jwk")
      ? reply.status(204)
      : reply.status(404)

describe("refresh and registerKey", () => {
  it.scoped("refresh: nonce, a device JWT signing it as the docs show, {\"jwt\"} to /auth/token, then verified credentials", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const key = yield* PlexJwt.generateKey
      const plex = yield* makePlexKey()
      const issued = yield* plex.sign(yield* plexClaims(key.kid))
      const { client, jwt } = yield* services(refreshScript(plex, issued))
      const stale = new PlexJwt.Credentials({
        clientIdentifier: CLIENT,
        key: key.privateJwk,
        kid: key.kid,
        token: Redacted.make("the-old-jwt"),
        expiresAt: DateTime.unsafeMake(START)
      })
      const fresh = yield* jwt.refresh(stale)
      assert.strictEqual(Redacted.value(fresh.token), issued)
      assert.strictEqual(fresh.expiresAt.epochMillis, START + 7 * 24 * 3600 * 1000)
      assert.strictEqual(fresh.kid, key.kid)
      assert.deepStrictEqual(Redacted.value(fresh.key), Redacted.value(key.privateJwk))

      const [nonce, exchange] = client.requests
      assert.strictEqual(nonce!.method, "GET")
      assert.strictEqual(nonce!.url, `${CLIENTS_URL}/auth/nonce`)
      assert.isUndefined(nonce!.headers["x-plex-token"])
      assert.strictEqual(exchange!.method, "POST")
      assert.strictEqual(exchange!.url, `${CLIENTS_URL}/auth/token`)
      assert.isUndefined(exchange!.headers["x-plex-token"])
      const sent = body(exchange!)
      assert.deepStrictEqual(sorted(sent), sorted(fixtureJson("post-auth-token.request.official-docs.json")))
      const deviceJwt: string = sent.jwt
      assert.deepStrictEqual(decodeProtectedHeader(deviceJwt), { alg: "EdDSA", kid: key.kid, typ: "JWT" })
      const claims = decodeJwt(deviceJwt)
      assert.deepStrictEqual(sorted(claims), sorted(fixtureJson("device-jwt.payload.official-docs.json")))
      assert.strictEqual(claims["nonce"], fixtureJson("get-auth-nonce.2xx.official-docs.json").nonce)
      assert.strictEqual(claims["scope"], "username,email,friendly_name,restricted,anonymous,joinedAt")
      assert.strictEqual(claims.aud, "plex.tv")
      assert.strictEqual(claims.iss, CLIENT)
      assert.strictEqual(claims.iat, START / 1000)
      assert.strictEqual(claims.exp, START / 1000 + 300)
      // Signed with the device key, as Plex will check.
      yield* Effect.promise(async () =>
        jwtVerify(deviceJwt, await importJWK(key.publicJwk, "EdDSA"), { currentDate: new Date(START) })
      )
    }))

  it.scoped("registerKey posts the public JWK with the existing token, as the docs show, then exchanges once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const key = yield* PlexJwt.generateKey
      const plex = yield* makePlexKey()
      const issued = yield* plex.sign(yield* plexClaims(key.kid))
      const { client, jwt } = yield* services(refreshScript(plex, issued))
      const credentials = yield* jwt.registerKey(key, { token: "legacy-token-0123" })
      assert.strictEqual(Redacted.value(credentials.token), issued)
      assert.strictEqual(credentials.clientIdentifier, CLIENT)
      const [register, ...rest] = client.requests
      assert.strictEqual(register!.method, "POST")
      assert.strictEqual(register!.url, `${CLIENTS_URL}/auth/jwk`)
      assert.strictEqual(register!.headers["x-plex-token"], "legacy-token-0123")
      const documented = fixtureJson("post-auth-jwk.request.official-docs.json")
      const sent = body(register!)
      assert.deepStrictEqual(sorted(sent), sorted(documented))
      assert.deepStrictEqual(sorted(sent.jwk), sorted(documented.jwk))
      assert.deepStrictEqual(sent.jwk, { ...key.publicJwk })
      assert.deepStrictEqual(rest.map((r) => new URL(r.url).pathname), [
        "/api/v2/auth/nonce",
        "/api/v2/auth/token",
        "/api/v2/auth/keys"
      ])
    }))

  it.scoped("refresh refuses credentials of another client identifier before sending anything", () =>
    Effect.gen(function*() {
      const key = yield* PlexJwt.generateKey
      const { client, jwt } = yield* services(reply.status(500))
      const error = yield* expectFailure(jwt.refresh(
        new PlexJwt.Credentials({
          clientIdentifier: "someone-else",
          key: key.privateJwk,
          kid: key.kid,
          token: Redacted.make("t"),
          expiresAt: DateTime.unsafeMake(0)
        })
      ))
      assert.isTrue(PlexError.isReason(error, "InvalidRequest"))
      assert.strictEqual(client.requests.length, 0)
    }))
})

describe("the JWT errors' predicates", () => {
  it.scoped("422 from the exchange is a rejected signature, 422 from /auth/jwk a taken thumbprint, 429 from the nonce its rate limit", () =>
    Effect.gen(function*() {
      const key = yield* PlexJwt.generateKey
      const status: Record<string, number> = { nonce: 200, token: 422, jwk: 422 }
      const { jwt, pins } = yield* services((request) => {
        const path = new URL(request.url).pathname
        if (path.endsWith("/auth/nonce")) {
          return status.nonce === 200
            ? reply.json(200, { nonce: "n-1" })
            : reply.json(429, { errors: [{ code: 1003, message: "rate", status: 429 }] }, { "retry-after": "7" })
        }
        if (path.endsWith("/pins")) return reply.json(422, { errors: [{ code: 1008, message: "taken", status: 422 }] })
        return reply.json(422, { errors: [{ code: 1008, message: "no", status: 422 }] })
      })
      const credentials = new PlexJwt.Credentials({
        clientIdentifier: CLIENT,
        key: key.privateJwk,
        kid: key.kid,
        token: Redacted.make("t"),
        expiresAt: DateTime.unsafeMake(0)
      })
      const rejected = yield* expectFailure(jwt.refresh(credentials))
      assert.isTrue(PlexError.isSignatureRejected(rejected))
      assert.isFalse(PlexError.isThumbprintTaken(rejected))
      assert.isFalse(PlexError.isNonceRateLimited(rejected))

      const taken = yield* expectFailure(jwt.registerKey(key, { token: "legacy" }))
      assert.isTrue(PlexError.isThumbprintTaken(taken))
      assert.isFalse(PlexError.isSignatureRejected(taken))
      const takenByPin = yield* expectFailure(pins.createPin({ jwk: key.publicJwk }))
      assert.isTrue(PlexError.isThumbprintTaken(takenByPin))

      status.nonce = 429
      const limited = yield* expectFailure(jwt.refresh(credentials))
      assert.isTrue(PlexError.isNonceRateLimited(limited))
      assert.isTrue(PlexError.isRateLimited(limited))
      assert.strictEqual((limited as PlexError.PlexSdkError).retryAfterMillis, 7000)
      assert.isFalse(PlexError.isSignatureRejected(limited))
    }).pipe(Effect.provide(PlexPolicy.layerNoRetries)))
})
