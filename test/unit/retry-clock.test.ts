import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigError, Duration, Effect, Either, Exit, Fiber, Option, TestClock, TestServices } from "effect"
import { PlexError, PlexPolicy } from "../../src/index.js"
import { reply, setup } from "./helpers.js"

const user = reply.fixture(200, "get-token-details.200.spec-example.json")
const unavailable = reply.status(503)

/** Deterministic backoff: 100 ms, 200 ms, 400 ms, … */
const retrying = (options: PlexPolicy.Options = {}) =>
  PlexPolicy.layer({ jitter: false, baseDelay: "100 millis", maxAttempts: 3, ...options })

/**
 * Awaits a forked call that must finish without the TestClock moving, bounded by real time so
 * a call that sleeps fails the test quickly instead of hanging it.
 */
const awaitWithoutTime = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  TestServices.provideWithLive(
    Fiber.await(fiber),
    Effect.timeoutFail({
      duration: "2 seconds",
      onTimeout: () => new Error("the call waited on the clock; it should have ended at once")
    })
  )

const isDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)

/** The one typed failure of an exit (never a defect). */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) return assert.fail("expected the call to fail")
  assert.isFalse(Cause.isDie(exit.cause), Cause.pretty(exit.cause))
  const failures = [...Cause.failures(exit.cause)]
  assert.strictEqual(failures.length, 1, Cause.pretty(exit.cause))
  return failures[0]
}

const sdkFailure = <A, E>(exit: Exit.Exit<A, E>): PlexError.PlexSdkError => {
  const error = failureOf(exit)
  assert.instanceOf(error, PlexError.PlexSdkError, String(error))
  return error as unknown as PlexError.PlexSdkError
}

