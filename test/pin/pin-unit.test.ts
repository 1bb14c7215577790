import type * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigError, DateTime, Effect, Fiber, Layer, Option, Redacted, Stream, TestClock, Tracer } from "effect"
import { expectTypeOf } from "vitest"
import * as PinLogin from "../../src/PinLogin.js"
import * as PlexConfig from "../../src/PlexConfig.js"
import * as PlexError from "../../src/PlexError.js"
import * as PlexPolicy from "../../src/PlexPolicy.js"
import * as PlexToken from "../../src/PlexToken.js"
import { expectFailure, makeTestClient, reply } from "../unit/helpers.js"
import type { RecordedRequest, Script, TestClient } from "../unit/helpers.js"

// --- setup ------------------------------------------------------------------------------------

const CLIENT_ID = "pin-unit-client-7f3a"
const PRODUCT = "effect-plex PIN tests"
const TOKEN = "acct-token-Qw8Zr2Lk"
const PIN_ID = 84_213_377
const CODE = "K7QF"
const PIN_TOKEN = "pin-approved-token-Xy41"

const config: PlexConfig.Options = { clientIdentifier: CLIENT_ID, product: PRODUCT }

const setup = (
  script: Script,
  options: { readonly config?: PlexConfig.Options; readonly token?: string | null } = {}
) => {
  const client = makeTestClient(script)
  const token = options.token === undefined
    ? PlexToken.layer(TOKEN)
    : options.token === null
    ? PlexToken.none
    : PlexToken.layer(options.token)
  const layer = PinLogin.layer.pipe(
    Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer(options.config ?? config), token))
  )
  return Effect.map(Effect.provide(PinLogin.PinLogin, layer), (pins) => ({ pins, client }))
}

/** A plex.tv PIN body; `expiresAt` in epoch millis (TestClock starts at 0). */
const pinBody = (options: {
  readonly expiresAt?: number
  readonly authToken?: string | null
  readonly code?: string
  readonly id?: number
} = {}) => ({
  id: options.id ?? PIN_ID,
  code: options.code ?? CODE,
  product: PRODUCT,
  trusted: false,
  qr: `https://plex.tv/api/v2/pins/qr/${options.code ?? CODE}`,
  clientIdentifier: CLIENT_ID,
  location: { code: "US", country: "United States", city: "Somewhere" },
  // As plex.tv answers at creation (TestClock time 0): the seconds left until expiresAt.
  expiresIn: Math.round((options.expiresAt ?? 900_000) / 1000),
  createdAt: new Date(0).toISOString(),
  expiresAt: new Date(options.expiresAt ?? 900_000).toISOString(),
  authToken: options.authToken ?? null,
  newRegistration: null
})

const waiting = (expiresAt = 900_000) => reply.json(200, pinBody({ expiresAt }))
const approved = reply.json(200, pinBody({ authToken: PIN_TOKEN }))
const notFound = reply.json(404, { errors: [{ code: 1020, message: "Code not found or expired", status: 404 }] })
const tooMany = (headers: Record<string, string> = {}) =>
  reply.json(429, { errors: [{ code: 1003, message: "API rate limit exceeded", status: 429 }] }, headers)

// Response bodies are read through promises, which TestClock does not drive: give the polling
// fiber real time to reach its next sleep before the clock moves again.
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))

const tick = (millis: number) => Effect.zipRight(TestClock.adjust(millis), settle)

/** Moves the clock one second at a time and records the request count after each step. */
const countsEverySecond = (client: TestClient, seconds: number) =>
  Effect.gen(function*() {
    const counts: Array<number> = [client.requests.length]
    for (let i = 0; i < seconds; i++) {
      yield* tick(1000)
      counts.push(client.requests.length)
    }
    return counts
  })

/** The seconds at which requests were sent, from the counts of {@link countsEverySecond}. */
const requestSeconds = (counts: ReadonlyArray<number>): Array<number> =>
  counts.flatMap((n, second) => Array<number>(n - (second === 0 ? 0 : counts[second - 1])).fill(second))

