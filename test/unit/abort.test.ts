/**
 * How a call ends its requests: on the live clock an attempt timeout aborts the request through the
 * `AbortSignal` @effect/platform hands the transport (no fiber is forked per call), an interrupted
 * call aborts what is in flight, a successful one leaves its request alone, and the caller's fiber
 * is left as it was whichever way the call ends.
 */
import { FetchHttpClient, Headers, HttpClient, HttpClientResponse } from "@effect/platform"
import type { HttpClientError, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, FiberRef, Layer, Option, Scope, Tracer } from "effect"
import { Authentication, PlexConfig, PlexError, PlexPolicy, PlexToken } from "../../src/index.js"
import { untilAborted } from "../../src/internal/abort.js"
import { baseConfig, expectFailure } from "./helpers.js"

type Answer = "hang" | "ok"

/** A transport that records each request's signal and answers from `script`, in order. */
const signalClient = (script: ReadonlyArray<Answer>) => {
  const signals: Array<AbortSignal> = []
  const client = HttpClient.make((request, _url, signal) =>
    Effect.suspend((): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
      signals.push(signal)
      const answer = script[Math.min(signals.length - 1, script.length - 1)]
      return answer === "hang"
        ? untilAborted(request as HttpClientRequest.HttpClientRequest, signal)
        : Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ MediaContainer: { token: "transient-1" } }), {
            status: 200,
            headers: { "content-type": "application/json" }
          })
        ))
    })
  )
  const auth = Effect.provide(
    Authentication.Authentication,
    Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.succeed(HttpClient.HttpClient, client),
      PlexConfig.layer(baseConfig),
      PlexToken.layer("tok-abort-1")
    )))
  )
  return { signals, auth }
}

describe("attempt timeouts on the live clock", () => {
  it.live("abort the request's signal and fail with Timeout", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["hang"])
      const service = yield* auth
      const error = yield* expectFailure(
        PlexPolicy.withPolicy(service.getTransientToken(), { attemptTimeout: "20 millis", maxAttempts: 1 })
      )
      assert.isTrue(PlexError.isReason(error, "Timeout"), String(error))
      assert.strictEqual(signals.length, 1)
      assert.isTrue(signals[0].aborted)
    }))

  it.live("are retried: the aborted attempt is followed by a fresh request", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["hang", "ok"])
      const service = yield* auth
      const token = yield* PlexPolicy.withPolicy(service.getTransientToken(), {
        attemptTimeout: "20 millis",
        maxAttempts: 2,
        baseDelay: "1 millis"
      })
      assert.isTrue(token.token !== undefined)
      assert.strictEqual(signals.length, 2)
      assert.isTrue(signals[0].aborted, "the timed-out request is aborted")
      assert.isFalse(signals[1].aborted, "the request that answered is not")
    }))
})

describe("interruption and success", () => {
  it.live("interrupting a call aborts the request in flight", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["hang"])
      const service = yield* auth
      const fiber = yield* Effect.fork(service.getTransientToken())
      while (signals.length === 0) yield* Effect.sleep("1 millis")
      assert.isFalse(signals[0].aborted)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(signals[0].aborted)
    }))

  it.effect("a successful call does not abort its request (there is nothing left to cancel)", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["ok"])
      const service = yield* auth
      yield* service.getTransientToken()
      assert.strictEqual(signals.length, 1)
      assert.isFalse(signals[0].aborted)
    }))
})

describe("the caller's fiber after a call", () => {
  const snapshot = Effect.gen(function*() {
    const context = yield* FiberRef.get(FiberRef.currentContext)
    return {
      redacted: yield* FiberRef.get(Headers.currentRedactedNames),
      tracerDisabledWhen: yield* FiberRef.get(HttpClient.currentTracerDisabledWhen),
      propagation: yield* FiberRef.get(HttpClient.currentTracerPropagation),
      scope: Context.getOption(context, Scope.Scope),
      parentSpan: Context.getOption(context, Tracer.ParentSpan),
      requestInit: Context.getOption(context, FetchHttpClient.RequestInit)
    }
  })

  for (
    const [name, answers, policy] of [
      ["success", ["ok"], {}],
      ["timeout", ["hang"], { attemptTimeout: "10 millis", maxAttempts: 1 }]
    ] as const
  ) {
    it.live(`is as it was before the call (${name})`, () =>
      Effect.gen(function*() {
        const { auth } = signalClient(answers)
        const service = yield* auth
        const before = yield* snapshot
        yield* Effect.exit(PlexPolicy.withPolicy(service.getTransientToken(), policy))
        const after = yield* snapshot
        assert.deepStrictEqual(after.redacted, before.redacted)
        assert.isFalse(after.redacted.includes("x-plex-token"))
        assert.strictEqual(after.tracerDisabledWhen, before.tracerDisabledWhen)
        assert.strictEqual(after.propagation, before.propagation)
        assert.isTrue(Option.isNone(after.scope), "no Scope left behind")
        assert.isTrue(Option.isNone(after.parentSpan), "no parent span left behind")
        assert.isTrue(Option.isNone(after.requestInit), "no fetch options left behind")
      }))
  }
})
