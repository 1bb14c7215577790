import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { PlexError, PlexPolicy } from "../../src/index.js"
import { expectFailure, fixture, fixtureJson, reply, setup, TOKEN } from "./helpers.js"
import type { Script } from "./helpers.js"

const source = { source: "server://abc" }
const signIn = { login: "someone@example.com", password: "hunter2-secret" }

// One attempt per call, so each scripted failure is the call's outcome.
const noRetries = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, PlexPolicy.layerNoRetries)

const failTokenDetails = (script: Script) =>
  Effect.gen(function*() {
    const { auth, client } = yield* setup(script)
    const error = yield* expectFailure(noRetries(auth.getTokenDetails()))
    return { error, client }
  })

const instantRetries = PlexPolicy.withPolicy({ baseDelay: 0, jitter: false })

const failSignIn = (script: Script) =>
  Effect.gen(function*() {
    const { auth, client } = yield* setup(script)
    // Zero backoff: a wrongful retry would happen at once on the TestClock and be counted.
    const error = yield* expectFailure(auth.postUsersSignInData(signIn).pipe(instantRetries))
    return { error, client }
  })

const expectSdk = (error: PlexError.PlexError, reason: PlexError.SdkErrorReason): PlexError.PlexSdkError => {
  assert.instanceOf(error, PlexError.PlexSdkError, `expected PlexSdkError, got ${String(error)}`)
  const sdk = error as PlexError.PlexSdkError
  assert.strictEqual(sdk.reason, reason, sdk.message)
  return sdk
}