const noRetries = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, PlexPolicy.layerNoRetries)

const expectSdkError = (error: unknown, reason: PlexError.SdkErrorReason): PlexError.PlexSdkError => {
  assert.instanceOf(error, PlexError.PlexSdkError)
  assert.strictEqual((error as PlexError.PlexSdkError).reason, reason)
  return error as PlexError.PlexSdkError
}

const pathOf = (request: RecordedRequest) => {
  const url = new URL(request.url)
  return url.origin + url.pathname
}

const queryOf = (request: RecordedRequest) => Object.fromEntries(new URL(request.url).searchParams)

// --- createPin ---------------------------------------------------------------------------------

describe("PinLogin.createPin", () => {
  it.effect("POST /pins?strong=true with the identity headers, no token and no body", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.json(201, pinBody({ code: "3patfx1a78ukcbr7x0n9bl26t" })))
      const pin = yield* pins.createPin({ strong: true })
      assert.strictEqual(client.requests.length, 1)
      const request = client.last()
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(pathOf(request), "https://plex.tv/api/v2/pins")
      assert.deepStrictEqual(queryOf(request), { strong: "true" })
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.strictEqual(request.headers["x-plex-product"], PRODUCT)
      assert.strictEqual(request.headers["x-plex-client-identifier"], CLIENT_ID)
      assert.isUndefined(request.headers["x-plex-token"], "creating a PIN must not send the account token")
      assert.strictEqual(request.body, "")

      assert.instanceOf(pin, PinLogin.Pin)
      assert.strictEqual(pin.id, PIN_ID)
      assert.strictEqual(pin.code, "3patfx1a78ukcbr7x0n9bl26t")
      assert.strictEqual(pin.product, PRODUCT)
      assert.strictEqual(pin.clientIdentifier, CLIENT_ID)
      assert.strictEqual(pin.expiresIn, 900)
      assert.strictEqual(pin.qr, "https://plex.tv/api/v2/pins/qr/3patfx1a78ukcbr7x0n9bl26t")
      assert.isTrue(pin.expiresAt !== undefined && DateTime.isDateTime(pin.expiresAt))
      assert.strictEqual(DateTime.toEpochMillis(pin.expiresAt!), 900_000)
      assert.isUndefined(pin.authToken)
      assert.isFalse(pin.isApproved)
      assert.isFalse(pin.isShortCode)
    }))

  it.effect("without strong: no query parameter, a short code", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.json(201, pinBody()))
      const pin = yield* pins.createPin()
      assert.strictEqual(client.last().url, "https://plex.tv/api/v2/pins")
      assert.strictEqual(pin.code, CODE)
      assert.isTrue(pin.isShortCode)
    }))

  it.effect("decodes the XML form, where an unapproved token is an empty attribute", () =>
    Effect.gen(function*() {
      const xml = `<?xml version="1.0" encoding="UTF-8"?>
<pin id="${PIN_ID}" code="${CODE}" product="${PRODUCT}" trusted="0" clientIdentifier="${CLIENT_ID}" expiresIn="900" createdAt="1970-01-01T00:00:00Z" expiresAt="1970-01-01T00:15:00Z" authToken="" newRegistration=""/>`
      const { pins } = yield* setup(reply.text(201, xml, { "content-type": "application/xml" }))
      const pin = yield* pins.createPin()
      assert.strictEqual(pin.id, PIN_ID)
      assert.strictEqual(pin.code, CODE)
      assert.isUndefined(pin.authToken)
      assert.strictEqual(DateTime.toEpochMillis(pin.expiresAt!), 900_000)
    }))

  it.effect("without a product: InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.json(201, pinBody()), { config: { clientIdentifier: CLIENT_ID } })
      const error = expectSdkError(yield* expectFailure(pins.createPin({ strong: true })), "InvalidRequest")
      assert.include(error.detail, "X-Plex-Product")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("with an empty client identifier: the config layer fails once, naming it, and nothing is sent", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(setup(reply.json(201, pinBody()), {
        config: { clientIdentifier: "", product: PRODUCT }
      }))
      assert.isTrue(ConfigError.isInvalidData(refused))
      assert.deepStrictEqual((refused as ConfigError.InvalidData).path, ["clientIdentifier"])
    }))

  it.effect("is never retried, even on a status the policy retries", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.status(503))
      // With zero backoff a wrongful retry happens at once on the TestClock and is counted.
      const error = expectSdkError(
        yield* expectFailure(pins.createPin().pipe(PlexPolicy.withPolicy({ baseDelay: 0, jitter: false }))),
        "StatusCode"
      )
      assert.strictEqual(error.status, 503)
      assert.strictEqual(client.requests.length, 1)
    }))
})

