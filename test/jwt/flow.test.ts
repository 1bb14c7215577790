/**
 * JWT device auth end to end, over real HTTP on 127.0.0.1 against PlexFake, on the TestClock (the
 * fake's clock too: it runs in the test's fibers), so days pass in an instant:
 * key → PIN with the public JWK → approved → Plex JWT → verified → getTokenDetails works with it →
 * time passes → refreshed without the caller noticing. Then what `PlexToken.layerJwt` promises:
 * single flight (counted at the fake), a failed refresh failing its callers and the next caller
 * trying again, a still-valid JWT surviving a failed refresh, 498 → one refresh and one retry,
 * replicas sharing a store, and what `registerKey` does to the legacy token.
 */
import { FetchHttpClient, KeyValueStore } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { Authentication, PinLogin, PlexError, PlexJwt, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { expectFailure } from "../unit/helpers.js"
import { START } from "./support.js"

const CLIENT = "jwt-flow-client"
const STORE_KEY = "plex/main"

const config = PlexFake.layerConfig({ clientIdentifier: CLIENT })

/** PinLogin and PlexJwt, for signing in. */
const SignIn = Layer.mergeAll(PinLogin.layer, PlexJwt.layer).pipe(
  Layer.provide(config),
  Layer.provide(FetchHttpClient.layer)
)

/** One "process" of a service: Authentication signed in by layerJwt over `store`. */
const processOn = (store: KeyValueStore.KeyValueStore, options?: Partial<PlexToken.JwtOptions>) =>
  Authentication.layer.pipe(
    Layer.provide(PlexToken.layerJwt({ key: STORE_KEY, ...options })),
    Layer.provide(PlexJwt.layer),
    Layer.provide(Layer.succeed(KeyValueStore.KeyValueStore, store)),
    Layer.provide(config),
    Layer.provide(FetchHttpClient.layer)
  )

const count = (fake: PlexFake.Service, path: string) =>
  Effect.map(fake.requests, (requests) => requests.filter((r) => r.path === `/api/v2${path}`).length)

const tokensSent = (fake: PlexFake.Service, path: string) =>
  Effect.map(
    fake.requests,
    (requests) => requests.filter((r) => r.path === `/api/v2${path}`).map((r) => r.headers["x-plex-token"])
  )

/** An account, and credentials from a PIN created with a fresh key and approved for it. */
const signedIn = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
  const key = yield* PlexJwt.generateKey
  const pin = yield* PinLogin.createPin({ jwk: key.publicJwk, strong: true })
  yield* fake.approvePin(pin.id, account.token)
  const credentials = yield* PlexJwt.waitForCredentials(pin, key)
  return { fake, account, key, credentials }
})

/** Runs `body` with the fake on loopback and the clock at 2026-01-01. */
const onFake = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(START)
    return yield* body
  }).pipe(Effect.provide(SignIn), Effect.provide(PlexFake.layerServer))

const memoryStore = Effect.provide(KeyValueStore.KeyValueStore, KeyValueStore.layerMemory)