describe("retries on the TestClock", () => {
  it.effect("503, 503, 200: three attempts; the 2nd after 100 ms, the 3rd 200 ms later", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([unavailable, unavailable, user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
      yield* TestClock.adjust("99 millis")
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* TestClock.adjust("199 millis")
      assert.strictEqual(client.requests.length, 2)
      assert.isFalse(yield* isDone(fiber))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 3)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.id, 13692262)
      // The retried requests are the same request.
      assert.deepStrictEqual(client.requests[2], client.requests[0])
    }))

  it.effect("maxDelay caps each wait", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([unavailable, unavailable, unavailable, user])
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({ maxAttempts: 4, maxDelay: "150 millis" })))
      )
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* TestClock.adjust("149 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 3)
      // Uncapped this wait would be 400 ms.
      yield* TestClock.adjust("149 millis")
      assert.strictEqual(client.requests.length, 3)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 4)
      assert.strictEqual((yield* Fiber.join(fiber)).username, "Username")
    }))

  it.effect("maxAttempts 3: fails after 3 attempts with attempts: 3 and the last status", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([unavailable, unavailable, reply.status(502)])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
      yield* TestClock.adjust("300 millis")
      const exit = yield* Fiber.await(fiber)
      const error = sdkFailure(exit)
      assert.strictEqual(error.reason, "StatusCode")
      assert.strictEqual(error.attempts, 3)
      assert.strictEqual(error.status, 502)
      assert.include(error.message, "after 3 attempts")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(client.requests.length, 3)
    }))

  it.effect("transport failures are retried for GETs", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.transportError(), reply.transportError(), user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
      yield* TestClock.adjust("300 millis")
      assert.strictEqual(client.requests.length, 3)
      assert.strictEqual((yield* Fiber.join(fiber)).id, 13692262)
    }))

  it.effect("Retry-After: 2 on a 429 waits 2 s (not the 100 ms backoff)", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.status(429, { "retry-after": "2" }), user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 2)
      assert.strictEqual((yield* Fiber.join(fiber)).id, 13692262)
    }))

  it.effect("Retry-After may exceed maxDelay (but not the deadline)", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.status(503, { "retry-after": "3" }), user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying({ maxDelay: "1 second" }))))
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* Fiber.join(fiber)
    }))

  it.effect("a 429 without Retry-After backs off like any retryable status", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.status(429), user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
      yield* TestClock.adjust("99 millis")
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* Fiber.join(fiber)
    }))

  it.effect("a Retry-After beyond the deadline ends the call at once with RateLimited", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.status(429, { "retry-after": "60" }), user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying({ deadline: "5 seconds" }))))
      const exit = yield* awaitWithoutTime(fiber)
      const error = sdkFailure(exit)
      assert.strictEqual(error.reason, "RateLimited")
      assert.strictEqual(error.status, 429)
      assert.strictEqual(error.retryAfterMillis, 60_000)
      assert.isTrue(PlexError.isRateLimited(error))
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("postUsersSignInData is not retried on 503, even with maxAttempts 3", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([
        unavailable,
        reply.fixture(201, "post-users-sign-in-data.201.spec-example.json")
      ])
      const fiber = yield* Effect.fork(
        auth.postUsersSignInData({ login: "u", password: "p" }).pipe(Effect.provide(retrying()))
      )
      const error = sdkFailure(yield* awaitWithoutTime(fiber))
      assert.strictEqual(error.reason, "StatusCode")
      assert.strictEqual(error.status, 503)
      assert.isUndefined(error.attempts)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("postUsersSignInData is not retried after a transport failure", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.transportError(), user])
      const fiber = yield* Effect.fork(
        auth.postUsersSignInData({ login: "u", password: "p" }).pipe(Effect.provide(retrying()))
      )
      assert.strictEqual(sdkFailure(yield* awaitWithoutTime(fiber)).reason, "Transport")
      assert.strictEqual(client.requests.length, 1)
    }))

  for (const [status, name] of [[400, "get-token-details.400.json"], [401, "get-token-details.401.json"]] as const) {
    it.effect(`${status} is never retried`, () =>
      Effect.gen(function*() {
        const { auth, client } = yield* setup([reply.fixture(status, name), user])
        const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
        const error = failureOf(yield* awaitWithoutTime(fiber))
        assert.strictEqual(error._tag, status === 400 ? "PlexBadRequest" : "PlexUnauthorized")
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(client.requests.length, 1)
      }))
  }

  it.effect("404 is not a retry status", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.status(404), user])
      const fiber = yield* Effect.fork(auth.getTokenDetails().pipe(Effect.provide(retrying())))
      assert.strictEqual(sdkFailure(yield* awaitWithoutTime(fiber)).status, 404)
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("retryStatuses decides which statuses retry", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([unavailable, user])
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({ retryStatuses: [500] })))
      )
      assert.strictEqual(sdkFailure(yield* awaitWithoutTime(fiber)).status, 503)
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("withPolicy({ maxAttempts: 1 }) on one call turns its retries off", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([unavailable, user])
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(PlexPolicy.withPolicy({ maxAttempts: 1 }), Effect.provide(retrying()))
      )
      assert.strictEqual(sdkFailure(yield* awaitWithoutTime(fiber)).status, 503)
      assert.strictEqual(client.requests.length, 1)
    }))
})