// --- checkPin ---------------------------------------------------------------------------------

describe("PinLogin.checkPin", () => {
  it.effect("GET /pins/{id}; the approved token decodes as Redacted and never prints", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(approved)
      const pin = yield* pins.checkPin(PIN_ID)
      const request = client.last()
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url, `https://plex.tv/api/v2/pins/${PIN_ID}`)
      assert.strictEqual(request.headers["x-plex-client-identifier"], CLIENT_ID)
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.isUndefined(request.headers["x-plex-token"])
      assert.strictEqual(request.body, "")
      assert.isTrue(pin.isApproved)
      assert.isTrue(Redacted.isRedacted(pin.authToken))
      assert.strictEqual(Redacted.value(pin.authToken!), PIN_TOKEN)
      assert.notInclude(String(pin), PIN_TOKEN)
      assert.notInclude(JSON.stringify(pin), PIN_TOKEN)
    }))

  it.effect("404 is PinExpired", () =>
    Effect.gen(function*() {
      const { pins } = yield* setup(notFound)
      const error = expectSdkError(yield* expectFailure(pins.checkPin(PIN_ID)), "PinExpired")
      assert.strictEqual(error.status, 404)
      assert.notInclude(error.message, String(PIN_ID))
    }))

  it.effect("error code 1020 under another status is PinExpired", () =>
    Effect.gen(function*() {
      const { pins } = yield* setup(
        reply.json(400, { errors: [{ code: 1020, message: "Code not found or expired", status: 400 }] })
      )
      expectSdkError(yield* expectFailure(pins.checkPin(PIN_ID)), "PinExpired")
    }))

  it.effect("a non-positive or fractional id is InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(approved)
      for (const id of [0, -1, 1.5, Number.NaN]) {
        expectSdkError(yield* expectFailure(pins.checkPin(id)), "InvalidRequest")
      }
      assert.strictEqual(client.requests.length, 0)
    }))
})

// --- linkPin ----------------------------------------------------------------------------------

