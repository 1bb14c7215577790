/**
 * PIN login and the token lifecycle end to end against PlexFake: over real loopback HTTP (the
 * `layer()` block), plus PIN expiry in-process, where TestClock drives the fake's clock too.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Option, Redacted, Schedule, Stream, TestClock } from "effect"
import * as Authentication from "../../src/Authentication.js"
import * as PinLogin from "../../src/PinLogin.js"
import * as PlexConfig from "../../src/PlexConfig.js"
import * as PlexError from "../../src/PlexError.js"
import * as PlexPolicy from "../../src/PlexPolicy.js"
import * as PlexToken from "../../src/PlexToken.js"
import { PlexFake } from "../../src/testing/index.js"
import * as TokenLifecycle from "../../src/TokenLifecycle.js"

const CLIENT_ID = "effect-plex-pin-integration"
const PRODUCT = "effect-plex PIN & token tests"

const sdk = Layer.mergeAll(PinLogin.layer, TokenLifecycle.layer, Authentication.layer)

const configFor = (urls: PlexFake.FakeUrls) =>
  PlexConfig.layer({ clientIdentifier: CLIENT_ID, product: PRODUCT, plexTvUrl: urls.plexTvUrl })

/** The SDK pointed at the fake in context; the HttpClient is left to the caller. */
const sdkForFake = Layer.unwrapEffect(
  Effect.map(
    PlexFake.PlexFakeServer,
    (urls) => sdk.pipe(Layer.provide(Layer.mergeAll(configFor(urls), PlexToken.none)))
  )
)

const failure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") {
      throw new Error(`expected a typed failure, got ${String(exit)}`)
    }
    return exit.cause.error
  })

let counter = 0
const uniqueLogin = (prefix: string) => `${prefix}-${++counter}-${Date.now()}@example.com`

const signedIn = (prefix: string) =>
  Effect.flatMap(PlexFake.PlexFake, (fake) => fake.addAccount({ login: uniqueLogin(prefix), password: "pw" }))

// Response bodies are read through promises, which TestClock does not drive.
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))

// --- in-process: TestClock drives the fake's PIN expiry ------------------------------------------

describe("PIN expiry against PlexFake (in-process, TestClock)", () => {
  const inProcess = sdkForFake.pipe(Layer.provideMerge(PlexFake.layerClient))

  it.effect("a short PIN expires after 15 minutes: waitForToken ends with PinExpired, checks get 404", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const pin = yield* PinLogin.createPin()
      assert.isTrue(pin.isShortCode)
      const fiber = yield* Effect.fork(
        Effect.either(PinLogin.waitForToken(pin, { interval: "1 minute", timeout: "1 hour" }))
      )
      yield* settle
      for (let minute = 0; minute < 15; minute++) {
        yield* TestClock.adjust("1 minute")
        yield* settle
      }
      const result = yield* Fiber.join(fiber)
      assert.isTrue(result._tag === "Left" && PlexError.isReason(result.left, "PinExpired"))
      const polls = (yield* fake.requests).filter((r) => r.path === `/api/v2/pins/${pin.id}`)
      assert.strictEqual(polls.length, 15, "one check a minute from 0 to 14 minutes")

      // The fake itself now answers 404 / 1020 for it, and linking it fails the same way.
      const checked = yield* failure(PinLogin.checkPin(pin.id))
      assert.isTrue(PlexError.isReason(checked, "PinExpired"))
      const account = yield* signedIn("expired-link")
      const linked = yield* failure(PinLogin.linkPin(pin.code, { token: Redacted.make(account.token) }))
      assert.isTrue(PlexError.isReason(linked, "PinExpired"))
    }).pipe(Effect.provide(inProcess)))

  it.effect("resumed from an id, auto-approval after 3 s arrives through the stream of states", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* signedIn("auto")
      yield* fake.autoApprovePins("3 seconds", account.token)
      const pin = yield* PinLogin.createPin({ strong: true })
      const fiber = yield* Effect.fork(Stream.runCollect(PinLogin.pinStates(pin.id)))
      yield* settle
      for (let second = 0; second < 3; second++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const states = Chunk.toArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(states.map((s) => s._tag), ["Waiting", "Waiting", "Waiting", "Approved"])
      // Expiry learned from the first check: a strong PIN lives 30 minutes, the wait 120 s.
      assert.deepStrictEqual(states.slice(0, 3).map((s) => s._tag === "Waiting" ? s.secondsLeft : -1), [120, 119, 118])
      const last = states[3]
      assert.isTrue(last._tag === "Approved" && Redacted.value(last.token) === account.token)
    }).pipe(Effect.provide(inProcess)))
})

