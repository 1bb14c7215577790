/**
 * Fuzzing the one request path: whatever a server (or a broken transport) answers, every operation
 * either succeeds with a value or fails with a `PlexError`, never a defect and never an interruption.
 * Responses have arbitrary statuses 100–599, content types, bodies (random, fixture, mutated fixture,
 * truncated, XML-ish, huge), lying `Content-Length`s, `Retry-After` and `Location` headers, broken
 * body streams, and transport errors.
 *
 * The properties use plain fast-check over one reused runtime: a fresh layer or TestServices
 * environment per run would cost more than the call under test.
 */
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Exit, FastCheck as fc, Redacted, Schema } from "effect"
import { type Authentication, Models, PlexError } from "../../src/index.js"
import {
  answer,
  authenticationLayer,
  fixtureJson,
  harness,
  operationNames,
  operations,
  responseSpec,
  webResponse
} from "./arbitraries.js"

const expectedSuccess = {
  getTransientToken: Models.TransientToken,
  getSourceConnectionInformation: Models.SourceConnectionInformation,
  getTokenDetails: Models.PlexUser,
  postUsersSignInData: Models.PlexUser
} as const

const describeExit = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit) ? "success" : Cause.pretty(exit.cause)

const { runtime, script } = harness()
afterAll(() => runtime.dispose())
script.token = "fuzz-token"

describe("fuzzed responses", () => {
  for (const name of operationNames) {
    it(`${name}: success or a PlexError, never a defect or an interruption`, () =>
      fc.assert(
        fc.asyncProperty(responseSpec, async (spec) => {
          script.respond = (request) => answer(request, spec)
          const operation: Effect.Effect<unknown, PlexError.PlexError, Authentication.Authentication> = operations
            [name]()
          const exit = await runtime.runPromiseExit(operation)
          if (Exit.isSuccess(exit)) {
            assert.isTrue(exit.value instanceof expectedSuccess[name], `${name} succeeded with ${String(exit.value)}`)
            return
          }
          assert.isFalse(Cause.isDie(exit.cause), describeExit(exit))
          assert.isFalse(Cause.isInterrupted(exit.cause), describeExit(exit))
          assert.isTrue(Cause.isFailType(exit.cause), `expected exactly one Fail, got ${describeExit(exit)}`)
          const error = Cause.isFailType(exit.cause) ? exit.cause.error : undefined
          assert.isTrue(PlexError.isPlexError(error), `not a PlexError: ${String(error)}`)
          assert.isTrue(
            error instanceof PlexError.PlexBadRequest || error instanceof PlexError.PlexUnauthorized ||
              error instanceof PlexError.PlexSdkError
          )
          // Rendering the error must not throw either.
          assert.isString(String(error))
          assert.isString(JSON.stringify(error))
        }),
        { numRuns: 200 }
      ))
  }

  it("the fuzz transport really reaches the decoder: a fixture decodes through it", async () => {
    script.respond = (request) =>
      answer(request, {
        _tag: "Respond",
        status: 200,
        contentType: "application/json",
        body: JSON.stringify(fixtureJson("get-token-details.200.plex-api-rs-plexpass.json")),
        contentLength: "true",
        retryAfter: undefined,
        location: undefined,
        breakBody: false
      })
    const user = await runtime.runPromise(operations.getTokenDetails())
    assert.instanceOf(user, Models.PlexUser)
  })

  it("a transport error maps to PlexSdkError Transport, not a defect", async () => {
    script.respond = (request) => answer(request, { _tag: "TransportError", message: "ECONNRESET" })
    const error = await runtime.runPromise(Effect.flip(operations.getTokenDetails()))
    assert.isTrue(PlexError.isReason(error, "Transport"), String(error))
  })

  it.effect("the layer built from PlexConfig/PlexToken layers behaves like the harness", () =>
    Effect.gen(function*() {
      const client = HttpClient.make((request) =>
        answer(request, {
          _tag: "Respond",
          status: 401,
          contentType: "application/json",
          body: "{\"errors\":[{\"code\":1001,\"message\":\"User could not be authenticated\",\"status\":401}]}",
          contentLength: "true",
          retryAfter: undefined,
          location: undefined,
          breakBody: false
        })
      )
      const error = yield* operations.getTokenDetails().pipe(
        Effect.provide(authenticationLayer(client, "fuzz-token")),
        Effect.flip
      )
      assert.instanceOf(error, PlexError.PlexUnauthorized)
      assert.isTrue(PlexError.hasCode(error, 1001))
    }))
})

