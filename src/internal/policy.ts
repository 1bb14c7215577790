/**
 * Per-call policy adjustments. `PlexPolicy.withPolicy` does not provide a whole policy (that would
 * hide the one a layer gave the SDK's services); it records a change, which the runner applies on
 * top of whichever policy is in force for the call.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as PlexPolicy from "../PlexPolicy.js"

/** A change to a policy, or why it cannot be applied. @internal */
export type Adjust = (policy: PlexPolicy.Policy) => Either.Either<PlexPolicy.Policy, string>

/** The adjustments in force for the current fiber, innermost applied last. @internal */
export class Adjustments extends Context.Reference<Adjustments>()("effect-plex/PlexPolicy/Adjustments", {
  defaultValue: (): Adjust | undefined => undefined
}) {}

/** Runs `self` with `f` applied after the adjustments already in force. @internal */
export const adjust = <A, E, R>(self: Effect.Effect<A, E, R>, f: Adjust): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Adjustments,
    (outer) =>
      Effect.provideService(
        self,
        Adjustments,
        outer === undefined ? f : (policy) => Either.flatMap(outer(policy), f)
      )
  )