describe("errors: 400 and 401", () => {
  for (
    const [operation, run] of [
      ["getTokenDetails", (auth: any) => auth.getTokenDetails()],
      ["getTransientToken", (auth: any) => auth.getTransientToken()],
      ["getSourceConnectionInformation", (auth: any) => auth.getSourceConnectionInformation(source)],
      ["postUsersSignInData", (auth: any) => auth.postUsersSignInData(signIn)]
    ] as const
  ) {
    const prefix = operation === "getTokenDetails"
      ? "get-token-details"
      : operation === "getTransientToken"
      ? "get-transient-token"
      : operation === "getSourceConnectionInformation"
      ? "get-source-connection-information"
      : "post-users-sign-in-data"

    it.effect(`${operation}: 400 JSON → PlexBadRequest with errors[]`, () =>
      Effect.gen(function*() {
        const { auth, client } = yield* setup(reply.fixture(400, `${prefix}.400.json`))
        const error = yield* expectFailure(
          (run(auth) as Effect.Effect<unknown, PlexError.PlexError>).pipe(instantRetries)
        )
        assert.instanceOf(error, PlexError.PlexBadRequest)
        const bad = error as PlexError.PlexBadRequest
        assert.strictEqual(bad.operation, operation)
        assert.strictEqual(bad.status, 400)
        assert.strictEqual(bad.errors.length, 1)
        assert.strictEqual(bad.errors[0].code, 1000)
        assert.strictEqual(bad.errors[0].message, "X-Plex-Client-Identifier is missing")
        assert.strictEqual(bad.errors[0].status, 400)
        assert.isTrue(PlexError.hasCode(error, PlexError.ErrorCode.ClientIdentifierMissing))
        assert.include(bad.message, "1000 X-Plex-Client-Identifier is missing")
        // 400 is never retried.
        assert.strictEqual(client.requests.length, 1)
      }))

    it.effect(`${operation}: 401 JSON → PlexUnauthorized with errors[]`, () =>
      Effect.gen(function*() {
        const { auth, client } = yield* setup(reply.fixture(401, `${prefix}.401.json`))
        const error = yield* expectFailure(
          (run(auth) as Effect.Effect<unknown, PlexError.PlexError>).pipe(instantRetries)
        )
        assert.instanceOf(error, PlexError.PlexUnauthorized)
        const unauthorized = error as PlexError.PlexUnauthorized
        assert.strictEqual(unauthorized.operation, operation)
        assert.strictEqual(unauthorized.status, 401)
        assert.deepStrictEqual(
          unauthorized.errors.map((e) => [e.code, e.message, e.status]),
          [[1001, "User could not be authenticated", 401]]
        )
        assert.isFalse(PlexError.isTwoFactorRequired(error))
        assert.strictEqual(client.requests.length, 1)
      }))
  }

  it.effect("401 XML (verification code required) → PlexUnauthorized, isTwoFactorRequired", () =>
    Effect.gen(function*() {
      const { client, error } = yield* failSignIn(
        reply.fixture(401, "post-users-sign-in-data.401.verification-code-required.xml")
      )
      assert.instanceOf(error, PlexError.PlexUnauthorized)
      const unauthorized = error as PlexError.PlexUnauthorized
      assert.deepStrictEqual(
        unauthorized.errors.map((e) => [e.code, e.message, e.status]),
        [[1029, "Please enter the verification code", 401]]
      )
      assert.isTrue(PlexError.isTwoFactorRequired(error))
      assert.isFalse(PlexError.isInvalidVerificationCode(error))
      assert.isFalse(PlexError.isSignInThrottled(error))
      assert.isFalse(PlexError.isRateLimited(error))
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("401 JSON (verification code required) → isTwoFactorRequired", () =>
    Effect.gen(function*() {
      const { error } = yield* failSignIn(
        reply.fixture(401, "post-users-sign-in-data.401.verification-code-required.json")
      )
      assert.isTrue(PlexError.isTwoFactorRequired(error))
      const expected = fixtureJson("post-users-sign-in-data.401.verification-code-required.json").errors[0]
      assert.strictEqual((error as PlexError.PlexUnauthorized).errors[0].message, expected.message)
    }))

  it.effect("401 XML (repeated failures from one IP) → isSignInThrottled", () =>
    Effect.gen(function*() {
      const { error } = yield* failSignIn(reply.fixture(401, "post-users-sign-in-data.401.ip-repeated-failures.xml"))
      assert.instanceOf(error, PlexError.PlexUnauthorized)
      const unauthorized = error as PlexError.PlexUnauthorized
      assert.strictEqual(unauthorized.errors.length, 1)
      assert.strictEqual(unauthorized.errors[0].code, 1031)
      assert.strictEqual(unauthorized.errors[0].status, 401)
      assert.include(unauthorized.errors[0].message, "detected repeated failures")
      assert.isTrue(PlexError.isSignInThrottled(error))
      assert.isFalse(PlexError.isTwoFactorRequired(error))
    }))

  it.effect("401 with code 1028 → isInvalidVerificationCode", () =>
    Effect.gen(function*() {
      const { error } = yield* failSignIn(reply.json(401, {
        errors: [{ code: 1028, message: "Invalid verification code", status: 401 }]
      }))
      assert.isTrue(PlexError.isInvalidVerificationCode(error))
      assert.isFalse(PlexError.isTwoFactorRequired(error))
    }))

  it.effect("400 with code 1003 → isRateLimited", () =>
    Effect.gen(function*() {
      const { error } = yield* failSignIn(reply.json(400, {
        errors: [{ code: 1003, message: "Rate limit exceeded", status: 400 }]
      }))
      assert.instanceOf(error, PlexError.PlexBadRequest)
      assert.isTrue(PlexError.isRateLimited(error))
    }))

  it.effect("legacy XML `<errors><error>Invalid token</error></errors>` → a detail without code", () =>
    Effect.gen(function*() {
      const { error } = yield* failTokenDetails(
        reply.text(401, "<errors><error>Invalid token</error></errors>", { "content-type": "text/xml" })
      )
      assert.instanceOf(error, PlexError.PlexUnauthorized)
      const detail = (error as PlexError.PlexUnauthorized).errors[0]
      assert.strictEqual(detail.message, "Invalid token")
      assert.isUndefined(detail.code)
    }))

  it.effect("PMS 401 HTML page → PlexUnauthorized with no errors", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.fixture(401, "pms.401.real.html"))
      const error = yield* expectFailure(auth.getTransientToken())
      assert.instanceOf(error, PlexError.PlexUnauthorized)
      const unauthorized = error as PlexError.PlexUnauthorized
      assert.strictEqual(unauthorized.operation, "getTransientToken")
      assert.strictEqual(unauthorized.status, 401)
      assert.deepStrictEqual(unauthorized.errors, [])
      assert.strictEqual(client.requests.length, 1)

      // The same page without a content-type is still recognised as HTML.
      const bare = yield* setup(reply.text(401, fixture("pms.401.real.html")))
      const again = yield* expectFailure(bare.auth.getSourceConnectionInformation(source))
      assert.instanceOf(again, PlexError.PlexUnauthorized)
      assert.deepStrictEqual((again as PlexError.PlexUnauthorized).errors, [])
    }))

  it.effect("a 401 body that echoes the token or password does not leak it", () =>
    Effect.gen(function*() {
      const echo = yield* failTokenDetails(reply.json(401, {
        errors: [{ code: 1001, message: `token ${TOKEN} is not valid`, status: 401 }]
      }))
      assert.notInclude((echo.error as PlexError.PlexUnauthorized).errors[0].message, TOKEN)
      assert.notInclude(String(echo.error), TOKEN)
      assert.notInclude(JSON.stringify(echo.error), TOKEN)

      const signInEcho = yield* failSignIn(reply.json(401, {
        errors: [{ code: 1001, message: `password ${signIn.password} rejected`, status: 401 }]
      }))
      assert.include((signInEcho.error as PlexError.PlexUnauthorized).errors[0].message, "<redacted>")
      assert.notInclude(JSON.stringify(signInEcho.error), signIn.password)
      assert.notInclude(String(signInEcho.error), signIn.password)
    }))
})