// --- schema-generated payloads ------------------------------------------------------------------

/** Encoded values JSON cannot carry (NaN, ±Infinity) are not wire data: skip them. */
const jsonSafe = (value: unknown): boolean => {
  if (typeof value === "number") return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(jsonSafe)
  if (value !== null && typeof value === "object") return Object.values(value).every(jsonSafe)
  return true
}

/**
 * Deep equality where numbers may differ in the last bits: dates travel as fractional epoch seconds
 * and come back through `seconds * 1000`, which can move them by a millisecond.
 */
const approxEqual = (a: unknown, b: unknown): boolean => {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => approxEqual(x, b[i]))
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return approxEqual(ka, kb) && ka.every((k) => approxEqual((a as any)[k], (b as any)[k]))
  }
  return Object.is(a, b)
}

const serveJson = (text: string) => {
  script.respond = (request) =>
    Effect.succeed(HttpClientResponse.fromWeb(
      request,
      webResponse({ status: 200, body: text, headers: { "content-type": "application/json" } })
    ))
}

const encodeUser = Schema.encodeSync(Models.PlexUser)
const encodeDevice = Schema.encodeSync(Models.SourceDevice)

// `Arbitrary.make` works on the lenient models: their transformations all have a typed `to` side
// (Number, Boolean, DateTimeUtc, Redacted<string>), which is what the arbitrary generates.
const users = Arbitrary.make(Models.PlexUser).filter((user) => jsonSafe(encodeUser(user)))
const devices = fc.array(
  Arbitrary.make(Models.SourceDevice).filter((device) => jsonSafe(encodeDevice(device))),
  { minLength: 1, maxLength: 3 }
)
const transientTokens = Arbitrary.make(Models.TransientToken)

describe("schema-generated payloads survive the wire", () => {
  for (const name of ["getTokenDetails", "postUsersSignInData"] as const) {
    it(`${name}: any PlexUser the model can hold decodes back to itself`, () =>
      fc.assert(
        fc.asyncProperty(users, async (user) => {
          const wire = JSON.stringify(encodeUser(user))
          serveJson(wire)
          const decoded = await runtime.runPromise(operations[name]())
          assert.strictEqual(Redacted.value(decoded.authToken), Redacted.value(user.authToken))
          assert.isTrue(
            approxEqual(encodeUser(decoded), JSON.parse(wire)),
            `round trip changed the user:\n${wire}\n${JSON.stringify(encodeUser(decoded))}`
          )
        }),
        { numRuns: 40 }
      ))
  }

  it("getSourceConnectionInformation: any list of SourceDevices decodes back to itself", () =>
    fc.assert(
      fc.asyncProperty(devices, async (list) => {
        const encoded = list.map((device) => encodeDevice(device))
        serveJson(JSON.stringify({ MediaContainer: { size: list.length, Device: encoded } }))
        const info = await runtime.runPromise(operations.getSourceConnectionInformation())
        assert.strictEqual(info.devices.length, list.length)
        assert.strictEqual(info.device, info.devices[0])
        assert.isTrue(
          approxEqual(info.devices.map((device) => encodeDevice(device)), JSON.parse(JSON.stringify(encoded)))
        )
      }),
      { numRuns: 40 }
    ))

  it("getTransientToken: any TransientToken decodes back to itself", () =>
    fc.assert(
      fc.asyncProperty(transientTokens, async (token) => {
        serveJson(JSON.stringify({ MediaContainer: { size: 0, token: Redacted.value(token.token) } }))
        const decoded = await runtime.runPromise(operations.getTransientToken())
        assert.strictEqual(Redacted.value(decoded.token), Redacted.value(token.token))
      }),
      { numRuns: 40 }
    ))
})
