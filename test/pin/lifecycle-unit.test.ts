import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientModule from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import type { LogLevel } from "effect"
import { Cause, Effect, Exit, Layer, Logger, Redacted, Schedule, Scope, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import * as Models from "../../src/Models.js"
import * as PlexConfig from "../../src/PlexConfig.js"
import * as PlexError from "../../src/PlexError.js"
import * as PlexPolicy from "../../src/PlexPolicy.js"
import * as PlexToken from "../../src/PlexToken.js"
import * as TokenLifecycle from "../../src/TokenLifecycle.js"
import { expectFailure, fixture, makeTestClient, reply } from "../unit/helpers.js"
import type { Script } from "../unit/helpers.js"

const CLIENT_ID = "lifecycle-unit-client"
const PRODUCT = "effect-plex lifecycle tests"
const TOKEN = "configured-token-Hd72Lq"
const OTHER = "argument-token-Pp39Vn"

const config: PlexConfig.Options = { clientIdentifier: CLIENT_ID, product: PRODUCT }

const setup = (script: Script, options: { readonly token?: string | null } = {}) => {
  const client = makeTestClient(script)
  const token = options.token === null ? PlexToken.none : PlexToken.layer(options.token ?? TOKEN)
  const layer = TokenLifecycle.layer.pipe(
    Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer(config), token))
  )
  return Effect.map(Effect.provide(TokenLifecycle.TokenLifecycle, layer), (tokens) => ({ tokens, client }))
}

const user = reply.fixture(200, "get-token-details.200.spec-example.json")
const unauthorized = reply.fixture(401, "get-token-details.401.json")

const noRetries = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, PlexPolicy.layerNoRetries)

const expectSdkError = (error: unknown, reason: PlexError.SdkErrorReason): PlexError.PlexSdkError => {
  assert.instanceOf(error, PlexError.PlexSdkError)
  assert.strictEqual((error as PlexError.PlexSdkError).reason, reason)
  return error as PlexError.PlexSdkError
}

// Response bodies are read through promises, which TestClock does not drive.
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))

// --- validateToken ----------------------------------------------------------------------------

describe("TokenLifecycle.validateToken", () => {
  it.effect("200 is Valid with the account; GET /user with the given token", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(user)
      const validity = yield* tokens.validateToken(OTHER)
      const request = client.last()
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url, "https://plex.tv/api/v2/user")
      assert.strictEqual(request.headers["x-plex-token"], OTHER)
      assert.strictEqual(request.headers["x-plex-client-identifier"], CLIENT_ID)
      assert.strictEqual(request.headers["x-plex-product"], PRODUCT)
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.strictEqual(request.body, "")
      assert.strictEqual(validity._tag, "Valid")
      if (validity._tag === "Valid") {
        assert.instanceOf(validity.user, Models.PlexUser)
        assert.strictEqual(validity.user.id, JSON.parse(fixture("get-token-details.200.spec-example.json")).id)
      }
      assert.isTrue(TokenLifecycle.TokenValidity.$is("Valid")(validity))
    }))

  it.effect("without an argument, the configured token (or options.token) is checked", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(user)
      yield* tokens.validateToken()
      assert.strictEqual(client.last().headers["x-plex-token"], TOKEN)
      yield* tokens.validateToken(undefined, { token: Redacted.make(OTHER) })
      assert.strictEqual(client.last().headers["x-plex-token"], OTHER)
      yield* tokens.validateToken(Redacted.make("redacted-arg-token"), { serverUrl: "http://127.0.0.1:9/api/v2" })
      assert.strictEqual(client.last().headers["x-plex-token"], "redacted-arg-token")
      assert.strictEqual(client.last().url, "http://127.0.0.1:9/api/v2/user")
    }))

  it.effect("401 is Invalid with plex.tv's errors, not a failure", () =>
    Effect.gen(function*() {
      const { tokens } = yield* setup(unauthorized)
      const validity = yield* tokens.validateToken(OTHER)
      assert.strictEqual(validity._tag, "Invalid")
      if (validity._tag === "Invalid") {
        assert.strictEqual(validity.errors.length, 1)
        assert.strictEqual(validity.errors[0].code, 1001)
      }
    }))

  it.effect("500 is an error, not a verdict of invalid", () =>
    noRetries(Effect.gen(function*() {
      const { tokens } = yield* setup(reply.status(500))
      const error = expectSdkError(yield* expectFailure(tokens.validateToken(OTHER)), "StatusCode")
      assert.strictEqual(error.status, 500)
    })))

  it.effect("429, 400 and an unreachable plex.tv are errors too", () =>
    noRetries(Effect.gen(function*() {
      const rateLimited = yield* setup(reply.status(429))
      expectSdkError(yield* expectFailure(rateLimited.tokens.validateToken(OTHER)), "RateLimited")
      const bad = yield* setup(reply.fixture(400, "get-token-details.400.json"))
      assert.instanceOf(yield* expectFailure(bad.tokens.validateToken(OTHER)), PlexError.PlexBadRequest)
      const down = yield* setup(reply.transportError())
      expectSdkError(yield* expectFailure(down.tokens.validateToken(OTHER)), "Transport")
    })))

  it.effect("no token anywhere: InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(user, { token: null })
      expectSdkError(yield* expectFailure(tokens.validateToken()), "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))
})

