/**
 * The README's examples are the ones these tests run: each snippet of examples/ runs against
 * PlexFake, and README.md must hold exactly the regions of examples/ it shows.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Console, Effect, Exit, Layer, Redacted } from "effect"
import { Authentication, PlexError, PlexPolicy } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { execFileSync } from "node:child_process"
import * as Operations from "../examples/operations.js"
import * as PinExample from "../examples/pin-login.js"
import * as Quickstart from "../examples/quickstart.js"
import * as Testing from "../examples/testing.js"

describe("README", () => {
  it("shows exactly the regions of examples/", () => {
    // Throws (exit code 1) when a README block differs from its examples/ region.
    execFileSync(process.execPath, ["scripts/readme-regions.mjs", "--check"], { stdio: "pipe" })
  })
})

describe("examples/testing.ts, under it.effect (TestClock) as a user's test runs", () => {
  it.effect("the in-process test layer answers the code under test, retrying a 503 at once", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      assert.deepStrictEqual(yield* Testing.testGreeting, ["Hello, ada!", "Hello, ada!"])
      const hits = (yield* fake.requests).filter((r) => r.path === "/api/v2/user")
      assert.strictEqual(hits.length, 3)
      // The seeded account is the one whose token the SDK sent.
      const account = yield* PlexFake.TestAccount
      assert.isTrue(hits.every((r) => r.headers["x-plex-token"] === account.token))
    }).pipe(Effect.provide(Testing.TestLayer)))

  it.effect("the loopback test layer answers the code under test", () =>
    Effect.map(
      Testing.testGreeting.pipe(Effect.provide(Testing.LoopbackTestLayer)),
      (greetings) => assert.deepStrictEqual(greetings, ["Hello, ada!", "Hello, ada!"])
    ))

  it.effect("the hand-assembled layer answers the code under test", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada", token: "fake-account-token" })
      assert.deepStrictEqual(yield* Testing.testGreeting, ["Hello, ada!", "Hello, ada!"])
    }).pipe(Effect.provide(Testing.SdkOnFake)))

  it.effect("the stub replaces the service outright; a method it leaves out dies as unimplemented", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Testing.greeting, "Hello, stub!")
      const exit = yield* Effect.exit(Authentication.getTransientToken())
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }).pipe(Effect.provide(Testing.StubAuthentication)))
})

/** Console output of an effect, line by line. */
const captureConsole = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Console.consoleWith((current) => {
    const lines: Array<string> = []
    const log = (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
    return Effect.map(Effect.withConsole(self, { ...current, log, info: log, warn: log, error: log }), () => lines)
  })

describe("examples/operations.ts against the loopback fake", () => {
  const Live = Layer.unwrapEffect(
    Effect.map(PlexFake.PlexFakeServer, ({ plexTvUrl, serverUrl }) =>
      Operations.PlexLive.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["PLEX_CLIENT_IDENTIFIER", "examples-test"],
            ["PLEX_PRODUCT", "examples"],
            ["PLEX_TV_URL", plexTvUrl],
            ["PLEX_SERVER_URL", serverUrl],
            ["PLEX_TOKEN", "grace-token-0123456789"]
          ])
        )))
      ))
  ).pipe(Layer.provideMerge(PlexFake.layerServer))

  it.live("sign-in meets 2FA, then token details, transient token, source information and failures", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const account = yield* fake.addAccount({
        login: "grace@example.com",
        password: "pw",
        twoFactorCode: "135790",
        token: "grace-token-0123456789"
      })
      yield* fake.addSource("server://abc123", {
        name: "Grace's Plex",
        clientIdentifier: "abc123",
        connections: [
          { protocol: "https", address: "127.0.0.1", port: 32400, uri: "https://local.example:32400", local: true },
          {
            protocol: "https",
            address: "127.0.0.2",
            port: 8443,
            uri: "https://relay.example:8443",
            local: false,
            relay: true
          }
        ]
      })
      // The predicates region: the 2FA challenge is caught by its refinement.
      assert.strictEqual(
        yield* Operations.signInOrAsk("grace@example.com", Redacted.make("pw")),
        "enter your verification code"
      )
      let asked = 0
      const user = yield* Operations.signIn(
        "grace@example.com",
        Redacted.make("pw"),
        Effect.sync(() => {
          asked++
          return "135790"
        })
      )
      assert.strictEqual(asked, 1)
      assert.strictEqual(user.email, "grace@example.com")

      const printed = yield* captureConsole(Operations.whoAmI(user.authToken))
      assert.deepStrictEqual(printed, [`${user.username} <grace@example.com>, Plex Pass: ${user.subscription?.active}`])

      // The PMS snippets use the configured token (PLEX_TOKEN).
      const transient = yield* Operations.delegate
      assert.match(Redacted.value(transient.token), /^transient-/)
      const reached = yield* Operations.reach("abc123")
      assert.strictEqual(reached.name, "Grace's Plex")
      assert.deepStrictEqual(reached.uris, ["https://local.example:32400"])
      assert.isDefined(reached.token)

      assert.strictEqual(yield* Operations.describeFailure(user.authToken), `valid, belongs to ${user.username}`)
      yield* fake.revokeToken(account.token)
      assert.strictEqual(yield* Operations.describeFailure(Redacted.make(account.token)), "invalid: sign in again")
      yield* fake.failNext(1, { status: 500 }, { path: "/api/v2/user" })
      const verdict = yield* Operations.describeFailure(user.authToken).pipe(PlexPolicy.withPolicy({ maxAttempts: 1 }))
      assert.match(verdict, /^not a verdict on the token \(StatusCode\)/)

      yield* fake.delayNext(1, "3 seconds", { path: "/api/v2/user" })
      const slow = yield* Effect.flip(Operations.quickCheck(user.authToken))
      assert.isTrue(PlexError.isReason(slow, "Timeout"))
      yield* fake.resetFaults
    }).pipe(Effect.provide(Live)))
})

describe("examples/quickstart.ts", () => {
  it.live("the main job runs end to end against the fake and prints its report", () =>
    Effect.gen(function*() {
      const lines = yield* captureConsole(
        Quickstart.againstFake(Quickstart.program.pipe(Effect.provide(Quickstart.PlexLive)))
      )
      const report = lines.join("\n")
      assert.include(report, "plex.tv asks for a verification code")
      assert.include(report, "signed in as ada <ada@example.com>; the token prints as <redacted>")
      assert.include(report, "minted a transient token on the server (transient-…)")
      assert.include(report, "server://5ca1ab1e0ddba11c0ffee is \"Ada's Plex\"")
      assert.include(report, "after sign-out the token is refused: PlexUnauthorized")
      assert.notInclude(report, "✗")
    }))
})

describe("examples/pin-login.ts", () => {
  it.live("the PIN flow runs against the fake, which approves the PIN after 3 seconds", () =>
    Effect.gen(function*() {
      const lines = yield* captureConsole(PinExample.againstFake(PinExample.program))
      const report = lines.join("\n")
      assert.match(report, /Open https:\/\/app\.plex\.tv\/auth#\?clientID=effect-plex-pin-example&code=[A-Z0-9]{4}&/)
      assert.include(report, "approved!")
      assert.include(report, "Signed in as ada <ada@example.com> (token <redacted>)")
    }), 20_000)
})
