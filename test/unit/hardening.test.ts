/**
 * Inputs and answers that used to end badly: a header value no transport can carry, a 303 after a
 * sign-in, a PIN id echoed in an error body, durations the parser refuses, a retried error's cause.
 */
import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { ConfigError, Duration } from "effect"
import { Effect, Either, Layer, Logger, Redacted, TestClock } from "effect"
import { Authentication, PinLogin, PlexConfig, PlexPolicy, PlexToken } from "../../src/index.js"
import * as Xml from "../../src/internal/xml.js"
import { baseConfig, expectFailure, makeTestClient, reply, setup, TOKEN } from "./helpers.js"

const pinsOver = (client: ReturnType<typeof makeTestClient>) =>
  Effect.provide(
    PinLogin.PinLogin,
    PinLogin.layer.pipe(Layer.provide(Layer.mergeAll(
      client.layer,
      PlexConfig.layer({ ...baseConfig, product: "p" }),
      PlexToken.none
    )))
  )

const sdkError = (error: unknown) => {
  assert.strictEqual((error as { _tag?: string })._tag, "PlexSdkError", String(error))
  return error as { reason: string; detail: string; cause?: string; attempts?: number; bodyExcerpt?: string }
}

describe("header values", () => {
  it.effect("a non-ASCII identity value travels as UTF-8 bytes, as Plex asks", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.json(200, { MediaContainer: { token: "transient-1" } }), {
        config: { ...baseConfig, deviceName: "Ada’s iPhone" }
      })
      yield* auth.getTransientToken()
      const sent = client.last().headers["x-plex-device-name"]
      assert.strictEqual(Buffer.from(sent, "latin1").toString("utf8"), "Ada’s iPhone")
    }))

  it.effect("a control character in an identity value fails the config layer, naming the option", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(
        Effect.scoped(Layer.build(PlexConfig.layer({ ...baseConfig, product: "My App\r\nX-Evil: 1" })))
      )
      assert.deepStrictEqual((refused as ConfigError.InvalidData).path, ["product"])
      assert.notInclude(String(refused), "Evil")
    }))

  it.effect("a hand-built PlexConfig with a control character is still an InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.json(200, {}))
      const config = Either.getOrThrow(PlexConfig.make(baseConfig))
      const auth = yield* Effect.provide(
        Authentication.Authentication,
        Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
          client.layer,
          PlexToken.layer(TOKEN),
          Layer.succeed(PlexConfig.PlexConfig, {
            ...config,
            headers: { ...config.headers, "x-plex-product": "My App\r\nX-Evil: 1" }
          })
        )))
      )
      const error = sdkError(yield* expectFailure(auth.getTransientToken()))
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.include(error.detail, "x-plex-product")
      assert.notInclude(error.detail, "Evil")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("a token with a trailing newline is an InvalidRequest that does not quote it", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.json(200, {}), { token: "SECRETTOKEN123\n" })
      const error = sdkError(yield* expectFailure(auth.getTokenDetails()))
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.notInclude(JSON.stringify(error), "SECRETTOKEN123")
      assert.strictEqual(client.requests.length, 0)
    }))
})

describe("redirects", () => {
  it.effect("a 303 after a sign-in continues as a GET without the form body", () =>
    Effect.gen(function*() {
      const user = { id: 1, uuid: "u", username: "n", title: "t", email: "e@x", authToken: "tok" }
      const { auth, client } = yield* setup((request) =>
        request.method === "POST"
          ? reply.text(303, "", { location: "/api/v2/after-signin" })
          : reply.json(200, user)
      )
      yield* auth.postUsersSignInData({ login: "a@b.c", password: "SECRETPASSWORD" })
      const follow = client.requests[1]
      assert.strictEqual(follow.method, "GET")
      assert.strictEqual(follow.body, "")
      assert.isTrue(follow.url.endsWith("/api/v2/after-signin"))
    }))
})

describe("retries", () => {
  it.effect("the last error of exhausted retries keeps its sanitized cause", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.transportError("connect ECONNREFUSED 127.0.0.1:1"))
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(PlexPolicy.withPolicy({ maxAttempts: 2, baseDelay: "10 millis", jitter: false }))
      )
      yield* TestClock.adjust("1 second")
      const error = sdkError(yield* expectFailure(fiber))
      assert.strictEqual(error.reason, "Transport")
      assert.strictEqual(error.attempts, 2)
      assert.include(error.cause ?? "", "ECONNREFUSED")
    }))
})

describe("durations the parser refuses", () => {
  it("PlexPolicy.make refuses them with a ConfigError instead of throwing or keeping a default", () => {
    const result = PlexPolicy.make({ deadline: "1e3 seconds" as Duration.DurationInput })
    assert.isTrue(Either.isLeft(result))
  })

  it.effect("waitForToken with an unreadable interval is an InvalidRequest, not a defect", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.json(200, {}))
      const pins = yield* pinsOver(client)
      const error = sdkError(
        yield* expectFailure(pins.waitForToken(42, { interval: " 1 seconds" as Duration.DurationInput }))
      )
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))
})

describe("PIN ids are secrets", () => {
  it.effect("a PIN id echoed in an error body is scrubbed from the excerpt", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.text(500, "no pin /api/v2/pins/987654321 here", {
        "content-type": "text/plain"
      }))
      const pins = yield* pinsOver(client)
      const error = sdkError(
        yield* expectFailure(pins.checkPin(987654321).pipe(PlexPolicy.withPolicy({ maxAttempts: 1 })))
      )
      assert.strictEqual(error.reason, "StatusCode")
      assert.include(error.bodyExcerpt ?? "", "<redacted>")
      assert.notInclude(JSON.stringify(error), "987654321")
    }))
})

describe("xml", () => {
  it("a `>` inside a quoted attribute value does not end the tag", () => {
    const root = Xml.parse(`<user title="a>b" id="1"/>`)
    assert.notStrictEqual(typeof root, "string")
    assert.deepStrictEqual(Xml.toJson(root as Xml.XmlElement), { title: "a>b", id: "1" })
  })
})

describe("secrets in call options", () => {
  it.effect("a Redacted token passed per call with a control character is refused the same way", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.json(200, {}), { token: null })
      const error = sdkError(yield* expectFailure(auth.getTokenDetails({ token: Redacted.make("abc\u0000def") })))
      assert.strictEqual(error.reason, "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))
})

describe("x-plex-token is a redacted header name", () => {
  it.effect("a user's HttpClient transform that logs request headers logs <redacted> for the token", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const client = makeTestClient(reply.json(200, { MediaContainer: { token: "transient-1" } }))
      const logged = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(
          HttpClient.HttpClient,
          (inner) => inner.pipe(HttpClient.tapRequest((request) => Effect.log(request.headers)))
        )
      ).pipe(Layer.provide(client.layer))
      const auth = yield* Effect.provide(
        Authentication.Authentication,
        Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
          logged,
          PlexConfig.layer(baseConfig),
          PlexToken.layer("SECRETHEADERTOKEN42")
        )))
      )
      yield* auth.getTransientToken().pipe(
        Effect.provide(
          Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (line) => lines.push(line)))
        )
      )
      assert.strictEqual(lines.length, 1)
      assert.include(lines[0], "<redacted>")
      assert.notInclude(lines[0], "SECRETHEADERTOKEN42")
    }))
})