describe("errors: 429 and other statuses", () => {
  it.effect("429 with Retry-After: 7 → RateLimited with retryAfterMillis 7000", () =>
    Effect.gen(function*() {
      const { client, error } = yield* failTokenDetails(
        reply.json(429, { errors: [{ code: 1003, message: "Too many requests" }] }, { "retry-after": "7" })
      )
      const sdk = expectSdk(error, "RateLimited")
      assert.strictEqual(sdk.status, 429)
      assert.strictEqual(sdk.retryAfterMillis, 7000)
      assert.strictEqual(sdk.operation, "getTokenDetails")
      assert.isTrue(PlexError.isRateLimited(error))
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("429 with an HTTP-date Retry-After → the time until that date", () =>
    Effect.gen(function*() {
      const now = Date.UTC(2026, 0, 15, 12, 0, 0)
      yield* TestClock.setTime(now)
      const { error } = yield* failTokenDetails(
        reply.status(429, { "retry-after": new Date(now + 12_000).toUTCString() })
      )
      const sdk = expectSdk(error, "RateLimited")
      assert.strictEqual(sdk.retryAfterMillis, 12_000)
    }))

  it.effect("429 without Retry-After → RateLimited, retryAfterMillis absent", () =>
    Effect.gen(function*() {
      const { error } = yield* failTokenDetails(reply.status(429))
      const sdk = expectSdk(error, "RateLimited")
      assert.isUndefined(sdk.retryAfterMillis)
      assert.isTrue(PlexError.isRateLimited(sdk))
    }))

  for (const status of [404, 500, 503]) {
    it.effect(`${status} → StatusCode with the status and a short body excerpt`, () =>
      Effect.gen(function*() {
        const body = `<html><body><h1>${status}</h1>${"x".repeat(5000)}</body></html>`
        const { client, error } = yield* failTokenDetails(reply.text(status, body, { "content-type": "text/html" }))
        const sdk = expectSdk(error, "StatusCode")
        assert.strictEqual(sdk.status, status)
        assert.strictEqual(sdk.operation, "getTokenDetails")
        assert.isString(sdk.bodyExcerpt)
        assert.isTrue(sdk.bodyExcerpt!.startsWith(`<html><body><h1>${status}</h1>`), sdk.bodyExcerpt)
        assert.isAtMost(sdk.bodyExcerpt!.length, 301)
        assert.isFalse(PlexError.isRateLimited(error))
        assert.strictEqual(client.requests.length, 1)
      }))
  }

  it.effect("an error body echoing the token is scrubbed in bodyExcerpt", () =>
    Effect.gen(function*() {
      const { error } = yield* failTokenDetails(reply.text(500, `internal error for X-Plex-Token=${TOKEN}`))
      const sdk = expectSdk(error, "StatusCode")
      assert.notInclude(sdk.bodyExcerpt ?? "", TOKEN)
      assert.include(sdk.bodyExcerpt ?? "", "<redacted>")
      assert.notInclude(JSON.stringify(sdk), TOKEN)
    }))

  it.effect("an unexpected status with an empty body has no bodyExcerpt", () =>
    Effect.gen(function*() {
      const { error } = yield* failTokenDetails(reply.status(502))
      const sdk = expectSdk(error, "StatusCode")
      assert.strictEqual(sdk.status, 502)
      assert.isUndefined(sdk.bodyExcerpt)
    }))
})

describe("errors: undecodable 2xx bodies → Decode (a failure, never a defect)", () => {
  const userJson = fixture("get-token-details.200.spec-example.json")

  const cases: ReadonlyArray<readonly [string, Script]> = [
    ["malformed JSON", reply.json(200, "{\"id\": 1, \"uuid\": }")],
    ["truncated JSON", reply.json(200, userJson.slice(0, Math.floor(userJson.length / 2)))],
    ["an HTML page", reply.fixture(200, "pms.401.real.html")],
    ["HTML without content-type", reply.text(200, "<!DOCTYPE html><html><body>maintenance</body></html>")],
    ["XML of the wrong shape", reply.text(200, "<MediaContainer size=\"0\"/>", { "content-type": "application/xml" })],
    ["broken XML", reply.text(200, "<user id=\"1\"><subscription></user>", { "content-type": "application/xml" })],
    ["an empty body", reply.status(200)],
    ["a whitespace-only body", reply.json(200, "  \n ")],
    ["plain text", reply.text(200, "OK", { "content-type": "text/plain" })],
    ["a JSON array", reply.json(200, [])],
    ["JSON null", reply.json(200, "null")],
    ["a missing required field", reply.json(200, { ...JSON.parse(userJson), uuid: undefined })],
    ["a mistyped field", reply.json(200, { ...JSON.parse(userJson), id: "not-a-number" })],
    ["a user with no name at all", reply.json(200, { ...JSON.parse(userJson), username: "", title: 7 })]
  ]

  for (const [label, script] of cases) {
    it.effect(`getTokenDetails: ${label}`, () =>
      Effect.gen(function*() {
        const { client, error } = yield* failTokenDetails(script)
        const sdk = expectSdk(error, "Decode")
        assert.strictEqual(sdk.status, 200)
        assert.strictEqual(sdk.operation, "getTokenDetails")
        // A 2xx body can hold tokens: it is never excerpted.
        assert.isUndefined(sdk.bodyExcerpt)
        assert.strictEqual(client.requests.length, 1)
      }))
  }

  it.effect("a Decode error names where the body is wrong, never the values it held", () =>
    Effect.gen(function*() {
      const raw = JSON.parse(userJson)
      const { error } = yield* failTokenDetails(reply.json(200, { ...raw, id: "tok-looks-secret-123", authToken: 42 }))
      const sdk = expectSdk(error, "Decode")
      assert.include(sdk.detail, "\"id\"")
      assert.notInclude(sdk.detail, "tok-looks-secret-123")
      assert.notInclude(JSON.stringify(sdk), "tok-looks-secret-123")
      assert.notInclude(JSON.stringify(sdk), raw.authToken)
    }))

  it.effect("a sign-in 201 that lacks authToken is Decode", () =>
    Effect.gen(function*() {
      const raw = fixtureJson("post-users-sign-in-data.201.spec-example.json")
      const { error } = yield* failSignIn(reply.json(201, { ...raw, authToken: undefined }))
      const sdk = expectSdk(error, "Decode")
      assert.include(sdk.detail, "authToken")
      assert.notInclude(JSON.stringify(sdk), signIn.password)
    }))

  it.effect("getTransientToken: a MediaContainer without token is Decode", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.json(200, { MediaContainer: { size: 0 } }))
      expectSdk(yield* expectFailure(auth.getTransientToken()), "Decode")
    }))

  it.effect("getSourceConnectionInformation: an empty Device list or a connection without port is Decode", () =>
    Effect.gen(function*() {
      const empty = yield* setup(reply.json(200, { MediaContainer: { size: 0, Device: [] } }))
      expectSdk(yield* expectFailure(empty.auth.getSourceConnectionInformation(source)), "Decode")
      const noDevice = yield* setup(reply.text(200, "<MediaContainer size=\"0\"></MediaContainer>"))
      expectSdk(yield* expectFailure(noDevice.auth.getSourceConnectionInformation(source)), "Decode")
      const noName = yield* setup(reply.json(200, { MediaContainer: { Device: { clientIdentifier: "c" } } }))
      expectSdk(yield* expectFailure(noName.auth.getSourceConnectionInformation(source)), "Decode")
    }))

  it.effect("getSourceConnectionInformation: a connection without a usable port is dropped, the rest kept", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.json(200, {
        MediaContainer: {
          Device: {
            name: "n",
            clientIdentifier: "c",
            Connection: [
              { protocol: "http", address: "a", uri: "u", port: "eighty" },
              { protocol: "http", address: "b", uri: "http://b:32400", port: 32400 }
            ]
          }
        }
      }))
      const info = yield* auth.getSourceConnectionInformation(source)
      assert.deepStrictEqual(info.device.connections.map((c) => c.address), ["b"])
    }))

  it.effect("Content-Length above maxBodyBytes → Decode without reading the body", () =>
    Effect.gen(function*() {
      const big = JSON.stringify({ ...JSON.parse(userJson), padding: "p".repeat(2000) })
      const { auth, client } = yield* setup(reply.json(200, big))
      const error = yield* expectFailure(
        auth.getTokenDetails().pipe(Effect.provide(Layer.orDie(PlexPolicy.layer({ maxBodyBytes: 1000 }))))
      )
      const sdk = expectSdk(error, "Decode")
      assert.include(sdk.detail, "1000-byte cap")
      assert.include(sdk.detail, String(new TextEncoder().encode(big).length))
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("a chunked body without Content-Length above maxBodyBytes → Decode", () =>
    Effect.gen(function*() {
      const chunks = Array.from({ length: 10 }, (_, i) => (i === 0 ? "{\"padding\":\"" : "") + "q".repeat(300))
      const { auth, client } = yield* setup(reply.chunked(200, chunks, { "content-type": "application/json" }))
      const error = yield* expectFailure(
        auth.getTokenDetails().pipe(Effect.provide(Layer.orDie(PlexPolicy.layer({ maxBodyBytes: 1000 }))))
      )
      const sdk = expectSdk(error, "Decode")
      assert.include(sdk.detail, "1000-byte cap")
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("a body exactly at maxBodyBytes is read", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ MediaContainer: { token: "transient-x" } })
      const { auth } = yield* setup(reply.json(200, body))
      const result = yield* auth.getTransientToken().pipe(
        Effect.provide(PlexPolicy.layer({ maxBodyBytes: new TextEncoder().encode(body).length }))
      )
      assert.strictEqual(Redacted.value(result.token), "transient-x")
    }))
})