describe("JWT device auth against PlexFake over loopback", () => {
  it.scoped("key → PIN with JWK → approved → JWT → verified → getTokenDetails → days pass → refreshed unnoticed", () =>
    onFake(Effect.gen(function*() {
      const { account, credentials, fake, key } = yield* signedIn
      assert.strictEqual(credentials.kid, key.kid)
      assert.strictEqual(credentials.clientIdentifier, CLIENT)
      assert.strictEqual(credentials.expiresAt.epochMillis, START + 7 * 24 * 3600 * 1000)

      const claims = yield* PlexJwt.verify(credentials.token, credentials)
      assert.strictEqual(claims.user.id, account.id)
      assert.strictEqual(claims.user.uuid, account.uuid)
      assert.strictEqual(claims.user.username, "ada")
      assert.strictEqual(claims.thumbprint, key.kid)

      const store = yield* memoryStore
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, credentials), KeyValueStore.KeyValueStore, store)
      const service = yield* Layer.build(processOn(store))
      const whoAmI = Effect.provide(Authentication.getTokenDetails(), service)

      assert.strictEqual((yield* whoAmI).username, "ada")
      assert.strictEqual(yield* count(fake, "/auth/token"), 0)

      // Six days and a bit later, within a day of expiry: the next call refreshes first.
      yield* TestClock.adjust("6 days")
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* whoAmI).username, "ada")
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      const sent = yield* tokensSent(fake, "/user")
      assert.strictEqual(sent[0], Redacted.value(credentials.token))
      assert.notStrictEqual(sent[1], sent[0])
      const stored = yield* Effect.provideService(
        PlexJwt.loadCredentials(STORE_KEY),
        KeyValueStore.KeyValueStore,
        store
      )
      assert.strictEqual(Redacted.value(Option.getOrThrow(stored).token), sent[1])

      // Long after expiry, still unnoticed: "refreshed at any time, including after expiration".
      yield* TestClock.adjust("30 days")
      assert.strictEqual((yield* whoAmI).username, "ada")
      assert.strictEqual(yield* count(fake, "/auth/token"), 2)
      assert.strictEqual(yield* count(fake, "/auth/nonce"), 2)
    })))

  it.scoped("single flight: 100 concurrent calls on a stale JWT make exactly one /auth/token, and all use its JWT", () =>
    onFake(Effect.gen(function*() {
      const { credentials, fake } = yield* signedIn
      const store = yield* memoryStore
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, credentials), KeyValueStore.KeyValueStore, store)
      const service = yield* Layer.build(processOn(store))
      yield* TestClock.adjust("156 hours")
      yield* fake.clearRequests
      const users = yield* Effect.all(
        Array.from({ length: 100 }, () => Effect.provide(Authentication.getTokenDetails(), service)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(users.length, 100)
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      assert.strictEqual(yield* count(fake, "/auth/nonce"), 1)
      const sent = new Set(yield* tokensSent(fake, "/user"))
      assert.strictEqual(sent.size, 1)
      assert.isFalse(sent.has(Redacted.value(credentials.token)))
    })))

  it.scoped("a failed refresh of an expired JWT fails its 100 callers with the typed error; the next caller tries again", () =>
    onFake(Effect.gen(function*() {
      const { credentials, fake } = yield* signedIn
      const store = yield* memoryStore
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, credentials), KeyValueStore.KeyValueStore, store)
      const service = yield* Layer.build(processOn(store))
      yield* TestClock.adjust("8 days")
      yield* fake.failNext(1, { status: 422 }, { path: "/api/v2/auth/token" })
      const outcomes = yield* Effect.all(
        Array.from({ length: 100 }, () => Effect.either(Effect.provide(Authentication.getTokenDetails(), service))),
        { concurrency: "unbounded" }
      )
      for (const outcome of outcomes) {
        assert.strictEqual(outcome._tag, "Left")
        if (outcome._tag === "Left") assert.isTrue(PlexError.isSignatureRejected(outcome.left), String(outcome.left))
      }
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      // Nothing retries behind the callers' backs.
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      assert.strictEqual((yield* Effect.provide(Authentication.getTokenDetails(), service)).username, "ada")
      assert.strictEqual(yield* count(fake, "/auth/token"), 2)
    })))

  it.scoped("a failed refresh of a JWT that is still valid keeps it in use, and tries again only after retryAfter", () =>
    onFake(Effect.gen(function*() {
      const { credentials, fake } = yield* signedIn
      const store = yield* memoryStore
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, credentials), KeyValueStore.KeyValueStore, store)
      const service = yield* Layer.build(processOn(store, { retryAfter: "1 minute" }))
      const call = Effect.provide(Authentication.getTokenDetails(), service)
      yield* TestClock.adjust("156 hours")
      yield* fake.failNext(1, { status: 500 }, { path: "/api/v2/auth/token" })
      yield* Effect.all(Array.from({ length: 10 }, () => call), { concurrency: "unbounded" })
      yield* call
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      assert.deepStrictEqual(new Set(yield* tokensSent(fake, "/user")), new Set([Redacted.value(credentials.token)]))
      yield* TestClock.adjust("2 minutes")
      yield* call
      assert.strictEqual(yield* count(fake, "/auth/token"), 2)
    })))

  it.scoped("plex.tv answers 498 to an expired JWT: one refresh, one retry, success", () =>
    onFake(Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.setJwtLifetime("1 minute")
      const { credentials } = yield* signedIn
      yield* fake.setJwtLifetime("7 days")
      // The stored expiry says a week (a clock that disagrees with plex.tv's, say), so nothing
      // refreshes it early: only the 498 tells.
      const optimistic = new PlexJwt.Credentials({
        ...credentials,
        expiresAt: DateTime.unsafeMake(START + 7 * 24 * 3600 * 1000)
      })
      const store = yield* memoryStore
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, optimistic), KeyValueStore.KeyValueStore, store)
      const service = yield* Layer.build(processOn(store))
      yield* TestClock.adjust("2 minutes")

      // Without a source that refreshes, the 498 is the caller's: PlexUnauthorized, isTokenExpired.
      const expired = yield* expectFailure(
        Authentication.getTokenDetails({ token: credentials.token }).pipe(
          Effect.provide(Authentication.layer.pipe(
            Layer.provide(Layer.mergeAll(config, FetchHttpClient.layer, PlexToken.none))
          ))
        )
      )
      assert.isTrue(PlexError.isTokenExpired(expired))
      yield* fake.clearRequests

      assert.strictEqual((yield* Effect.provide(Authentication.getTokenDetails(), service)).username, "ada")
      assert.strictEqual(yield* count(fake, "/user"), 2)
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      const [first, second] = yield* tokensSent(fake, "/user")
      assert.strictEqual(first, Redacted.value(credentials.token))
      assert.notStrictEqual(second, first)
    })))

  it.scoped("replicas sharing a store: the second uses what the first stored instead of refreshing again", () =>
    onFake(Effect.gen(function*() {
      const { credentials, fake } = yield* signedIn
      const store = yield* memoryStore
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, credentials), KeyValueStore.KeyValueStore, store)
      const a = yield* Layer.build(processOn(store))
      const b = yield* Layer.build(processOn(store))
      yield* Effect.provide(Authentication.getTokenDetails(), a)
      yield* Effect.provide(Authentication.getTokenDetails(), b)
      yield* TestClock.adjust("156 hours")
      yield* Effect.provide(Authentication.getTokenDetails(), a)
      yield* Effect.provide(Authentication.getTokenDetails(), b)
      assert.strictEqual(yield* count(fake, "/auth/token"), 1)
      const sent = yield* tokensSent(fake, "/user")
      assert.strictEqual(sent[2], sent[3])
      assert.notStrictEqual(sent[2], sent[0])
    })))

  it.scoped("no credentials in the store: a typed InvalidRequest naming the key, until they are saved", () =>
    onFake(Effect.gen(function*() {
      const { credentials } = yield* signedIn
      const store = yield* memoryStore
      const service = yield* Layer.build(processOn(store))
      const error = yield* expectFailure(Effect.provide(Authentication.getTokenDetails(), service))
      assert.isTrue(PlexError.isReason(error, "InvalidRequest"))
      assert.include(error.message, STORE_KEY)
      yield* Effect.provideService(PlexJwt.saveCredentials(STORE_KEY, credentials), KeyValueStore.KeyValueStore, store)
      assert.strictEqual((yield* Effect.provide(Authentication.getTokenDetails(), service)).username, "ada")
    })))

  it.scoped("registerKey with a legacy token: the first JWT works, and plex.tv ends the legacy token", () =>
    onFake(Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({ login: "bob@example.com", password: "pw", username: "bob" })
      const key = yield* PlexJwt.generateKey
      const credentials = yield* PlexJwt.registerKey(key, { token: account.token })
      assert.isFalse(yield* fake.isTokenValid(account.token))
      const user = yield* Authentication.getTokenDetails({ token: credentials.token }).pipe(
        Effect.provide(Authentication.layer.pipe(
          Layer.provide(Layer.mergeAll(config, FetchHttpClient.layer, PlexToken.none))
        ))
      )
      assert.strictEqual(user.username, "bob")
      // Another client identifier cannot take the same key.
      const other = yield* expectFailure(
        PlexJwt.registerKey(key, { token: yield* fake.issueToken("bob@example.com") }).pipe(
          Effect.provide(PlexJwt.layer.pipe(
            Layer.provide(PlexFake.layerConfig({ clientIdentifier: "another-device" })),
            Layer.provide(FetchHttpClient.layer)
          ))
        )
      )
      assert.isTrue(PlexError.isThumbprintTaken(other))
    })))

  it.scoped("after the fake rotates its signing key, refreshed JWTs still verify", () =>
    onFake(Effect.gen(function*() {
      const { credentials, fake } = yield* signedIn
      yield* PlexJwt.verify(credentials.token, credentials)
      const kid = yield* fake.rotateJwtKey()
      yield* TestClock.adjust("2 seconds")
      const fresh = yield* PlexJwt.refresh(credentials)
      yield* PlexJwt.verify(fresh.token, fresh)
      yield* PlexJwt.verify(credentials.token, credentials)
      const keys = (yield* fake.requests).filter((r) => r.path === "/api/v2/auth/keys")
      assert.strictEqual(keys.length, 2)
      assert.notStrictEqual(kid, "")
    })))
})
