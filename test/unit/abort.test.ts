/**
 * How a call ends its requests: an attempt timeout interrupts the attempt (so it ends even on a
 * transport that ignores its `AbortSignal`) and aborts the request through that signal, on the
 * live clock and under `TestClock` alike; an interrupted call aborts what is in flight, a successful
 * one leaves its request alone; no timer or fiber outlives a call; and the caller's fiber is left as
 * it was whichever way the call ends.
 */
import { FetchHttpClient, Headers, HttpClient, HttpClientResponse } from "@effect/platform"
import type { HttpClientError, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Context,
  Effect,
  Exit,
  Fiber,
  FiberRef,
  Layer,
  Option,
  Scope,
  Supervisor,
  TestClock,
  Tracer
} from "effect"
import { Authentication, PlexConfig, PlexError, PlexPolicy, PlexToken } from "../../src/index.js"
import { untilAborted } from "../../src/internal/abort.js"
import { baseConfig, expectFailure, makeTestClient, reply } from "./helpers.js"

/** `hang`: ends when its signal aborts, as real transports do; `deaf`: never ends, whatever happens. */
type Answer = "hang" | "deaf" | "ok"

/** A transport that records each request's signal and answers from `script`, in order. */
const signalClient = (script: ReadonlyArray<Answer>) => {
  const signals: Array<AbortSignal> = []
  const client = HttpClient.make((request, _url, signal) =>
    Effect.suspend((): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
      signals.push(signal)
      const answer = script[Math.min(signals.length - 1, script.length - 1)]
      return answer === "hang"
        ? untilAborted(request as HttpClientRequest.HttpClientRequest, signal)
        : answer === "deaf"
        ? Effect.never
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
      Layer.orDie(PlexConfig.layer(baseConfig)),
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

describe("a transport that never answers and ignores its signal", () => {
  it.live("is cut short on the live clock: Timeout after the attempt's budget", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["deaf"])
      const service = yield* auth
      const started = Date.now()
      const error = yield* expectFailure(
        PlexPolicy.withPolicy(service.getTransientToken(), { attemptTimeout: "30 millis", maxAttempts: 1 })
      )
      assert.isTrue(PlexError.isReason(error, "Timeout"), String(error))
      assert.isBelow(Date.now() - started, 2_000)
      assert.isTrue(signals[0].aborted, "its signal is aborted all the same")
    }))

  it.effect("is cut short under TestClock by the same code path", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["deaf"])
      const service = yield* auth
      const fiber = yield* Effect.fork(
        Effect.exit(PlexPolicy.withPolicy(service.getTransientToken(), { attemptTimeout: "5 seconds", maxAttempts: 1 }))
      )
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "not before the budget")
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit) && PlexError.isReason(Cause.squash(exit.cause), "Timeout"))
      assert.isTrue(signals[0].aborted)
    }))

  it.effect("the deadline bounds a chain of such attempts", () =>
    Effect.gen(function*() {
      const { auth, signals } = signalClient(["deaf"])
      const service = yield* auth
      const fiber = yield* Effect.fork(Effect.exit(PlexPolicy.withPolicy(service.getTransientToken(), {
        attemptTimeout: "50 millis",
        deadline: "120 millis",
        maxAttempts: 10,
        baseDelay: 0
      })))
      yield* TestClock.adjust("120 millis")
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
      assert.isTrue(PlexError.isReason(error, "Timeout"))
      assert.include((error as PlexError.PlexSdkError).detail, "deadline")
      // 50 + 50 + the last 20 of the deadline: three attempts, each cut short.
      assert.strictEqual(signals.length, 3)
      assert.isTrue(signals.every((signal) => signal.aborted))
    }))
})

