/**
 * What PlexAuth's caches cost in memory: 50,000 distinct tokens leave them at their bound (heap
 * measured), and entries that expire over and over do not grow them, which Effect's `Cache` alone
 * would (shown here on the `Cache` itself: the reason `authCache.ts` replaces it every `capacity`
 * lookups).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cache, Duration, Effect, Either, Layer, Redacted, Schema, TestClock } from "effect"
import { Authentication, Models, Resources } from "effect-plex"
import * as PlexAuth from "effect-plex/PlexAuth"
import { PlexFake } from "effect-plex/testing"
import v8 from "node:v8"
import vm from "node:vm"
import { makeGenerations } from "../../src/internal/authCache.js"

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void

/** Live heap after two full collections. */
const heapUsed = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** The length of a `Cache`'s recency list (effect 3.22.4 internals: `cacheState.keys`). */
const recencyNodes = (cache: Cache.Cache<any, any, any>): number => {
  let count = 0
  for (let node = (cache as any).cacheState.keys.head; node !== undefined; node = node.next) count++
  return count
}

describe("memory", () => {
  it.effect(
    "50,000 distinct tokens leave the user cache at its bound of 10,000 entries, and the heap where 10,000 left it",
    () =>
      Effect.gen(function*() {
        // A real user from the fake (real request path); its copies then stand in for plex.tv's
        // answers, so that 50,000 lookups take seconds, not minutes. Each copy is decoded afresh:
        // an entry holds a user of the real size, sharing nothing with the others.
        const account = yield* PlexFake.TestAccount
        const real = yield* Authentication.getTokenDetails({ token: Redacted.make(account.token) })
        const encoded = Schema.encodeSync(Models.PlexUser)(real)
        const decode = Schema.decodeUnknownSync(Models.PlexUser)
        let served = 0
        const stub = Layer.succeed(
          Authentication.Authentication,
          Authentication.Authentication.of({
            getTokenDetails: (options) =>
              Effect.sync(() => {
                served++
                return decode({
                  ...encoded,
                  id: served,
                  uuid: `uuid-${served}`,
                  authToken: Redacted.value(options!.token!)
                })
              }),
            getTransientToken: () => Effect.die("unused"),
            getSourceConnectionInformation: () => Effect.die("unused"),
            postUsersSignInData: () => Effect.die("unused")
          })
        )
        const auth = yield* PlexAuth.make().pipe(Effect.provide(Layer.merge(
          stub,
          Layer.succeed(
            Resources.Resources,
            {} as Resources.Service
          )
        )))
        const token = (i: number) => `token-${i.toString(36).padStart(8, "0")}-abcdefghij`
        const before = heapUsed()
        for (let i = 0; i < 10_000; i++) yield* auth.authenticate(token(i))
        const atBound = heapUsed()
        for (let i = 10_000; i < 50_000; i++) yield* auth.authenticate(token(i))
        const after = heapUsed()
        const stats = yield* auth.stats
        assert.strictEqual(served, 50_000)
        assert.strictEqual(stats.users, 10_000)
        const perEntry = (atBound - before) / 10_000
        // 40,000 more tokens went through; the heap holds about what 10,000 entries hold, give or
        // take a few percent of it (what the last rotation left, the fibers' garbage).
        assert.isBelow(after - atBound, (atBound - before) * 0.2, `heap grew ${after - atBound} bytes past the bound`)
        assert.isAbove(perEntry, 1_000, "an entry holds a real user")
        // The most recent tokens are the ones kept.
        yield* auth.authenticate(token(49_999))
        assert.strictEqual(served, 50_000)
        yield* auth.authenticate(token(0))
        assert.strictEqual(served, 50_001)
      }).pipe(Effect.provide(PlexFake.layerTest())),
    20_000
  )

  it.effect("Effect's Cache alone: every expiry leaves recency nodes behind while the cache is under capacity", () =>
    Effect.gen(function*() {
      const cache = yield* Cache.make({
        capacity: 1_000,
        timeToLive: Duration.millis(10),
        lookup: (key: string) => Effect.succeed(key)
      })
      for (let round = 0; round < 200; round++) {
        for (let k = 0; k < 100; k++) {
          yield* cache.get(`key-${k}`)
          yield* cache.get(`key-${k}`)
        }
        yield* TestClock.adjust("11 millis")
      }
      assert.strictEqual(yield* cache.size, 100)
      // Two nodes per key per round, never reclaimed: it grows without end as time passes.
      assert.isAtLeast(recencyNodes(cache), 100 * 200 * 2)
    }))

  it.effect("PlexAuth's caches: the same churn keeps the recency list under twice the capacity", () =>
    Effect.gen(function*() {
      const generations = yield* makeGenerations<string, never>(1_000)
      const load = (key: string) => Effect.succeed({ result: Either.right(key), ttlMillis: 10 })
      let peak = 0
      for (let round = 0; round < 200; round++) {
        for (let k = 0; k < 100; k++) {
          yield* generations.get(`key-${k}`, load(`key-${k}`))
          yield* generations.get(`key-${k}`, load(`key-${k}`))
        }
        peak = Math.max(peak, recencyNodes(generations.current()))
        yield* TestClock.adjust("11 millis")
      }
      assert.strictEqual(generations.lookups(), 100 * 200)
      assert.isAtMost(peak, 2 * 1_000)
    }))

  it.effect("LRU over a rotation: entries read since it keep their place, the others go first", () =>
    Effect.gen(function*() {
      const generations = yield* makeGenerations<string, never>(3)
      let loads = 0
      const load = (key: string) => Effect.sync(() => (loads++, { result: Either.right(key), ttlMillis: 60_000 }))
      const get = (key: string) => generations.get(key, load(key))
      yield* get("a")
      yield* TestClock.adjust("1 millis")
      yield* get("b")
      yield* TestClock.adjust("1 millis")
      yield* get("c") // three lookups: the next read rotates
      yield* get("a") // a: most recent
      yield* get("d") // over capacity: b (oldest load, not read since) goes
      assert.strictEqual(loads, 4)
      yield* get("a")
      yield* get("c")
      yield* get("d")
      assert.strictEqual(loads, 4)
      yield* get("b")
      assert.strictEqual(loads, 5)
    }))
})
