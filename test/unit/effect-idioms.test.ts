/**
 * What an Effect user expects of the SDK's errors and layers: a status error raised by the user's
 * own HttpClient transform is handled like any response; predicates work data-last as refinements
 * and recognise errors from another copy of the package; a transport failure exposes its errno;
 * PinLogin needs no token source unless linkPin is used.
 */
import { HttpClient } from "@effect/platform"
import { assert, describe, it, vi } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Authentication, PinLogin, PlexConfig, PlexError, PlexPolicy, PlexToken } from "../../src/index.js"
import { baseConfig, expectFailure, makeTestClient, reply, TOKEN } from "./helpers.js"
import type { TestClient } from "./helpers.js"

/** Authentication over `client` with the user's `HttpClient.filterStatusOk` on top. */
const withFilterStatusOk = (client: TestClient) =>
  Effect.provide(
    Authentication.Authentication,
    Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.succeed(HttpClient.HttpClient, client.client.pipe(HttpClient.filterStatusOk)),
      Layer.orDie(PlexConfig.layer(baseConfig)),
      PlexToken.layer(TOKEN)
    )))
  )

describe("a status error from the user's own HttpClient transform", () => {
  it.effect("401 with code 1029 stays PlexUnauthorized, so isTwoFactorRequired matches; not retried", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.fixture(401, "post-users-sign-in-data.401.verification-code-required.json"))
      const auth = yield* withFilterStatusOk(client)
      const error = yield* expectFailure(auth.postUsersSignInData({ login: "u", password: "p" }))
      assert.isTrue(PlexError.isTwoFactorRequired(error), String(error))
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("a 503 is a retried StatusCode with its excerpt, not a Transport error", () =>
    Effect.gen(function*() {
      const client = makeTestClient([reply.text(503, "down for maintenance"), reply.json(200, { pong: true })])
      const auth = yield* withFilterStatusOk(client)
      const error = yield* expectFailure(
        auth.getTokenDetails().pipe(
          Effect.provide(Layer.orDie(PlexPolicy.layer({ maxAttempts: 1 })))
        )
      )
      assert.isTrue(PlexError.isReason(error, "StatusCode"))
      assert.strictEqual((error as PlexError.PlexSdkError).status, 503)
      assert.include((error as PlexError.PlexSdkError).bodyExcerpt ?? "", "maintenance")
    }))
})

describe("predicates in the style of Effect", () => {
  it.effect("isReason and hasCode work data-last in catchIf, narrowing the error", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.fixture(401, "post-users-sign-in-data.401.verification-code-required.json"))
      const auth = yield* Effect.provide(
        Authentication.Authentication,
        Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
          client.layer,
          Layer.orDie(PlexConfig.layer(baseConfig)),
          PlexToken.layer(TOKEN)
        )))
      )
      const code = yield* auth.postUsersSignInData({ login: "u", password: "p" }).pipe(
        Effect.map(() => "signed in"),
        Effect.catchIf(PlexError.hasCode(PlexError.ErrorCode.TwoFactorRequired), (e) => Effect.succeed(e._tag))
      )
      assert.strictEqual(code, "PlexUnauthorized")
      const reason = yield* Effect.fail(
        new PlexError.PlexSdkError({ operation: "x", reason: "PinExpired", detail: "d" })
      ).pipe(Effect.catchIf(PlexError.isReason("PinExpired"), (e) => Effect.succeed(e.reason)))
      assert.strictEqual(reason, "PinExpired")
      assert.isFalse(
        PlexError.isReason("Timeout")(new PlexError.PlexSdkError({ operation: "x", reason: "PinExpired", detail: "d" }))
      )
    }))

  it("isPlexError and the refinements recognise errors from another copy of the package", async () => {
    vi.resetModules()
    // A query string makes vite load the module again: a second copy, as two installs of the package.
    const specifier = "../../src/PlexError.js?copy"
    const other = (await import(/* @vite-ignore */ specifier)) as typeof PlexError
    assert.notStrictEqual(other.PlexSdkError, PlexError.PlexSdkError, "a second module instance")
    const foreign = new other.PlexSdkError({ operation: "x", reason: "Timeout", detail: "d" })
    assert.isFalse(foreign instanceof PlexError.PlexSdkError)
    assert.isTrue(PlexError.isPlexError(foreign))
    assert.isTrue(PlexError.isPlexSdkError(foreign))
    assert.isTrue(PlexError.isReason(foreign, "Timeout"))
    const unauthorized = new other.PlexUnauthorized({
      operation: "x",
      status: 401,
      errors: [new other.PlexErrorDetail({ code: 1029, message: "code" })]
    })
    assert.isTrue(PlexError.isTwoFactorRequired(unauthorized))
    assert.isFalse(PlexError.isPlexError({ _tag: "PlexSdkError", reason: "Timeout" }))
  })

  it("isTokenExpired (498) and isPinRequired (403 / 1041)", () => {
    assert.isTrue(PlexError.isTokenExpired(new PlexError.PlexUnauthorized({ operation: "x", status: 498, errors: [] })))
    assert.isFalse(
      PlexError.isTokenExpired(new PlexError.PlexUnauthorized({ operation: "x", status: 401, errors: [] }))
    )
    const pin = new PlexError.PlexSdkError({
      operation: "switchHomeUser",
      reason: "StatusCode",
      detail: "d",
      status: 403,
      errors: [new PlexError.PlexErrorDetail({ code: 1041, message: "A valid PIN is required" })]
    })
    assert.isTrue(PlexError.isPinRequired(pin))
    assert.isTrue(PlexError.hasCode(pin, 1041))
  })
})

