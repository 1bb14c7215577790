/**
 * How to test your own code that uses effect-plex: against PlexFake (in-process or over loopback),
 * or with the service replaced outright. test/examples.test.ts runs these; the regions are copied
 * into README.md.
 */
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { Authentication, Models, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

// #region fake
// The code under test: it only needs Authentication.
export const greeting = Effect.map(Authentication.getTokenDetails(), (user) => `Hello, ${user.username}!`)

// The SDK pointed at the fake: PlexFake.layerConfig reads where the fake is.
const SdkOnFake = Authentication.layer.pipe(
  Layer.provide(PlexFake.layerConfig({ clientIdentifier: "my-tests", product: "My App" })),
  Layer.provide(PlexToken.layer("fake-account-token"))
)

// In-process: no socket at all; PlexFake.layerClient is the HttpClient.
export const InProcess = SdkOnFake.pipe(Layer.provideMerge(PlexFake.layerClient))
// Over real HTTP on 127.0.0.1 (port 0), with the transport your app uses.
export const OverLoopback = SdkOnFake.pipe(
  Layer.provide(FetchHttpClient.layer),
  Layer.provideMerge(PlexFake.layerServer)
)

export const testGreeting = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada", token: "fake-account-token" })
  const text = yield* greeting // "Hello, ada!"
  yield* fake.failNext(1, { status: 503 }, { path: "/api/v2/user" }) // retried by the default policy
  const again = yield* greeting
  return [text, again]
})
// #endregion

// #region stub
// A hand-written service: every method you do not need can stay unimplemented.
export const StubAuthentication = Layer.succeed(
  Authentication.Authentication,
  Authentication.Authentication.of({
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
      ),
    getTransientToken: () => Effect.die("not used in this test"),
    getSourceConnectionInformation: () => Effect.die("not used in this test"),
    postUsersSignInData: () => Effect.die("not used in this test")
  })
)
// #endregion
