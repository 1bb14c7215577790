/**
 * Resilience against real faults over loopback with real timers: retries, Retry-After, per-attempt
 * timeouts and the total deadline, dropped connections, trace propagation, load and memory.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { Authentication, PlexError, PlexPolicy } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { LoopbackLive, uniqueLogin } from "./harness.js"

const failure = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") {
      throw new Error(`expected a typed failure, got ${String(exit)}`)
    }
    return exit.cause.error
  })

const setup = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  yield* fake.resetFaults
  const login = uniqueLogin("resilience")
  const account = yield* fake.addAccount({ login, password: "pw" })
  yield* fake.clearRequests
  const hits = (path: string) => Effect.map(fake.requests, (all) => all.filter((r) => r.path === path))
  return { fake, login, token: Redacted.make(account.token), hits }
})

layer(LoopbackLive, { excludeTestServices: true })("resilience over loopback", (it) => {
  describe("retries", () => {
    it.effect("503 twice then 200 succeeds on the third attempt", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.failNext(2, { status: 503 }, { path: "/api/v2/user" })
        const user = yield* Authentication.getTokenDetails({ token }).pipe(
          PlexPolicy.withPolicy({ baseDelay: "20 millis" })
        )
        assert.isString(user.uuid)
        assert.strictEqual((yield* hits("/api/v2/user")).length, 3)
      }))

    it.effect("exhausted retries end in the last typed error with the attempt count", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.failNext(3, { status: 502 }, { path: "/api/v2/user" })
        const error = yield* failure(
          Authentication.getTokenDetails({ token }).pipe(PlexPolicy.withPolicy({ baseDelay: "10 millis" }))
        )
        assert.isTrue(PlexError.isReason(error, "StatusCode"))
        if (error._tag === "PlexSdkError") {
          assert.strictEqual(error.status, 502)
          assert.strictEqual(error.attempts, 3)
        }
        assert.strictEqual((yield* hits("/api/v2/user")).length, 3)
      }))

    it.effect("Retry-After: 1 is honoured (measured gap ≥ 1 s)", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.failNext(1, { status: 503, retryAfter: 1 }, { path: "/api/v2/user" })
        const started = Date.now()
        yield* Authentication.getTokenDetails({ token }).pipe(PlexPolicy.withPolicy({ baseDelay: "10 millis" }))
        const requests = yield* hits("/api/v2/user")
        assert.strictEqual(requests.length, 2)
        // Timers may fire a hair early by Date.now.
        assert.isAtLeast(requests[1].time - requests[0].time, 990)
        assert.isAtLeast(Date.now() - started, 990)
      }))

    it.effect("429 with Retry-After beyond the deadline fails at once as RateLimited", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.failNext(1, { status: 429, retryAfter: 60 }, { path: "/api/v2/user" })
        const started = Date.now()
        const error = yield* failure(
          Authentication.getTokenDetails({ token }).pipe(PlexPolicy.withPolicy({ deadline: "5 seconds" }))
        )
        assert.isTrue(PlexError.isReason(error, "RateLimited"))
        assert.strictEqual((error as PlexError.PlexSdkError).retryAfterMillis, 60_000)
        assert.isBelow(Date.now() - started, 3000) // not the 60 s Retry-After
        assert.strictEqual((yield* hits("/api/v2/user")).length, 1)
      }))

    it.effect("a slow response times out per attempt, and the total deadline holds", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.delayNext(10, "3 seconds", { path: "/api/v2/user" })
        const started = Date.now()
        const error = yield* failure(
          Authentication.getTokenDetails({ token }).pipe(
            PlexPolicy.withPolicy({
              attemptTimeout: "300 millis",
              deadline: "800 millis",
              maxAttempts: 10,
              baseDelay: "10 millis",
              jitter: false
            })
          )
        )
        const elapsed = Date.now() - started
        assert.isTrue(PlexError.isReason(error, "Timeout"))
        assert.isAtLeast(elapsed, 700)
        assert.isBelow(elapsed, 2000) // 10 attempts of 300 ms would take 3 s
        const attempts = (yield* hits("/api/v2/user")).length
        assert.isAtLeast(attempts, 2)
        assert.isAtMost(attempts, 3)
        yield* fake.resetFaults
      }))

    it.effect("a dropped connection retries a GET", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.dropNext(1, { path: "/api/v2/user" })
        const user = yield* Authentication.getTokenDetails({ token }).pipe(
          PlexPolicy.withPolicy({ baseDelay: "10 millis" })
        )
        assert.isString(user.uuid)
        assert.strictEqual((yield* hits("/api/v2/user")).length, 2)
      }))

    it.effect("a dropped connection does not retry a sign-in", () =>
      Effect.gen(function*() {
        const { fake, hits, login } = yield* setup
        yield* fake.dropNext(1, { path: "/api/v2/users/signin" })
        const error = yield* failure(Authentication.postUsersSignInData({ login, password: "pw" }))
        assert.isTrue(PlexError.isReason(error, "Transport"))
        assert.strictEqual((yield* hits("/api/v2/users/signin")).length, 1)
      }))

    it.effect("a 503 on sign-in is not retried either", () =>
      Effect.gen(function*() {
        const { fake, hits, login } = yield* setup
        yield* fake.failNext(1, { status: 503 }, { path: "/api/v2/users/signin" })
        const error = yield* failure(Authentication.postUsersSignInData({ login, password: "pw" }))
        assert.isTrue(PlexError.isReason(error, "StatusCode"))
        assert.strictEqual((yield* hits("/api/v2/users/signin")).length, 1)
      }))

    it.effect("a truncated body is Decode and is not retried", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.corruptNext(1, "truncated", { path: "/api/v2/user" })
        const error = yield* failure(Authentication.getTokenDetails({ token }))
        assert.isTrue(PlexError.isReason(error, "Decode"))
        assert.strictEqual((yield* hits("/api/v2/user")).length, 1)
      }))

    it.effect("400 and 401 are never retried", () =>
      Effect.gen(function*() {
        const { fake, hits, token } = yield* setup
        yield* fake.failNext(1, { status: 400 }, { path: "/api/v2/user" })
        yield* failure(Authentication.getTokenDetails({ token }))
        yield* fake.failNext(1, { status: 401 }, { path: "/api/v2/user" })
        yield* failure(Authentication.getTokenDetails({ token }))
        assert.strictEqual((yield* hits("/api/v2/user")).length, 2)
      }))
  })

  describe("transport safety", () => {
    it.effect("an oversized chunked body fails with Decode without being read whole", () =>
      Effect.gen(function*() {
        const { fake, token } = yield* setup
        yield* fake.corruptNext(1, { _tag: "oversized", bytes: 32 * 1024 * 1024, chunked: true }, {
          path: "/api/v2/user"
        })
        const before = process.memoryUsage().rss
        const error = yield* failure(
          Authentication.getTokenDetails({ token }).pipe(PlexPolicy.withPolicy({ maxBodyBytes: 256 * 1024 }))
        )
        assert.isTrue(PlexError.isReason(error, "Decode"))
        // Reading 32 MiB into memory would show; stopping at the cap does not.
        assert.isBelow(process.memoryUsage().rss - before, 24 * 1024 * 1024)
      }))

    it.effect("traceparent is not sent by default, and is when the policy asks for it", () =>
      Effect.gen(function*() {
        const { hits, token } = yield* setup
        yield* Authentication.getTokenDetails({ token }).pipe(Effect.withSpan("caller"))
        yield* Authentication.getTokenDetails({ token }).pipe(
          PlexPolicy.withPolicy({ httpClientSpans: true, propagateTraceContext: true }),
          Effect.withSpan("caller")
        )
        const [plain, propagated] = yield* hits("/api/v2/user")
        assert.isUndefined(plain.headers["traceparent"])
        assert.match(propagated.headers["traceparent"] ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
      }))
  })

  describe("load", () => {
    it.effect(
      "1,000 concurrent getTokenDetails with bounded concurrency finish with zero errors",
      () =>
        Effect.gen(function*() {
          const { token } = yield* setup
          const results = yield* Effect.forEach(
            Array.from({ length: 1000 }, (_, i) => i),
            () => Effect.either(Authentication.getTokenDetails({ token })),
            { concurrency: 64 }
          )
          const errors = results.filter((r) => r._tag === "Left")
          assert.strictEqual(errors.length, 0, errors.slice(0, 3).map((e) => String(e.left)).join("\n"))
        }),
      60_000
    )

    it.effect("heap returns to within a few MB of its start after 10,000 calls", () =>
      Effect.gen(function*() {
        const { fake, token } = yield* setup
        v8.setFlagsFromString("--expose-gc")
        const gc = vm.runInNewContext("gc") as () => void
        const run = (n: number) =>
          Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            () => Authentication.getTokenDetails({ token }),
            { concurrency: 32, discard: true }
          )
        // The heap once the last calls' cleanup has run (sockets closing, the server's handlers
        // ending; on a loaded machine that lags the last response): the least of three samples a
        // little apart, each after two collections (the first can leave finalizable objects for the
        // second). What a leak holds stays in every sample.
        const settledHeap = Effect.gen(function*() {
          let least = Number.POSITIVE_INFINITY
          for (let i = 0; i < 3; i++) {
            yield* Effect.sleep("100 millis")
            gc()
            gc()
            least = Math.min(least, process.memoryUsage().heapUsed)
          }
          return least
        })
        // Warm-up fills JIT code, inline caches and the connection pool, which are not leaks.
        yield* run(2000)
        yield* fake.clearRequests
        const start = yield* settledHeap
        yield* run(5_000)
        yield* fake.clearRequests
        const middle = yield* settledHeap
        yield* run(5_000)
        yield* fake.clearRequests
        const end = yield* settledHeap
        const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
        // A leak grows the heap call after call; what is left over from the first calls (JIT code,
        // inline caches, pool state) does not grow again in the second half. Half a kilobyte a
        // call would show as 2.4 MB there.
        assert.isBelow(end - middle, 2 * 1024 * 1024, `heap grew by ${mb(end - middle)} over the last 5,000 calls`)
        // Loose: other tests in the same worker leave garbage of their own.
        assert.isBelow(end - start, 12 * 1024 * 1024, `heap grew by ${mb(end - start)} over 10,000 calls`)
      }), 120_000)
  })
})
