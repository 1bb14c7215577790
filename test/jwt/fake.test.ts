/**
 * PlexFake's JWT area, in-process on the TestClock: what `/auth/keys`, `/auth/nonce`, `/auth/jwk`,
 * `/auth/token` and PINs with a key answer (raw HTTP where the SDK would never send the request),
 * key rotation, the nonce's 5-minute life, single use and rate limit, 498 for an expired JWT on
 * plex.tv, 401 for a JWT on the PMS, and reset.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Redacted, TestClock } from "effect"
import { Authentication, PinLogin, PlexError, PlexJwt, PlexPolicy, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { importJWK, SignJWT } from "jose"
import { expectFailure } from "../unit/helpers.js"
import { START } from "./support.js"

const CLIENT = "jwt-fake-client"
const API = `${PlexFake.inProcessOrigin}/api/v2`

const Sdk = Layer.mergeAll(PinLogin.layer, PlexJwt.layer, Authentication.layer).pipe(
  Layer.provide(PlexFake.layerConfig({ clientIdentifier: CLIENT })),
  Layer.provide(PlexToken.none),
  Layer.provide(PlexPolicy.layerNoRetries),
  Layer.provideMerge(PlexFake.layerClient)
)

const inFake = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(START)
    return yield* body
  }).pipe(Effect.provide(Sdk))

interface Answer {
  readonly status: number
  readonly json: any
  readonly headers: Readonly<Record<string, string>>
}

const answer = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(Effect.orDie(response.text), (text): Answer => ({
    status: response.status,
    json: text.startsWith("{") ? JSON.parse(text) : text,
    headers: response.headers
  }))

/** A raw request to the fake's plex.tv API, as `client` (JSON in and out). */
const call = (
  method: "GET" | "POST",
  path: string,
  options: { readonly body?: unknown; readonly token?: string; readonly client?: string } = {}
) =>
  Effect.flatMap(HttpClient.HttpClient, (http) => {
    let request = HttpClientRequest.make(method)(`${API}${path}`).pipe(
      HttpClientRequest.setHeader("x-plex-client-identifier", options.client ?? CLIENT),
      HttpClientRequest.acceptJson
    )
    if (options.token !== undefined) request = HttpClientRequest.setHeader(request, "x-plex-token", options.token)
    if (options.body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, options.body)
    return Effect.flatMap(Effect.orDie(http.execute(request)), answer)
  })

/** A device JWT signed with `key`, as a device would sign one for a refresh. */
const deviceJwt = (key: PlexJwt.DeviceKey, claims: Record<string, unknown>, iss = CLIENT) =>
  Effect.promise(async () =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
      .setIssuer(iss)
      .setAudience("plex.tv")
      .setIssuedAt(START / 1000)
      .setExpirationTime(START / 1000 + 3600)
      .sign(await importJWK(Redacted.value(key.privateJwk), "EdDSA"))
  )

/** An account, and a key registered for it under CLIENT. */
const registered = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
  const key = yield* PlexJwt.generateKey
  const registration = yield* call("POST", "/auth/jwk", { body: { jwk: key.publicJwk }, token: account.token })
  assert.strictEqual(registration.status, 201)
  return { fake, account, key }
})