describe("PinLogin.linkPin", () => {
  it.effect("PUT /pins/link with form code=… and the signed-in token; 204 is void", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.status(204))
      const result = yield* pins.linkPin(CODE)
      assert.isUndefined(result)
      const request = client.last()
      assert.strictEqual(request.method, "PUT")
      assert.strictEqual(request.url, "https://plex.tv/api/v2/pins/link")
      assert.strictEqual(request.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(request.body, `code=${CODE}`)
      assert.strictEqual(request.headers["x-plex-token"], TOKEN)
      assert.strictEqual(request.headers["x-plex-client-identifier"], CLIENT_ID)
    }))

  it.effect("options.token replaces the configured token; a Redacted code is sent as its value", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.status(204))
      yield* pins.linkPin(Redacted.make(CODE), { token: Redacted.make("other-account-token") })
      assert.strictEqual(client.last().headers["x-plex-token"], "other-account-token")
      assert.strictEqual(client.last().body, `code=${CODE}`)
    }))

  it.effect("without a token: InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.status(204), { token: null })
      expectSdkError(yield* expectFailure(pins.linkPin(CODE)), "InvalidRequest")
      expectSdkError(yield* expectFailure(pins.linkPin(" ", { token: Redacted.make(TOKEN) })), "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("an unknown code is PinExpired, and the code is scrubbed from the excerpt", () =>
    Effect.gen(function*() {
      const { pins } = yield* setup(reply.text(404, `Code ${CODE} not found`, { "content-type": "text/plain" }))
      const error = expectSdkError(yield* expectFailure(pins.linkPin(CODE)), "PinExpired")
      assert.notInclude(JSON.stringify(error), CODE)
      assert.notInclude(error.message, CODE)
    }))

  it.effect("401 from plex.tv stays PlexUnauthorized", () =>
    Effect.gen(function*() {
      const { pins } = yield* setup(
        reply.json(401, { errors: [{ code: 1001, message: "User could not be authenticated", status: 401 }] })
      )
      const error = yield* expectFailure(pins.linkPin(CODE))
      assert.instanceOf(error, PlexError.PlexUnauthorized)
    }))
})

// --- auth URL ---------------------------------------------------------------------------------

describe("PinLogin.authUrl", () => {
  const fragmentParams = (url: string) => new URLSearchParams(url.slice(url.indexOf("#?") + 2))

  it("matches Plex's documented form exactly", () => {
    const url = PinLogin.makeAuthUrl({ clientIdentifier: "abc123", product: "App Name" }, { code: "XYZW" }, {
      forwardUrl: "https://example.com/done?pin=1&x=y"
    })
    assert.strictEqual(
      url,
      "https://app.plex.tv/auth#?clientID=abc123&code=XYZW&context%5Bdevice%5D%5Bproduct%5D=App%20Name" +
        "&forwardUrl=https%3A%2F%2Fexample.com%2Fdone%3Fpin%3D1%26x%3Dy"
    )
  })

  it("encodes spaces, &, #, = and unicode in the product so each value round-trips", () => {
    const product = "Tom & Jerry's #1 Player = best (ü✓ 名前 🎬)"
    const clientIdentifier = "id with/slash+plus"
    const url = PinLogin.makeAuthUrl({ clientIdentifier, product }, { code: "AB&C" })
    const fragment = url.slice(url.indexOf("#?") + 2)
    // Nothing in the values leaks as a separator or a second fragment.
    assert.notInclude(fragment, "#")
    assert.notInclude(fragment, " ")
    assert.notInclude(fragment, "+")
    assert.strictEqual(fragment.split("&").length, 3)
    assert.include(fragment, "Tom%20%26%20Jerry%27s%20%231%20Player%20%3D%20best%20%28%C3%BC%E2%9C%93")
    const params = fragmentParams(url)
    assert.strictEqual(params.get("clientID"), clientIdentifier)
    assert.strictEqual(params.get("code"), "AB&C")
    assert.strictEqual(params.get("context[device][product]"), product)
    assert.isNull(params.get("forwardUrl"))
  })

  it("does not throw on a lone surrogate", () => {
    const url = PinLogin.makeAuthUrl({ clientIdentifier: "c", product: "bad \uD800 half" }, { code: "ABCD" })
    assert.strictEqual(fragmentParams(url).get("context[device][product]"), "bad \uFFFD half")
  })

  it("leaves the product out when the config has none", () => {
    const url = PinLogin.makeAuthUrl({ clientIdentifier: "c" }, { code: "ABCD" })
    assert.strictEqual(url, "https://app.plex.tv/auth#?clientID=c&code=ABCD")
  })

  it("linkUrl: plex.tv/link for a short code, None for a strong one", () => {
    assert.deepStrictEqual(PinLogin.linkUrl({ code: "K7QF" }), Option.some("https://plex.tv/link/?pin=K7QF"))
    assert.isTrue(Option.isNone(PinLogin.linkUrl({ code: "3patfx1a78ukcbr7x0n9bl26t" })))
  })

  it.effect("the service method uses PlexConfig's identifier and product", () =>
    Effect.gen(function*() {
      const product = "Living Room & Den #2"
      const { client, pins } = yield* setup(reply.status(204), { config: { clientIdentifier: CLIENT_ID, product } })
      const url = pins.authUrl({ code: CODE }, { forwardUrl: "http://127.0.0.1:3000/back" })
      assert.strictEqual(
        url,
        PinLogin.makeAuthUrl({ clientIdentifier: CLIENT_ID, product }, { code: CODE }, {
          forwardUrl: "http://127.0.0.1:3000/back"
        })
      )
      assert.strictEqual(fragmentParams(url).get("context[device][product]"), product)
      assert.strictEqual(fragmentParams(url).get("clientID"), CLIENT_ID)
      assert.strictEqual(client.requests.length, 0)
    }))
})