describe("timeouts and the deadline on the TestClock", () => {
  it.effect("the per-attempt timeout gives Timeout and is retried for GETs", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.never)
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({ attemptTimeout: "1 second", maxAttempts: 2 })))
      )
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(client.requests.length, 1)
      assert.isFalse(yield* isDone(fiber))
      yield* TestClock.adjust("1 millis")
      // Timed out; now waiting 100 ms before the retry.
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* TestClock.adjust("999 millis")
      assert.isFalse(yield* isDone(fiber))
      yield* TestClock.adjust("1 millis")
      const error = sdkFailure(yield* Fiber.await(fiber))
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(error.attempts, 2)
      assert.include(error.detail, "attempt")
      assert.isTrue(PlexError.isReason(error, "Timeout"))
    }))

  it.effect("a timed-out attempt that later succeeds on retry", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup([reply.never, user])
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({ attemptTimeout: "1 second" })))
      )
      yield* TestClock.adjust("1100 millis")
      assert.strictEqual(client.requests.length, 2)
      assert.strictEqual((yield* Fiber.join(fiber)).id, 13692262)
    }))

  it.effect("sign-in times out after one attempt and is not retried", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.never)
      const fiber = yield* Effect.fork(
        auth.postUsersSignInData({ login: "u", password: "p" }).pipe(
          Effect.provide(retrying({ attemptTimeout: "1 second" }))
        )
      )
      yield* TestClock.adjust("1 second")
      const error = sdkFailure(yield* Fiber.await(fiber))
      assert.strictEqual(error.reason, "Timeout")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("the deadline bounds one slow attempt", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.never)
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({ attemptTimeout: "10 seconds", deadline: "2500 millis" })))
      )
      yield* TestClock.adjust("2499 millis")
      assert.isFalse(yield* isDone(fiber))
      yield* TestClock.adjust("1 millis")
      const error = sdkFailure(yield* Fiber.await(fiber))
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.detail, "deadline")
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("the deadline bounds attempts and waits together: the last attempt gets what is left", () =>
    Effect.gen(function*() {
      // Attempts at 0 (times out at 1000), 1100 (times out at 2100), 2300 (cut at 2500 by the deadline).
      const { auth, client } = yield* setup(reply.never)
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({
          attemptTimeout: "1 second",
          deadline: "2500 millis",
          maxAttempts: 10
        })))
      )
      yield* TestClock.adjust("1100 millis")
      assert.strictEqual(client.requests.length, 2)
      yield* TestClock.adjust("1200 millis")
      assert.strictEqual(client.requests.length, 3)
      yield* TestClock.adjust("199 millis")
      assert.isFalse(yield* isDone(fiber))
      yield* TestClock.adjust("1 millis")
      const error = sdkFailure(yield* Fiber.await(fiber))
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.detail, "deadline")
      assert.strictEqual(error.attempts, 3)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(client.requests.length, 3)
    }))

  it.effect("a backoff that would pass the deadline ends the call with the last error", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(unavailable)
      const fiber = yield* Effect.fork(
        auth.getTokenDetails().pipe(Effect.provide(retrying({
          baseDelay: "1 second",
          deadline: "2500 millis",
          maxAttempts: 10
        })))
      )
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(client.requests.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(client.requests.length, 2)
      // The next wait (2 s) would end at 3000 > 2500: the call ends now, at 1000.
      const exit = yield* awaitWithoutTime(fiber)
      const error = sdkFailure(exit)
      assert.strictEqual(error.reason, "StatusCode")
      assert.strictEqual(error.status, 503)
      assert.strictEqual(error.attempts, 2)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 1000)
    }))
})