describe("errors of other statuses carry plex.tv's body", () => {
  it.effect("a 403 with an errors[] body: errors parsed, hasCode matches", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.json(403, {
        errors: [{ code: 1041, message: "A valid PIN is required to perform this action", status: 403 }]
      }))
      const auth = yield* Effect.provide(
        Authentication.Authentication,
        Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
          client.layer,
          Layer.orDie(PlexConfig.layer(baseConfig)),
          PlexToken.layer(TOKEN)
        )))
      )
      const error = yield* expectFailure(auth.getTokenDetails())
      assert.isTrue(PlexError.isReason(error, "StatusCode"))
      assert.isTrue(PlexError.hasCode(error, 1041))
      assert.include(error.message, "1041")
    }))
})

describe("PinLogin without a token source", () => {
  it.effect("builds without PlexToken; createPin works; linkPin needs options.token", () =>
    Effect.gen(function*() {
      const client = makeTestClient((request) =>
        request.method === "POST"
          ? reply.json(201, { id: 42, code: "ABCD" })
          : reply.status(204)
      )
      const pins = yield* Effect.provide(
        PinLogin.PinLogin,
        PinLogin.layer.pipe(Layer.provide(Layer.mergeAll(
          client.layer,
          Layer.orDie(PlexConfig.layer({ ...baseConfig, product: "App" }))
        )))
      )
      assert.strictEqual((yield* pins.createPin()).id, 42)
      const error = yield* expectFailure(pins.linkPin("WXYZ"))
      assert.isTrue(PlexError.isReason(error, "InvalidRequest"))
      assert.strictEqual(client.requests.length, 1)
      yield* pins.linkPin("WXYZ", { token: Redacted.make(TOKEN) })
      assert.strictEqual(client.last().headers["x-plex-token"], TOKEN)
    }))

  it.effect("a server's PIN id that checkPin would refuse is a Decode error at creation", () =>
    Effect.gen(function*() {
      for (const id of [0, -5, 1.5, "abc"]) {
        const client = makeTestClient(reply.json(201, { id, code: "ABCD" }))
        const pins = yield* Effect.provide(
          PinLogin.PinLogin,
          PinLogin.layer.pipe(Layer.provide(Layer.mergeAll(
            client.layer,
            Layer.orDie(PlexConfig.layer({ ...baseConfig, product: "App" }))
          )))
        )
        const error = yield* expectFailure(pins.createPin())
        assert.isTrue(PlexError.isReason(error, "Decode"), `${JSON.stringify(id)}: ${String(error)}`)
      }
    }))
})