// --- waiting ----------------------------------------------------------------------------------

describe("PinLogin.waitForToken", () => {
  it.effect("polls once per second until approved and returns the token", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(reply.json(201, pinBody()))
      const pin = yield* pins.createPin()
      client.setScript([waiting(), waiting(), approved])
      const before = client.requests.length
      const fiber = yield* Effect.fork(pins.waitForToken(pin))
      yield* settle
      const counts = yield* countsEverySecond(client, 3)
      const token = yield* Fiber.join(fiber)
      assert.deepStrictEqual(counts.map((n) => n - before), [1, 2, 3, 3])
      assert.strictEqual(Redacted.value(token), PIN_TOKEN)
      for (const request of client.requests.slice(before)) {
        assert.strictEqual(request.url, `https://plex.tv/api/v2/pins/${PIN_ID}`)
      }
    }))

  it.effect("the timeout ends the wait with PinTimeout, before the PIN expires", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting(900_000))
      const fiber = yield* Effect.fork(Effect.either(pins.waitForToken(PIN_ID, { timeout: "5 seconds" })))
      yield* settle
      const counts = yield* countsEverySecond(client, 8)
      const result = yield* Fiber.join(fiber)
      assert.isTrue(result._tag === "Left")
      const error = expectSdkError(result._tag === "Left" ? result.left : undefined, "PinTimeout")
      assert.strictEqual(error.operation, "waitForToken")
      // Checks at 0..4 s; none at the deadline or after it.
      assert.deepStrictEqual(counts, [1, 2, 3, 4, 5, 5, 5, 5, 5])
    }))

  it.effect("the default timeout is 120 seconds", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting(3_600_000))
      const fiber = yield* Effect.fork(pins.waitForToken(PIN_ID))
      yield* settle
      yield* countsEverySecond(client, 119)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "still waiting at 119 s")
      yield* tick(1000)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(exit._tag === "Failure")
      const error = yield* expectFailure(exit)
      expectSdkError(error, "PinTimeout")
      assert.strictEqual(client.requests.length, 120)
    }))

  it.effect("stops at the PIN's expiresAt when it comes before the timeout: PinExpired", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting(3_000))
      const pin = new PinLogin.Pin({ id: PIN_ID, code: CODE, expiresAt: DateTime.unsafeMake(3_000) })
      const fiber = yield* Effect.fork(Effect.either(pins.waitForToken(pin, { timeout: "60 seconds" })))
      yield* settle
      const counts = yield* countsEverySecond(client, 6)
      const result = yield* Fiber.join(fiber)
      expectSdkError(result._tag === "Left" ? result.left : undefined, "PinExpired")
      assert.deepStrictEqual(counts, [1, 2, 3, 3, 3, 3, 3])
    }))

  it.effect("resumed from a PIN id, the expiry comes from the first check", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting(2_000))
      const fiber = yield* Effect.fork(Effect.either(pins.waitForToken(PIN_ID, { timeout: "60 seconds" })))
      yield* settle
      const counts = yield* countsEverySecond(client, 4)
      const result = yield* Fiber.join(fiber)
      expectSdkError(result._tag === "Left" ? result.left : undefined, "PinExpired")
      assert.deepStrictEqual(counts, [1, 2, 2, 2, 2])
    }))

  it.effect("a PIN whose expiresAt looks past on the local clock is still checked once (clocks disagree)", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(notFound)
      yield* TestClock.adjust(10_000)
      const pin = new PinLogin.Pin({ id: PIN_ID, code: CODE, expiresAt: DateTime.unsafeMake(5_000) })
      expectSdkError(yield* expectFailure(pins.waitForToken(pin)), "PinExpired")
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("a local clock 20 minutes ahead of plex.tv does not end the wait: expiry comes from expiresIn", () =>
    Effect.gen(function*() {
      // plex.tv says the PIN expires at 15:00 and has 900 s left; the local clock already reads 20:00.
      const { client, pins } = yield* setup([waiting(900_000), waiting(900_000), approved])
      yield* TestClock.adjust("20 minutes")
      const pin = new PinLogin.Pin({ id: PIN_ID, code: CODE, expiresAt: DateTime.unsafeMake(900_000) })
      const fiber = yield* Effect.fork(pins.waitForToken(pin))
      yield* settle
      yield* countsEverySecond(client, 3)
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token), PIN_TOKEN)
      assert.strictEqual(client.requests.length, 3)
    }))

  it.effect("a 404 while polling is PinExpired", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup([waiting(), notFound])
      const fiber = yield* Effect.fork(Effect.either(pins.waitForToken(PIN_ID)))
      yield* settle
      yield* countsEverySecond(client, 2)
      const result = yield* Fiber.join(fiber)
      const error = expectSdkError(result._tag === "Left" ? result.left : undefined, "PinExpired")
      assert.strictEqual(error.operation, "waitForToken")
      assert.strictEqual(client.requests.length, 2)
    }))

  it.effect("other errors end the wait with that error", () =>
    Effect.gen(function*() {
      const { pins } = yield* setup(reply.json(400, { errors: [{ code: 1000, message: "missing", status: 400 }] }))
      const error = yield* expectFailure(pins.waitForToken(PIN_ID))
      assert.instanceOf(error, PlexError.PlexBadRequest)
    }))

  it.effect("interrupting the fiber stops polling at once", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting())
      const fiber = yield* Effect.fork(pins.waitForToken(PIN_ID))
      yield* settle
      yield* countsEverySecond(client, 3)
      const before = client.requests.length
      assert.strictEqual(before, 4)
      yield* Fiber.interrupt(fiber)
      const after = yield* countsEverySecond(client, 30)
      assert.deepStrictEqual(after, Array(31).fill(before))
      assert.strictEqual(client.requests.length, before)
    }))

  it.effect("a 429 without Retry-After doubles the interval (up to maxInterval), then succeeds", () =>
    noRetries(Effect.gen(function*() {
      const { client, pins } = yield* setup([waiting(), tooMany(), tooMany(), tooMany(), tooMany(), approved])
      const fiber = yield* Effect.fork(pins.waitForToken(PIN_ID, { maxInterval: "4 seconds", timeout: "60 seconds" }))
      yield* settle
      const counts = yield* countsEverySecond(client, 16)
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token), PIN_TOKEN)
      // Requests at 0 (waiting), 1 (429 → 2 s), 3 (429 → 4 s), 7 (429 → capped 4 s), 11 (429 → 4 s), 15 (approved).
      assert.deepStrictEqual(requestSeconds(counts), [0, 1, 3, 7, 11, 15])
      assert.strictEqual(client.requests.length, 6)
    })))

  it.effect("a 429 with Retry-After waits that long, then succeeds", () =>
    noRetries(Effect.gen(function*() {
      const { client, pins } = yield* setup([waiting(), tooMany({ "retry-after": "5" }), waiting(), approved])
      const fiber = yield* Effect.fork(pins.waitForToken(PIN_ID))
      yield* settle
      const counts = yield* countsEverySecond(client, 8)
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(token), PIN_TOKEN)
      // 0 (waiting), 1 (429, Retry-After 5), 6 (waiting), 7 (approved): the base interval is kept.
      assert.deepStrictEqual(counts, [1, 2, 2, 2, 2, 2, 3, 4, 4])
    })))

  it.effect("a non-positive interval is InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting())
      expectSdkError(yield* expectFailure(pins.waitForToken(PIN_ID, { interval: 0 })), "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("serverUrl replaces the plex.tv base for the checks", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(approved)
      yield* pins.waitForToken(PIN_ID, { serverUrl: "http://127.0.0.1:9/api/v2" })
      assert.strictEqual(client.last().url, `http://127.0.0.1:9/api/v2/pins/${PIN_ID}`)
    }))
})