describe("PlexPolicy (pure)", () => {
  const make = (options: PlexPolicy.Options, base?: PlexPolicy.Policy) =>
    Either.getOrThrow(PlexPolicy.make(options, base))
  const noJitter = make({ jitter: false, baseDelay: "100 millis", maxDelay: "1 second" })

  it("retryDelayMillis is exponential from baseDelay and capped at maxDelay", () => {
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5, 6, 20].map((n) => PlexPolicy.retryDelayMillis(noJitter, n, undefined, 0.5)),
      [100, 200, 400, 800, 1000, 1000, 1000]
    )
    const defaults = { ...PlexPolicy.defaults, jitter: false }
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5, 6].map((n) => PlexPolicy.retryDelayMillis(defaults, n, undefined, 0)),
      [250, 500, 1000, 2000, 4000, 5000]
    )
  })

  it("jitter keeps each wait within [50%, 100%] of the backoff", () => {
    const jittered = make({ jitter: true, baseDelay: "100 millis", maxDelay: "1 second" })
    assert.strictEqual(PlexPolicy.retryDelayMillis(jittered, 1, undefined, 0), 50)
    assert.strictEqual(PlexPolicy.retryDelayMillis(jittered, 3, undefined, 0), 200)
    assert.strictEqual(PlexPolicy.retryDelayMillis(jittered, 3, undefined, 0.5), 300)
    for (const retry of [1, 2, 3, 4, 5, 8]) {
      const full = PlexPolicy.retryDelayMillis(noJitter, retry, undefined, 0)
      let previous = -1
      for (let i = 0; i < 100; i++) {
        const random = i / 100
        const wait = PlexPolicy.retryDelayMillis(jittered, retry, undefined, random)
        assert.isAtLeast(wait, full / 2)
        assert.isAtMost(wait, full)
        assert.isAtLeast(wait, previous)
        previous = wait
      }
      assert.isAtLeast(PlexPolicy.retryDelayMillis(jittered, retry, undefined, 0.999999), full - 1)
    }
  })

  it("a server's Retry-After wins over backoff, jitter and maxDelay", () => {
    const jittered = make({ jitter: true, baseDelay: "100 millis", maxDelay: "1 second" })
    assert.strictEqual(PlexPolicy.retryDelayMillis(jittered, 1, 7000, 0.3), 7000)
    assert.strictEqual(PlexPolicy.retryDelayMillis(noJitter, 5, 20, 0.3), 20)
    assert.strictEqual(PlexPolicy.retryDelayMillis(noJitter, 1, 0, 0.3), 0)
    assert.strictEqual(PlexPolicy.retryDelayMillis(noJitter, 1, -500, 0.3), 0)
  })

  it("make decodes durations and keeps the base for what is not given", () => {
    const policy = make({
      attemptTimeout: "2 seconds",
      deadline: 9000,
      baseDelay: Duration.millis(10),
      maxDelay: "1 minute",
      maxAttempts: 2,
      retryStatuses: [503],
      maxBodyBytes: 1000,
      redirects: "none",
      maxRedirects: 1,
      propagateTraceContext: true
    })
    assert.strictEqual(Duration.toMillis(policy.attemptTimeout), 2000)
    assert.strictEqual(Duration.toMillis(policy.deadline), 9000)
    assert.strictEqual(Duration.toMillis(policy.baseDelay), 10)
    assert.strictEqual(Duration.toMillis(policy.maxDelay), 60_000)
    assert.strictEqual(policy.maxAttempts, 2)
    assert.deepStrictEqual(policy.retryStatuses, [503])
    assert.strictEqual(policy.maxBodyBytes, 1000)
    assert.strictEqual(policy.redirects, "none")
    assert.strictEqual(policy.maxRedirects, 1)
    assert.strictEqual(policy.propagateTraceContext, true)
    assert.strictEqual(policy.jitter, PlexPolicy.defaults.jitter)

    assert.deepStrictEqual(make({}), PlexPolicy.defaults)

    const base = make({ maxAttempts: 5 })
    const layered = make({ jitter: false }, base)
    assert.strictEqual(layered.maxAttempts, 5)
    assert.strictEqual(layered.jitter, false)
    // make never mutates its base.
    assert.strictEqual(PlexPolicy.defaults.maxAttempts, 3)
    assert.strictEqual(base.jitter, true)
  })

  it("make refuses what it cannot use with a ConfigError naming the option, instead of keeping a default", () => {
    const refused = (options: PlexPolicy.Options, key: string) => {
      const result = PlexPolicy.make(options)
      assert.isTrue(Either.isLeft(result), `${JSON.stringify(options)} was accepted`)
      if (Either.isLeft(result)) {
        assert.isTrue(ConfigError.isInvalidData(result.left))
        assert.deepStrictEqual((result.left as ConfigError.InvalidData).path, [key])
      }
    }
    refused({ maxAttempts: 0 }, "maxAttempts")
    refused({ maxAttempts: -3 }, "maxAttempts")
    refused({ maxAttempts: 2.7 }, "maxAttempts")
    refused({ maxAttempts: Number.NaN }, "maxAttempts")
    refused({ maxBodyBytes: -1 }, "maxBodyBytes")
    refused({ maxRedirects: 1.5 }, "maxRedirects")
    refused({ deadline: "1e3 seconds" as Duration.DurationInput }, "deadline")
    refused({ attemptTimeout: 0 }, "attemptTimeout")
    refused({ baseDelay: -5 }, "baseDelay")
    refused({ retryStatuses: [503, 99] }, "retryStatuses")
  })

  it.effect("the policy in force defaults to PlexPolicy.defaults; layer and layerNoRetries replace it", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* PlexPolicy.PlexPolicy, PlexPolicy.defaults)
      const layered = yield* Effect.provide(PlexPolicy.PlexPolicy, PlexPolicy.layer({ maxBodyBytes: 1000 }))
      assert.strictEqual(layered.maxBodyBytes, 1000)
      assert.strictEqual(layered.maxAttempts, 3)
      const off = yield* Effect.provide(PlexPolicy.PlexPolicy, PlexPolicy.layerNoRetries)
      assert.strictEqual(off.maxAttempts, 1)
    }))

  it.effect("withPolicy leaves the policy in force untouched outside the effect it wraps", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(PlexPolicy.withPolicy({ maxAttempts: 7 }))
      assert.strictEqual(yield* PlexPolicy.PlexPolicy, PlexPolicy.defaults)
    }))
})