describe("PlexFake: JWT device auth", () => {
  it.effect("/auth/keys publishes Ed25519 keys; rotating puts a new one first and keeps the old, unless retired", () =>
    inFake(Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const first = yield* call("GET", "/auth/keys")
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.json.keys.length, 1)
      const [key] = first.json.keys
      assert.deepStrictEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "use", "x"])
      assert.deepStrictEqual([key.kty, key.crv, key.alg, key.use], ["OKP", "Ed25519", "EdDSA", "sig"])
      const kid = yield* fake.rotateJwtKey()
      const rotated = yield* call("GET", "/auth/keys")
      assert.deepStrictEqual(rotated.json.keys.map((k: any) => k.kid), [kid, key.kid])
      const retired = yield* fake.rotateJwtKey({ retire: true })
      assert.deepStrictEqual((yield* call("GET", "/auth/keys")).json.keys.map((k: any) => k.kid), [retired])
    })))

  it.effect("a nonce is good once, for its client identifier, for 5 minutes", () =>
    inFake(Effect.gen(function*() {
      const { key } = yield* registered
      const exchange = (nonce: string, client = CLIENT) =>
        Effect.flatMap(deviceJwt(key, { nonce, scope: "username" }), (jwt) =>
          call("POST", "/auth/token", { body: { jwt }, client }))
      const nonce = (yield* call("GET", "/auth/nonce")).json.nonce
      assert.match(nonce, /^[0-9a-f-]{36}$/)
      const issued = yield* exchange(nonce)
      assert.strictEqual(issued.status, 200)
      assert.match(issued.json.auth_token, /^eyJ/)
      assert.strictEqual((yield* exchange(nonce)).status, 422)

      const late = (yield* call("GET", "/auth/nonce")).json.nonce
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual((yield* exchange(late)).status, 422)

      const unknown = yield* exchange("7c415b56-8f48-488a-98ab-847ef4460442")
      assert.strictEqual(unknown.status, 422)
      assert.strictEqual(unknown.json.errors[0].status, 422)
    })))

  it.effect("/auth/token refuses a device JWT of another client identifier, an unregistered key, or a bad signature", () =>
    inFake(Effect.gen(function*() {
      const { key } = yield* registered
      const stranger = yield* PlexJwt.generateKey
      const nonce = () => Effect.map(call("GET", "/auth/nonce"), (a) => a.json.nonce as string)
      const asOther = yield* deviceJwt(key, { nonce: yield* nonce() }, "someone-else")
      assert.strictEqual((yield* call("POST", "/auth/token", { body: { jwt: asOther } })).status, 422)
      const unregistered = yield* deviceJwt(stranger, { nonce: yield* nonce() })
      assert.strictEqual((yield* call("POST", "/auth/token", { body: { jwt: unregistered } })).status, 422)
      // The registered kid, signed by another key.
      const forged = yield* deviceJwt(
        new PlexJwt.DeviceKey({ kid: key.kid, publicJwk: key.publicJwk, privateJwk: stranger.privateJwk }),
        { nonce: yield* nonce() }
      )
      assert.strictEqual((yield* call("POST", "/auth/token", { body: { jwt: forged } })).status, 422)
      assert.strictEqual((yield* call("POST", "/auth/token", { body: {} })).status, 400)
    })))

  it.effect("nonces are rate limited per client identifier, with Retry-After; the SDK names it", () =>
    inFake(Effect.gen(function*() {
      const { account, fake, key } = yield* registered
      yield* fake.setNonceRateLimit(2, "1 minute")
      assert.strictEqual((yield* call("GET", "/auth/nonce")).status, 200)
      assert.strictEqual((yield* call("GET", "/auth/nonce")).status, 200)
      const limited = yield* call("GET", "/auth/nonce")
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers["retry-after"], "60")
      assert.strictEqual((yield* call("GET", "/auth/nonce", { client: "another" })).status, 200)

      const credentials = new PlexJwt.Credentials({
        clientIdentifier: CLIENT,
        key: key.privateJwk,
        kid: key.kid,
        token: Redacted.make(account.token),
        expiresAt: DateTime.unsafeMake(START)
      })
      const error = yield* expectFailure(PlexJwt.refresh(credentials))
      assert.isTrue(PlexError.isNonceRateLimited(error))
      yield* TestClock.adjust("61 seconds")
      yield* PlexJwt.refresh(credentials)
    })))

  it.effect("/auth/jwk needs a valid token and an Ed25519 JWK, and refuses a key another device registered", () =>
    inFake(Effect.gen(function*() {
      const { account, key } = yield* registered
      assert.strictEqual((yield* call("POST", "/auth/jwk", { body: { jwk: key.publicJwk } })).status, 401)
      const bad = yield* call("POST", "/auth/jwk", { body: { jwk: { kty: "RSA" } }, token: account.token })
      assert.strictEqual(bad.status, 400)
      const taken = yield* call("POST", "/auth/jwk", {
        body: { jwk: key.publicJwk },
        token: account.token,
        client: "another-device"
      })
      assert.strictEqual(taken.status, 422)
      assert.match(taken.json.errors[0].message, /already registered/)
      // The same device may register it again.
      assert.strictEqual(
        (yield* call("POST", "/auth/jwk", { body: { jwk: key.publicJwk }, token: account.token })).status,
        201
      )
    })))

  it.effect("a PIN with a key needs a device JWT signed by that key, and yields a JWT, never the approver's token", () =>
    inFake(Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw" })
      const key = yield* PlexJwt.generateKey
      const other = yield* PlexJwt.generateKey
      const pin = yield* PinLogin.createPin({ jwk: key.publicJwk })
      yield* fake.approvePin(pin.id, account.token)
      const jwt = yield* PlexJwt.PlexJwt

      const bare = yield* call("GET", `/pins/${pin.id}`)
      assert.strictEqual(bare.status, 400)
      const wrongKey = yield* expectFailure(
        PinLogin.waitForToken(pin, { deviceJwt: jwt.signDeviceJwt(other) })
      )
      assert.isTrue(PlexError.isSignatureRejected(wrongKey))

      const token = yield* PinLogin.waitForToken(pin, { deviceJwt: jwt.signDeviceJwt(key) })
      assert.notStrictEqual(Redacted.value(token), account.token)
      const claims = yield* PlexJwt.verify(token, key)
      assert.strictEqual(claims.user.id, account.id)
      // Asked again, the PIN answers the same JWT; and the key is now registered for CLIENT.
      assert.strictEqual(
        Redacted.value(yield* PinLogin.waitForToken(pin, { deviceJwt: jwt.signDeviceJwt(key) })),
        Redacted.value(token)
      )
      const elsewhere = yield* expectFailure(
        PinLogin.createPin({ jwk: key.publicJwk }).pipe(
          Effect.provide(PinLogin.layer.pipe(
            Layer.provide(PlexFake.layerConfig({ clientIdentifier: "another-device" })),
            Layer.provide(PlexToken.none)
          ))
        )
      )
      assert.isTrue(PlexError.isThumbprintTaken(elsewhere))
    })))

  it.effect("an expired JWT gets 498 from plex.tv (on the fake's clock); a valid one 401 from the PMS", () =>
    inFake(Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.setJwtLifetime("10 minutes")
      const { key } = yield* registered
      const credentials = yield* PlexJwt.refresh(
        new PlexJwt.Credentials({
          clientIdentifier: CLIENT,
          key: key.privateJwk,
          kid: key.kid,
          token: Redacted.make("unused"),
          expiresAt: DateTime.unsafeMake(START)
        })
      )
      assert.strictEqual(credentials.expiresAt.epochMillis, START + 10 * 60 * 1000)
      const jwt = Redacted.value(credentials.token)
      assert.strictEqual((yield* call("GET", "/user", { token: jwt })).status, 200)
      const pms = yield* Effect.flatMap(HttpClient.HttpClient, (http) =>
        Effect.flatMap(
          Effect.orDie(http.execute(
            HttpClientRequest.post(`${PlexFake.inProcessOrigin}/security/token?type=delegation&scope=all`).pipe(
              HttpClientRequest.setHeader("x-plex-token", jwt)
            )
          )),
          answer
        ))
      assert.strictEqual(pms.status, 401)

      yield* TestClock.adjust("10 minutes")
      const expired = yield* call("GET", "/user", { token: jwt })
      assert.strictEqual(expired.status, 498)
      assert.strictEqual(expired.json.errors[0].status, 498)
      assert.strictEqual((yield* call("GET", "/ping", { token: jwt })).status, 498)
      const error = yield* expectFailure(Authentication.getTokenDetails({ token: credentials.token }))
      assert.isTrue(PlexError.isTokenExpired(error))
    })))

  it.effect("reset forgets keys, devices and nonces", () =>
    inFake(Effect.gen(function*() {
      const { account, fake, key } = yield* registered
      const before = (yield* call("GET", "/auth/keys")).json.keys[0].kid
      yield* fake.reset
      const after = (yield* call("GET", "/auth/keys")).json.keys[0].kid
      assert.notStrictEqual(after, before)
      const again = yield* fake.addAccount({ login: "ada@example.com", password: "pw", token: account.token })
      // The key is free again: another device may register it.
      const registration = yield* call("POST", "/auth/jwk", {
        body: { jwk: key.publicJwk },
        token: again.token,
        client: "another-device"
      })
      assert.strictEqual(registration.status, 201)
    })))
})
