/**
 * The seam PlexFake's areas are built on (src/testing/internal/state.ts), with made-up areas: each
 * area sees the core and only its own slot, `reset` runs every registered area's `initial` again
 * (so an area added later is reset with no further code), and `resetFaults` runs each area's
 * `onResetFaults`.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, HashMap, Ref } from "effect"
import type { AreaState } from "../../src/testing/internal/state.js"
import { makeStore } from "../../src/testing/internal/state.js"

interface Counter {
  readonly count: number
  readonly failures: number
}

const counter = (name: string, onResetFaults?: (s: Counter) => Counter): AreaState<Counter> => ({
  name,
  initial: Effect.succeed({ count: 0, failures: 0 }),
  ...(onResetFaults === undefined ? {} : { onResetFaults })
})

describe("PlexFake store", () => {
  it.effect("an area reads and writes the core and its own slot together, and no other slot", () =>
    Effect.gen(function*() {
      const a = counter("a")
      const b = counter("b")
      const store = yield* makeStore([a, b])
      const ctx = store.context(a)
      const seen = yield* ctx.modify((s) => [
        s.own.count,
        {
          core: { ...s.core, tokens: HashMap.set(s.core.tokens, "t", { accountId: 1, transient: false }) },
          own: { ...s.own, count: s.own.count + 1 }
        }
      ])
      expect(seen).toBe(0)
      expect((yield* ctx.get).own.count).toBe(1)
      const other = yield* store.context(b).get
      expect(other.own.count).toBe(0)
      expect(HashMap.has(other.core.tokens, "t")).toBe(true)
    }))

  it.effect("reset runs every area's initial again and empties the core", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      // An effectful initial (as an area drawing keys or randomness would have) is run again.
      const keyed: AreaState<{ readonly key: number }> = {
        name: "keyed",
        initial: Effect.map(Ref.updateAndGet(runs, (n) => n + 1), (key) => ({ key }))
      }
      const a = counter("a")
      const store = yield* makeStore([a, keyed])
      expect((yield* store.context(keyed).get).own.key).toBe(1)
      yield* store.context(a).update((s) => ({
        core: { ...s.core, nextAccountId: 42 },
        own: { count: 5, failures: 5 }
      }))
      yield* store.reset
      expect((yield* store.context(keyed).get).own.key).toBe(2)
      const after = yield* store.context(a).get
      expect(after.own).toEqual({ count: 0, failures: 0 })
      expect(after.core.nextAccountId).toBe(10_000_001)
    }))

  it.effect("resetFaults clears pending faults and applies each area's onResetFaults, nothing else", () =>
    Effect.gen(function*() {
      const withHook = counter("hooked", (s) => ({ ...s, failures: 0 }))
      const without = counter("plain")
      const store = yield* makeStore([withHook, without])
      yield* Ref.update(store.ref, (s) => ({
        ...s,
        core: { ...s.core, delays: [{ value: Duration.seconds(1), remaining: 1, path: undefined }], nextAccountId: 7 }
      }))
      yield* store.context(withHook).update((s) => ({ ...s, own: { count: 3, failures: 3 } }))
      yield* store.context(without).update((s) => ({ ...s, own: { count: 3, failures: 3 } }))
      yield* store.resetFaults
      const hooked = yield* store.context(withHook).get
      expect(hooked.own).toEqual({ count: 3, failures: 0 })
      expect(hooked.core.delays).toEqual([])
      expect(hooked.core.nextAccountId).toBe(7)
      expect((yield* store.context(without).get).own).toEqual({ count: 3, failures: 3 })
    }))

  it.effect("two areas with one name are refused (their slots would be one)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(makeStore([counter("same"), counter("same")]))
      assert(Exit.isFailure(exit))
      expect(String(exit.cause)).toContain("two areas share a name")
    }))

  it.effect("an area that was not registered gets no context", () =>
    Effect.gen(function*() {
      const store = yield* makeStore([counter("a")])
      expect(() => store.context(counter("stranger"))).toThrow("area stranger is not registered")
    }))
})