// --- the stream of states ---------------------------------------------------------------------

describe("PinLogin.pinStates", () => {
  it.effect("counts down to the PIN's expiry, then ends with Expired", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting(3_000))
      const fiber = yield* Effect.fork(Stream.runCollect(pins.pinStates(PIN_ID)))
      yield* settle
      yield* countsEverySecond(client, 4)
      const states = Chunk.toArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(states, [
        PinLogin.PinState.Waiting({ secondsLeft: 3 }),
        PinLogin.PinState.Waiting({ secondsLeft: 2 }),
        PinLogin.PinState.Waiting({ secondsLeft: 1 }),
        PinLogin.PinState.Expired()
      ])
    }))

  it.effect("counts down to the timeout when it comes first, then fails with PinTimeout", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup(waiting())
      const seen: Array<PinLogin.PinState> = []
      const fiber = yield* Effect.fork(
        Effect.either(Stream.runForEach(pins.pinStates(PIN_ID, { timeout: "2 seconds" }), (s) =>
          Effect.sync(() => {
            seen.push(s)
          })))
      )
      yield* settle
      yield* countsEverySecond(client, 3)
      const result = yield* Fiber.join(fiber)
      expectSdkError(result._tag === "Left" ? result.left : undefined, "PinTimeout")
      assert.deepStrictEqual(seen.map((s) => s._tag === "Waiting" ? s.secondsLeft : -1), [2, 1])
    }))

  it.effect("ends with Approved holding the Redacted token", () =>
    Effect.gen(function*() {
      const { client, pins } = yield* setup([waiting(), approved])
      const fiber = yield* Effect.fork(Stream.runCollect(pins.pinStates(PIN_ID)))
      yield* settle
      yield* countsEverySecond(client, 2)
      const states = Chunk.toArray(yield* Fiber.join(fiber))
      assert.strictEqual(states.length, 2)
      assert.strictEqual(states[0]._tag, "Waiting")
      const last = states[1]
      assert.isTrue(PinLogin.PinState.$is("Approved")(last))
      if (last._tag === "Approved") {
        assert.strictEqual(Redacted.value(last.token), PIN_TOKEN)
        assert.notInclude(String(last), PIN_TOKEN)
        assert.notInclude(JSON.stringify(last), PIN_TOKEN)
      }
    }))

  it.effect("the module accessor streams from the service in context", () =>
    Effect.gen(function*() {
      const client = makeTestClient(approved)
      const layer = PinLogin.layer.pipe(
        Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer(config), PlexToken.none))
      )
      const states = yield* Stream.runCollect(PinLogin.pinStates(PIN_ID)).pipe(Effect.provide(layer))
      assert.deepStrictEqual(Chunk.toArray(states).map((s) => s._tag), ["Approved"])
    }))
})