describe("nothing outlives a call", () => {
  const tracked = <A, E>(self: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const exit = yield* Effect.exit(Effect.supervised(self, supervisor))
      return { exit, fibers: yield* supervisor.value }
    })

  const failingAuth = Effect.provide(
    Authentication.Authentication,
    Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
      makeTestClient(reply.status(500)).layer,
      Layer.orDie(PlexConfig.layer(baseConfig)),
      PlexToken.layer("tok")
    )))
  )

  it.effect("no fiber after a success, a failure, a timeout or an interruption", () =>
    Effect.gen(function*() {
      const success = yield* tracked((yield* signalClient(["ok"]).auth).getTransientToken())
      assert.isTrue(Exit.isSuccess(success.exit))
      assert.strictEqual(success.fibers.length, 0)

      const failed = yield* tracked(
        PlexPolicy.withPolicy((yield* failingAuth).getTransientToken(), { maxAttempts: 1 })
      )
      assert.isTrue(Exit.isFailure(failed.exit))
      assert.strictEqual(failed.fibers.length, 0)

      const service = yield* signalClient(["deaf"]).auth
      const timing = yield* Effect.fork(tracked(
        PlexPolicy.withPolicy(service.getTransientToken(), { attemptTimeout: "1 second", maxAttempts: 1 })
      ))
      yield* TestClock.adjust("1 second")
      const timedOut = yield* Fiber.join(timing)
      assert.isTrue(Exit.isFailure(timedOut.exit))
      assert.strictEqual(timedOut.fibers.length, 0)

      const supervisor = yield* Supervisor.track
      const running = yield* Effect.fork(Effect.supervised(service.getTransientToken(), supervisor))
      yield* TestClock.adjust("1 millis")
      assert.isAbove((yield* supervisor.value).length, 0, "the attempt runs in a fiber of its own")
      yield* Fiber.interrupt(running)
      assert.strictEqual((yield* supervisor.value).length, 0)
    }))

  // Every timer the call sets, counted by wrapping the global setTimeout/clearTimeout for the
  // duration of the test (Effect's live clock and the SDK's attempt timer both use them): the
  // attempt timer must be cleared however the call ends. Timers of other tests in the same worker
  // are not counted.
  const trackTimers = Effect.acquireRelease(
    Effect.sync(() => {
      const pending = new Set<unknown>()
      const { clearTimeout: clear, setTimeout: set } = globalThis
      globalThis.setTimeout = ((handler: (...args: Array<unknown>) => void, ms?: number, ...args: Array<unknown>) => {
        const handle = set(
          (...a: Array<unknown>) => {
            pending.delete(handle)
            handler(...a)
          },
          ms,
          ...args
        )
        pending.add(handle)
        return handle
      }) as typeof setTimeout
      globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
        pending.delete(handle)
        clear(handle)
      }) as typeof clearTimeout
      return {
        pending: () => pending.size,
        restore: () => Object.assign(globalThis, { setTimeout: set, clearTimeout: clear })
      }
    }),
    ({ restore }) => Effect.sync(restore)
  )

  it.scopedLive("no timer left on the live clock after a success, a failure, a timeout or an interruption", () =>
    Effect.gen(function*() {
      const { pending } = yield* trackTimers
      yield* (yield* signalClient(["ok"]).auth).getTransientToken()
      assert.strictEqual(pending(), 0, "after a success")
      yield* Effect.exit(PlexPolicy.withPolicy((yield* failingAuth).getTransientToken(), { maxAttempts: 1 }))
      assert.strictEqual(pending(), 0, "after a failure")
      const service = yield* signalClient(["deaf"]).auth
      yield* Effect.exit(
        PlexPolicy.withPolicy(service.getTransientToken(), { attemptTimeout: "10 millis", maxAttempts: 1 })
      )
      assert.strictEqual(pending(), 0, "after a timeout")
      const running = yield* Effect.fork(service.getTransientToken())
      yield* Effect.yieldNow()
      assert.isAbove(pending(), 0, "the attempt's timer is set while the call runs")
      yield* Fiber.interrupt(running)
      assert.strictEqual(pending(), 0, "after an interruption")
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