// --- ping -------------------------------------------------------------------------------------

describe("TokenLifecycle.ping", () => {
  it.effect("GET /ping with the token; JSON {pong:true} succeeds", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(reply.json(200, { pong: true }))
      const result = yield* tokens.ping()
      assert.isUndefined(result)
      const request = client.last()
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url, "https://plex.tv/api/v2/ping")
      assert.strictEqual(request.headers["x-plex-token"], TOKEN)
      assert.strictEqual(request.headers["x-plex-client-identifier"], CLIENT_ID)
      assert.strictEqual(request.body, "")
    }))

  it.effect("XML <pong>true</pong> succeeds too", () =>
    Effect.gen(function*() {
      const { tokens } = yield* setup(
        reply.text(200, `<?xml version="1.0" encoding="UTF-8"?>\n<pong>true</pong>`, {
          "content-type": "application/xml"
        })
      )
      yield* tokens.ping()
    }))

  it.effect("pong false, or a body without pong, is a Decode error", () =>
    Effect.gen(function*() {
      const no = yield* setup(reply.json(200, { pong: false }))
      expectSdkError(yield* expectFailure(no.tokens.ping()), "Decode")
      const other = yield* setup(reply.json(200, { ok: true }))
      expectSdkError(yield* expectFailure(other.tokens.ping()), "Decode")
    }))

  it.effect("401 is PlexUnauthorized", () =>
    Effect.gen(function*() {
      const { tokens } = yield* setup(unauthorized)
      assert.instanceOf(yield* expectFailure(tokens.ping()), PlexError.PlexUnauthorized)
    }))
})

// --- signOut ----------------------------------------------------------------------------------

describe("TokenLifecycle.signOut", () => {
  it.effect("DELETE /users/signout with the token; 204 is void", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(reply.status(204))
      const result = yield* tokens.signOut()
      assert.isUndefined(result)
      const request = client.last()
      assert.strictEqual(request.method, "DELETE")
      assert.strictEqual(request.url, "https://plex.tv/api/v2/users/signout")
      assert.strictEqual(request.headers["x-plex-token"], TOKEN)
      assert.strictEqual(request.body, "")
      yield* tokens.signOut({ token: Redacted.make(OTHER) })
      assert.strictEqual(client.last().headers["x-plex-token"], OTHER)
    }))

  it.effect("401 is PlexUnauthorized", () =>
    Effect.gen(function*() {
      const { tokens } = yield* setup(unauthorized)
      assert.instanceOf(yield* expectFailure(tokens.signOut()), PlexError.PlexUnauthorized)
    }))

  it.effect("is not retried", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(reply.status(503))
      // With zero backoff a wrongful retry happens at once on the TestClock and is counted.
      expectSdkError(
        yield* expectFailure(tokens.signOut().pipe(PlexPolicy.withPolicy({ baseDelay: 0, jitter: false }))),
        "StatusCode"
      )
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("without a token: InvalidRequest, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(reply.status(204), { token: null })
      expectSdkError(yield* expectFailure(tokens.signOut()), "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))
})

// --- keepAlive --------------------------------------------------------------------------------

interface Captured {
  readonly level: LogLevel.LogLevel
  readonly text: string
}

const capture = (into: Array<Captured>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      into.push({ level: logLevel, text: JSON.stringify(message) })
    })
  )