// --- secrets in spans -------------------------------------------------------------------------

describe("PinLogin secrets", () => {
  it.effect("no span attribute holds the token, the PIN id or the code", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.Span> = []
      const base = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (...args) => {
          const span = base.span(...args)
          spans.push(span)
          return span
        },
        context: base.context
      })
      const { pins } = yield* setup((request) =>
        request.method === "POST"
          ? reply.json(201, pinBody())
          : request.method === "PUT"
          ? reply.status(204)
          : reply.json(200, pinBody({ authToken: PIN_TOKEN }))
      )
      yield* Effect.gen(function*() {
        const pin = yield* pins.createPin()
        yield* pins.linkPin(pin.code)
        yield* pins.checkPin(pin.id)
        yield* pins.waitForToken(pin)
      }).pipe(Effect.withTracer(tracer))
      const names = spans.map((s) => s.name)
      for (const name of ["PinLogin.createPin", "PinLogin.linkPin", "PinLogin.checkPin", "PinLogin.waitForToken"]) {
        assert.include(names, name)
      }
      for (const span of spans) {
        for (const [key, value] of span.attributes) {
          const text = `${key}=${String(value)}`
          for (const secret of [PIN_TOKEN, TOKEN, String(PIN_ID), CODE]) {
            assert.notInclude(text, secret, `span ${span.name} attribute ${key}`)
          }
        }
      }
    }))
})

