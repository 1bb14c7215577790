/**
 * Setting a call's fiber refs in one step and restoring them when it ends.
 *
 * @internal
 */
import type * as Arr from "effect/Array"
import * as A from "effect/Array"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"

/** @internal */
export type FiberRefValue = readonly [FiberRef.FiberRef<any>, unknown]

// One copy of the fiber's refs for all entries (each `FiberRefs.updateAs` copies them).
const setFiberRefs = (entries: Arr.NonEmptyReadonlyArray<FiberRefValue>) =>
  Effect.updateFiberRefs((fiberId, refs) =>
    FiberRefs.updateManyAs(refs, {
      entries: A.map(entries, ([fiberRef, value]) => [fiberRef, [[fiberId, value as any]]] as const)
    })
  )

/**
 * `Effect.locally` for several fiber refs in one step, restored when `self` ends however it ends.
 * Each `Effect.locally` or `Effect.provideService` is an acquire/use/release of its own, and a call
 * needs four (parent span, fetch options, redacted header names, the platform's tracer switch).
 *
 * @internal
 */
export const locallyAll = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  entries: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Arr.NonEmptyReadonlyArray<FiberRefValue>
): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime((fiber) => {
      const next = entries(fiber)
      const previous = A.map(next, ([fiberRef]): FiberRefValue => [fiberRef, fiber.getFiberRef(fiberRef)])
      return Effect.zipRight(
        setFiberRefs(next),
        Effect.flatMap(Effect.exit(restore(self)), (exit) => Effect.zipRight(setFiberRefs(previous), exit))
      )
    })
  )