// --- loopback ---------------------------------------------------------------------------------

const Loopback = sdkForFake.pipe(Layer.provide(FetchHttpClient.layer), Layer.provideMerge(PlexFake.layerServer))

layer(Loopback, { excludeTestServices: true })("PIN login and token lifecycle over loopback", (it) => {
  it.effect("create → auth URL → linkPin from a signed-in account → waitForToken → getTokenDetails", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      assert.match(urls.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const phone = yield* signedIn("phone")

      const pin = yield* PinLogin.createPin()
      assert.strictEqual(pin.clientIdentifier, CLIENT_ID)
      assert.strictEqual(pin.product, PRODUCT)
      assert.isUndefined(pin.authToken)

      const url = yield* PinLogin.authUrl(pin)
      const params = new URLSearchParams(url.slice(url.indexOf("#?") + 2))
      assert.isTrue(url.startsWith("https://app.plex.tv/auth#?"))
      assert.strictEqual(params.get("clientID"), CLIENT_ID)
      assert.strictEqual(params.get("code"), pin.code)
      assert.strictEqual(params.get("context[device][product]"), PRODUCT)
      assert.deepStrictEqual(PinLogin.linkUrl(pin), Option.some(`https://plex.tv/link/?pin=${pin.code}`))

      const waiting = yield* Effect.fork(PinLogin.waitForToken(pin, { interval: "100 millis", timeout: "10 seconds" }))
      yield* Effect.sleep("250 millis")
      yield* PinLogin.linkPin(pin.code, { token: Redacted.make(phone.token) })
      const token = yield* Fiber.join(waiting)
      assert.isTrue(yield* fake.isTokenValid(Redacted.value(token)))

      const account = yield* Authentication.getTokenDetails({ token })
      assert.strictEqual(account.uuid, phone.uuid)
      assert.strictEqual(account.username, phone.username)
      const validity = yield* TokenLifecycle.validateToken(token)
      assert.isTrue(validity._tag === "Valid" && validity.user.uuid === phone.uuid)

      const requests = yield* fake.requests
      const create = requests.find((r) => r.method === "POST" && r.path === "/api/v2/pins")!
      assert.strictEqual(create.headers["x-plex-product"], PRODUCT)
      assert.strictEqual(create.headers["x-plex-client-identifier"], CLIENT_ID)
      assert.isUndefined(create.headers["x-plex-token"])
      const link = requests.find((r) => r.method === "PUT" && r.path === "/api/v2/pins/link")!
      assert.deepStrictEqual(link.form, { code: pin.code })
      const polls = requests.filter((r) => r.path === `/api/v2/pins/${pin.id}`)
      assert.isAtLeast(polls.length, 2)
      for (const poll of polls) assert.isUndefined(poll.headers["x-plex-token"])
    }))

  it.effect("approvePin on a strong PIN; 429s while polling back off instead of failing", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* signedIn("strong")
      const pin = yield* PinLogin.createPin({ strong: true })
      assert.isFalse(pin.isShortCode)
      assert.isTrue(Option.isNone(PinLogin.linkUrl(pin)))
      yield* fake.failNext(4, { status: 429 }, { path: `/api/v2/pins/${pin.id}` })
      const waiting = yield* Effect.fork(
        PinLogin.waitForToken(pin, { interval: "50 millis", maxInterval: "200 millis", timeout: "10 seconds" })
      )
      yield* Effect.sleep("100 millis")
      yield* fake.approvePin(pin.id, account.token)
      const token = yield* Fiber.join(waiting)
      assert.strictEqual(Redacted.value(token), account.token)
      const polls = (yield* fake.requests).filter((r) => r.path === `/api/v2/pins/${pin.id}`)
      assert.isAtLeast(polls.length, 5, "four 429s, then at least one real check")
    }))

  it.effect("an unknown PIN id, or one polled under another client identifier, is PinExpired", () =>
    Effect.gen(function*() {
      const unknown = yield* failure(PinLogin.waitForToken(987_654_321))
      assert.isTrue(PlexError.isReason(unknown, "PinExpired"))
      const pin = yield* PinLogin.createPin()
      const other = yield* failure(
        PinLogin.checkPin(pin.id).pipe(
          Effect.provide(PinLogin.layer),
          Effect.provide(Layer.unwrapEffect(Effect.map(PlexFake.PlexFakeServer, (urls) =>
            Layer.mergeAll(
              PlexConfig.layer({ clientIdentifier: "someone-else", product: PRODUCT, plexTvUrl: urls.plexTvUrl }),
              PlexToken.none,
              FetchHttpClient.layer
            ))))
        )
      )
      assert.isTrue(PlexError.isReason(other, "PinExpired"))
    }))

  it.effect("a short timeout ends with PinTimeout when nobody approves", () =>
    Effect.gen(function*() {
      const pin = yield* PinLogin.createPin()
      const error = yield* failure(PinLogin.waitForToken(pin, { interval: "50 millis", timeout: "300 millis" }))
      assert.isTrue(PlexError.isReason(error, "PinTimeout"))
    }))

  it.effect("ping keeps a token alive; keepAlive survives a failed ping and stops with its scope", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* signedIn("ping")
      const token = Redacted.make(account.token)
      yield* TokenLifecycle.ping({ token })
      const pings = () =>
        Effect.map(
          fake.requests,
          (all) => all.filter((r) => r.path === "/api/v2/ping" && r.headers["x-plex-token"] === account.token).length
        )
      assert.strictEqual(yield* pings(), 1)

      yield* fake.failNext(1, { status: 503 }, { path: "/api/v2/ping" })
      // One attempt per ping, so the 503 reaches keepAlive instead of being retried away.
      yield* Effect.scoped(Effect.gen(function*() {
        yield* TokenLifecycle.keepAlive(Schedule.spaced("100 millis"), { token })
        yield* Effect.sleep("450 millis")
      })).pipe(Effect.provide(PlexPolicy.layerNoRetries))
      const during = yield* pings()
      // 1 manual ping, the failed one at once, then one every 100 ms.
      assert.isAtLeast(during, 4, "the keep-alive fiber kept pinging after the 503")
      yield* Effect.sleep("300 millis")
      assert.strictEqual(yield* pings(), during, "no ping after the scope closed")
    }))

  it.effect("sign-out: then 401 everywhere (validate → Invalid, ping, token details, link)", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* signedIn("signout")
      const token = Redacted.make(account.token)
      assert.strictEqual((yield* TokenLifecycle.validateToken(token))._tag, "Valid")

      yield* TokenLifecycle.signOut({ token })
      assert.isFalse(yield* fake.isTokenValid(account.token))

      const validity = yield* TokenLifecycle.validateToken(token)
      assert.strictEqual(validity._tag, "Invalid")
      assert.isTrue(validity._tag === "Invalid" && validity.errors.some((e) => e.code === 1001))
      assert.strictEqual((yield* failure(TokenLifecycle.ping({ token })))._tag, "PlexUnauthorized")
      assert.strictEqual((yield* failure(Authentication.getTokenDetails({ token })))._tag, "PlexUnauthorized")
      assert.strictEqual((yield* failure(TokenLifecycle.signOut({ token })))._tag, "PlexUnauthorized")
      const pin = yield* PinLogin.createPin()
      assert.strictEqual((yield* failure(PinLogin.linkPin(pin.code, { token })))._tag, "PlexUnauthorized")
    }))

  it.effect("plex.tv down is an error from validateToken, not Invalid", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* signedIn("down")
      yield* fake.failNext(3, { status: 503 }, { path: "/api/v2/user" })
      const error = yield* failure(TokenLifecycle.validateToken(account.token))
      assert.isTrue(error._tag === "PlexSdkError" && error.reason === "StatusCode" && error.status === 503)
    }))
})