// --- types ------------------------------------------------------------------------------------

describe("PinLogin types", () => {
  it.effect("operations fail with exactly PlexError and need nothing", () =>
    Effect.gen(function*() {
      const { pins } = yield* setup(reply.status(204))
      type Errors = PlexError.PlexBadRequest | PlexError.PlexUnauthorized | PlexError.PlexSdkError
      expectTypeOf(pins.createPin()).toEqualTypeOf<Effect.Effect<PinLogin.Pin, Errors, never>>()
      expectTypeOf(pins.checkPin(1)).toEqualTypeOf<Effect.Effect<PinLogin.Pin, Errors, never>>()
      expectTypeOf(pins.linkPin("ABCD")).toEqualTypeOf<Effect.Effect<void, Errors, never>>()
      expectTypeOf(pins.waitForToken(1)).toEqualTypeOf<Effect.Effect<Redacted.Redacted<string>, Errors, never>>()
      expectTypeOf(pins.pinStates(1)).toEqualTypeOf<Stream.Stream<PinLogin.PinState, Errors, never>>()
      expectTypeOf(pins.authUrl({ code: "ABCD" })).toEqualTypeOf<string>()
      expectTypeOf(PinLogin.createPin()).toEqualTypeOf<Effect.Effect<PinLogin.Pin, Errors, PinLogin.PinLogin>>()
      expectTypeOf(PinLogin.waitForToken(1)).toEqualTypeOf<
        Effect.Effect<Redacted.Redacted<string>, Errors, PinLogin.PinLogin>
      >()
      expectTypeOf(PinLogin.pinStates(1)).toEqualTypeOf<
        Stream.Stream<PinLogin.PinState, Errors, PinLogin.PinLogin>
      >()
      expectTypeOf(PinLogin.linkPin("ABCD")).toEqualTypeOf<Effect.Effect<void, Errors, PinLogin.PinLogin>>()
      expectTypeOf(PinLogin.checkPin(1)).toEqualTypeOf<Effect.Effect<PinLogin.Pin, Errors, PinLogin.PinLogin>>()
      // Only linkPin sends a token: the layer does not require one.
      expectTypeOf(PinLogin.layer).toEqualTypeOf<
        Layer.Layer<PinLogin.PinLogin, never, HttpClient.HttpClient | PlexConfig.PlexConfig>
      >()
      // Runtime check that the union type above is what arrives.
      const error = yield* expectFailure(pins.checkPin(0))
      assert.isTrue(PlexError.isPlexError(error))
    }))
})
