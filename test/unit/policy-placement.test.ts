/**
 * Where a policy takes effect: provided to the SDK's layer (its operations' default), merged into
 * the app, provided around a call (replaces the layer's), and withPolicy on one call (changes only
 * what it names, on top of whichever is in force). Each placement is observed through what the
 * operations do: how many requests a 503 gets, when an attempt times out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, TestClock } from "effect"
import { Authentication, Plex, PlexConfig, PlexError, PlexPolicy, PlexToken } from "../../src/index.js"
import { baseConfig, expectFailure, makeTestClient, reply, TOKEN } from "./helpers.js"
import type { Script, TestClient } from "./helpers.js"

// No backoff waits, so retries happen at once on the TestClock and are counted.
const quick = { baseDelay: 0, jitter: false } as const

const deps = (client: TestClient) =>
  Layer.mergeAll(client.layer, Layer.orDie(PlexConfig.layer(baseConfig)), PlexToken.layer(TOKEN))

const run = <A, E>(
  client: TestClient,
  layer: Layer.Layer<Authentication.Authentication, never, never>,
  use: (auth: Authentication.Service) => Effect.Effect<A, E>
) => Effect.flatMap(Effect.provide(Authentication.Authentication, layer), use)

const with503 = (script: Script = reply.status(503)) => makeTestClient(script)

/** Authentication over `client`, with a policy provided to its layer. */
const withLayerPolicy = (client: TestClient, options: PlexPolicy.Options) =>
  Authentication.layer.pipe(
    Layer.provide(Layer.orDie(PlexPolicy.layer(options))),
    Layer.provide(deps(client))
  )

describe("PlexPolicy placement", () => {
  it.effect("provided to the SDK's layer, it is the default of that layer's operations", () =>
    Effect.gen(function*() {
      const client = with503()
      const layer = withLayerPolicy(client, { maxAttempts: 2, ...quick })
      const error = yield* expectFailure(run(client, layer, (auth) => auth.getTokenDetails()))
      assert.isTrue(PlexError.isReason(error, "StatusCode"))
      assert.strictEqual(client.requests.length, 2)
    }))

  it.effect("the layer's attemptTimeout is the one that fires (Layer.provide into the SDK layer)", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.never)
      const layer = withLayerPolicy(client, { attemptTimeout: "5 seconds", maxAttempts: 1 })
      const fiber = yield* Effect.fork(run(client, layer, (auth) => Effect.exit(auth.getTokenDetails())))
      yield* TestClock.adjust(Duration.seconds(5))
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(exit._tag === "Failure", "the call was still running after the layer's 5 s timeout")
      if (exit._tag === "Failure") {
        assert.isTrue(PlexError.isReason(exit.cause._tag === "Fail" ? exit.cause.error : undefined, "Timeout"))
      }
    }))

  it.effect("merged into the app with provideMerge, the SDK's operations follow it", () =>
    Effect.gen(function*() {
      const client = with503()
      const app = Authentication.layer.pipe(
        Layer.provideMerge(Layer.orDie(PlexPolicy.layer({ maxAttempts: 4, ...quick }))),
        Layer.provide(deps(client))
      )
      yield* expectFailure(Effect.flatMap(Authentication.Authentication, (auth) => auth.getTokenDetails())).pipe(
        Effect.provide(app)
      )
      assert.strictEqual(client.requests.length, 4)
    }))

  it.effect("provided around a call, it replaces the layer's for that call only", () =>
    Effect.gen(function*() {
      const client = with503()
      const layer = withLayerPolicy(client, { maxAttempts: 2, ...quick })
      const auth = yield* Effect.provide(Authentication.Authentication, layer)
      yield* expectFailure(
        auth.getTokenDetails().pipe(Effect.provide(Layer.orDie(PlexPolicy.layer({ maxAttempts: 3, ...quick }))))
      )
      assert.strictEqual(client.requests.length, 3)
      yield* expectFailure(auth.getTokenDetails())
      assert.strictEqual(client.requests.length, 5)
    }))

  it.effect("withPolicy on one call changes only what it names, on top of the layer's policy", () =>
    Effect.gen(function*() {
      const client = with503()
      const layer = withLayerPolicy(client, { maxAttempts: 2, ...quick })
      const auth = yield* Effect.provide(Authentication.Authentication, layer)
      // A deadline for this call: the layer's two attempts stay.
      yield* expectFailure(auth.getTokenDetails().pipe(PlexPolicy.withPolicy({ deadline: "20 seconds" })))
      assert.strictEqual(client.requests.length, 2)
      // Nested: outermost first, innermost wins.
      yield* expectFailure(
        auth.getTokenDetails().pipe(
          PlexPolicy.withPolicy({ maxAttempts: 1 }),
          PlexPolicy.withPolicy({ maxAttempts: 5 })
        )
      )
      assert.strictEqual(client.requests.length, 3)
      // Data-first, on top of a policy provided around the call.
      yield* expectFailure(
        PlexPolicy.withPolicy(auth.getTokenDetails(), { maxAttempts: 3 }).pipe(
          Effect.provide(Layer.orDie(PlexPolicy.layer({ maxAttempts: 1, baseDelay: "1 hour" })))
        ).pipe(PlexPolicy.withPolicy({ baseDelay: 0 }))
      )
      assert.strictEqual(client.requests.length, 6)
    }))

  it.effect("withPolicy with an option make refuses fails the call with InvalidRequest; nothing is sent", () =>
    Effect.gen(function*() {
      const client = with503()
      const layer = Authentication.layer.pipe(Layer.provide(deps(client)))
      const error = yield* expectFailure(
        run(client, layer, (auth) => auth.getTokenDetails().pipe(PlexPolicy.withPolicy({ maxAttempts: 0 })))
      )
      assert.isTrue(PlexError.isReason(error, "InvalidRequest"))
      assert.include((error as PlexError.PlexSdkError).detail, "maxAttempts")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("Plex.layer's policy option is the default of every service it provides", () =>
    Effect.gen(function*() {
      const client = with503()
      const sdk = Plex.layer({ ...baseConfig, token: TOKEN, policy: { maxAttempts: 2, ...quick } }).pipe(
        Layer.provide(client.layer),
        Layer.orDie
      )
      yield* expectFailure(Authentication.getTokenDetails()).pipe(Effect.provide(sdk))
      assert.strictEqual(client.requests.length, 2)
    }))

  it.effect("PlexPolicy.layer refuses an unusable option when the layer is built", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(Effect.scoped(Layer.build(PlexPolicy.layer({ deadline: -1 }))))
      assert.include(String(refused), "deadline")
    }))
})
