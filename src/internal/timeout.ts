/**
 * An attempt timeout that interrupts, for a fork and a timer rather than `Effect.timeoutFail`'s race
 * of two forked fibers.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)
const maxTimerMillis = 2 ** 31 - 1

/**
 * Runs `self` in a fiber of its own and ends it after `millis` on `clock`, with `onTimeout()`, by
 * interrupting it: the caller is released whatever `self` is doing, even waiting on a transport that
 * ignores its `AbortSignal`. Interrupting the caller interrupts `self` too. Nothing is left behind:
 * the timer is cleared and the fiber is done whichever way it ends.
 *
 * Semantics are those of `Effect.timeoutFail`, at about half its cost per call (measured on loopback:
 * ~23 µs of CPU against ~57 µs; `timeoutFail` forks two fibers, `self` and a sleep). The wait is the
 * clock's own: on the live clock a timer callback, needing no fiber; on any other clock (`TestClock`)
 * a forked `clock.sleep`, so `TestClock.adjust` drives it.
 *
 * @internal
 */
export const interruptAfter = <A, E, E2>(
  self: Effect.Effect<A, E>,
  millis: number,
  onTimeout: () => E2,
  clock: Clock.Clock
): Effect.Effect<A, E | E2> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(restore(self)), (child) => {
      const live = clock === liveClock && millis <= maxTimerMillis
      const wait = (timer: Fiber.RuntimeFiber<void> | undefined) =>
        Effect.async<A, E | E2>((resume) => {
          let settled = false
          let handle: ReturnType<typeof setTimeout> | undefined
          const observer = (exit: Exit.Exit<A, E>) => {
            if (settled) return
            settled = true
            if (handle !== undefined) clearTimeout(handle)
            resume(timer === undefined ? exit : Effect.zipRight(Fiber.interrupt(timer), exit))
          }
          const expire = () => {
            if (settled) return
            settled = true
            child.removeObserver(observer)
            resume(Effect.zipRight(Fiber.interrupt(child), Effect.fail(onTimeout())))
          }
          child.addObserver(observer)
          if (timer === undefined) handle = setTimeout(expire, millis)
          else timer.addObserver(expire)
          return Effect.suspend(() => {
            settled = true
            if (handle !== undefined) clearTimeout(handle)
            child.removeObserver(observer)
            return timer === undefined
              ? Fiber.interrupt(child)
              : Effect.zipRight(Fiber.interrupt(timer), Fiber.interrupt(child))
          })
        })
      return live
        ? restore(wait(undefined))
        // Forked here the timer would inherit the mask and could not be interrupted after a success.
        : Effect.flatMap(
          Effect.fork(Effect.interruptible(clock.sleep(Duration.millis(millis)))),
          (timer) => restore(wait(timer))
        )
    })
  )
