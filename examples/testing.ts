/**
 * How to test your own code that uses effect-plex: against PlexFake (in-process or over loopback),
 * or with the service replaced outright. test/examples.test.ts runs these under `it.effect`; the
 * regions are copied into README.md.
 */
import { Effect, Layer, Redacted } from "effect"
import { Authentication, Models, PlexPolicy, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

// #region fake
// The code under test: it only needs Authentication.
export const greeting = Effect.map(Authentication.getTokenDetails(), (user) => `Hello, ${user.username}!`)

// The whole SDK wired to a fresh in-process fake: an account whose token the SDK starts with, and a
// policy without backoff waits, so a retry needs no TestClock.adjust under it.effect.
export const TestLayer = PlexFake.layerTest({ account: { login: "ada@example.com", username: "ada" } })

// it.effect("greets the signed-in user", () => testGreeting.pipe(Effect.provide(TestLayer)))
export const testGreeting = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const text = yield* greeting // "Hello, ada!"
  yield* fake.failNext(1, { status: 503 }, { path: "/api/v2/user" }) // retried at once
  const again = yield* greeting
  return [text, again]
})

// The same over real HTTP on 127.0.0.1 (port 0), reached with FetchHttpClient.
export const LoopbackTestLayer = PlexFake.layerTest({
  account: { login: "ada@example.com", username: "ada" },
  transport: "loopback"
})
// #endregion

// #region granular
// Assembled by hand: the service's own layer, pointed at the fake by PlexFake.layerConfig, with a
// token of your choosing and the test policy (no backoff waits).
export const SdkOnFake = Authentication.layer.pipe(
  Layer.provide(PlexFake.layerConfig({ clientIdentifier: "my-tests", product: "My App" })),
  Layer.provide(PlexToken.layer("fake-account-token")),
  Layer.provide(PlexPolicy.layerTest),
  Layer.provideMerge(PlexFake.layerClient)
)
// #endregion

// #region stub
// The service replaced outright: Layer.mock implements the methods you give it; any other method
// dies with an UnimplementedError should the code under test call it.
export const StubAuthentication = Layer.mock(Authentication.Authentication, {
  getTokenDetails: () =>
    Effect.succeed(
      Models.PlexUser.make({
        id: 1,
        uuid: "u1",
        username: "stub",
        title: "stub",
        email: "stub@example.com",
        authToken: Redacted.make("stub-token")
      })
    )
})
// #endregion