describe("errors: transport", () => {
  it.effect("a transport failure → Transport, with a cause that does not carry the token", () =>
    Effect.gen(function*() {
      const { client, error } = yield* failTokenDetails(reply.transportError("connect ECONNREFUSED 127.0.0.1:9"))
      const sdk = expectSdk(error, "Transport")
      assert.strictEqual(sdk.operation, "getTokenDetails")
      assert.isUndefined(sdk.status)
      assert.include(sdk.cause ?? "", "ECONNREFUSED")
      assert.notInclude(JSON.stringify(sdk), TOKEN)
      assert.notInclude(String(sdk), TOKEN)
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("a transport failure during sign-in → Transport, not retried, password not leaked", () =>
    Effect.gen(function*() {
      const { client, error } = yield* failSignIn(reply.transportError(`socket hang up ${signIn.password}`))
      const sdk = expectSdk(error, "Transport")
      assert.notInclude(JSON.stringify(sdk), signIn.password)
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("all three errors are PlexError and print without secrets", () =>
    Effect.gen(function*() {
      const { error } = yield* failTokenDetails(reply.fixture(401, "get-token-details.401.json"))
      assert.isTrue(PlexError.isPlexError(error))
      assert.isFalse(PlexError.isPlexError(new Error("x")))
      assert.notInclude(String(error), TOKEN)
      assert.strictEqual(
        error.message,
        "getTokenDetails: unauthorized (HTTP 401): 1001 User could not be authenticated"
      )
    }))
})