describe("TokenLifecycle.keepAlive", () => {
  it.effect("pings at once, then daily; stops when the scope closes", () =>
    Effect.gen(function*() {
      const { client, tokens } = yield* setup(reply.json(200, { pong: true }))
      const scope = yield* Scope.make()
      yield* tokens.keepAlive().pipe(Scope.extend(scope))
      yield* settle
      assert.strictEqual(client.requests.length, 1)
      assert.strictEqual(client.last().url, "https://plex.tv/api/v2/ping")
      yield* TestClock.adjust("23 hours")
      yield* settle
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.strictEqual(client.requests.length, 2)
      yield* TestClock.adjust("1 day")
      yield* settle
      assert.strictEqual(client.requests.length, 3)
      yield* Scope.close(scope, Exit.void)
      for (let day = 0; day < 3; day++) {
        yield* TestClock.adjust("1 day")
        yield* settle
      }
      assert.strictEqual(client.requests.length, 3)
    }))

  it.effect("a failed ping is logged as a warning without the token, and the fiber carries on", () =>
    noRetries(Effect.gen(function*() {
      const logs: Array<Captured> = []
      const { client, tokens } = yield* setup([
        reply.status(500),
        unauthorized,
        reply.transportError(),
        reply.json(200, { pong: true })
      ])
      yield* Effect.scoped(Effect.gen(function*() {
        yield* tokens.keepAlive(Schedule.spaced("1 hour"))
        for (let hour = 0; hour < 3; hour++) {
          yield* settle
          yield* TestClock.adjust("1 hour")
        }
        yield* settle
        assert.strictEqual(client.requests.length, 4)
      })).pipe(Effect.provide(capture(logs)))
      const warnings = logs.filter((l) => l.level._tag === "Warning")
      assert.strictEqual(warnings.length, 3)
      assert.include(warnings[0].text, "ping failed")
      assert.include(warnings[1].text, "unauthorized")
      for (const entry of logs) assert.notInclude(entry.text, TOKEN)
    })))

  it.effect("a ping that dies (a bug in a transform) is logged with its cause, and the fiber carries on", () =>
    Effect.gen(function*() {
      const entries: Array<{ level: string; text: string }> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ cause, logLevel, message }) => {
          entries.push({ level: logLevel._tag, text: `${JSON.stringify(message)} ${Cause.pretty(cause)}` })
        })
      )
      let calls = 0
      const dying = HttpClientModule.make(() =>
        Effect.suspend(() => {
          calls++
          return Effect.die(new Error("kaboom in a transform"))
        })
      )
      const layer = TokenLifecycle.layer.pipe(
        Layer.provide(Layer.mergeAll(
          Layer.succeed(HttpClientModule.HttpClient, dying),
          Layer.orDie(PlexConfig.layer(config)),
          PlexToken.layer(TOKEN)
        ))
      )
      yield* Effect.scoped(Effect.gen(function*() {
        yield* TokenLifecycle.keepAlive(Schedule.spaced("1 hour"))
        yield* settle
        yield* TestClock.adjust("1 hour")
        yield* settle
      })).pipe(Effect.provide(layer), Effect.provide(logger))
      assert.strictEqual(calls, 2, "the fiber carried on after the defect")
      const warnings = entries.filter((entry) => entry.level === "Warning")
      assert.strictEqual(warnings.length, 2)
      assert.include(warnings[0].text, "ping failed unexpectedly")
      assert.include(warnings[0].text, "kaboom in a transform", "the defect's details are logged")
    }))

  it.effect("the module accessor needs Scope and TokenLifecycle, and returns once forked", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.json(200, { pong: true }))
      const layer = TokenLifecycle.layer.pipe(
        Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer(config), PlexToken.layer(TOKEN)))
      )
      yield* Effect.scoped(Effect.gen(function*() {
        yield* TokenLifecycle.keepAlive(Schedule.recurs(1))
        yield* settle
        yield* TestClock.adjust("1 day")
        yield* settle
      })).pipe(Effect.provide(layer))
      // recurs(1): the first ping and one repetition.
      assert.strictEqual(client.requests.length, 2)
    }))
})

// --- types ------------------------------------------------------------------------------------

describe("TokenLifecycle types", () => {
  it.effect("operations fail with exactly PlexError and need nothing", () =>
    Effect.gen(function*() {
      const { tokens } = yield* setup(reply.status(204))
      type Errors = PlexError.PlexBadRequest | PlexError.PlexUnauthorized | PlexError.PlexSdkError
      expectTypeOf(tokens.validateToken()).toEqualTypeOf<
        Effect.Effect<TokenLifecycle.TokenValidity, Errors, never>
      >()
      expectTypeOf(tokens.ping()).toEqualTypeOf<Effect.Effect<void, Errors, never>>()
      expectTypeOf(tokens.signOut()).toEqualTypeOf<Effect.Effect<void, Errors, never>>()
      expectTypeOf(tokens.keepAlive()).toEqualTypeOf<Effect.Effect<void, never, Scope.Scope>>()
      expectTypeOf(TokenLifecycle.validateToken("t")).toEqualTypeOf<
        Effect.Effect<TokenLifecycle.TokenValidity, Errors, TokenLifecycle.TokenLifecycle>
      >()
      expectTypeOf(TokenLifecycle.ping()).toEqualTypeOf<Effect.Effect<void, Errors, TokenLifecycle.TokenLifecycle>>()
      expectTypeOf(TokenLifecycle.signOut()).toEqualTypeOf<
        Effect.Effect<void, Errors, TokenLifecycle.TokenLifecycle>
      >()
      expectTypeOf(TokenLifecycle.keepAlive()).toEqualTypeOf<
        Effect.Effect<void, never, Scope.Scope | TokenLifecycle.TokenLifecycle>
      >()
      expectTypeOf(TokenLifecycle.layer).toEqualTypeOf<
        Layer.Layer<
          TokenLifecycle.TokenLifecycle,
          never,
          HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
        >
      >()
      const error = yield* expectFailure(tokens.signOut({ serverUrl: "not a url" }))
      assert.isTrue(PlexError.isPlexError(error))
    }))
})
