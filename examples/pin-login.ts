/**
 * Sign in with a PIN (`npx tsx examples/pin-login.ts`). `program` is what an app writes: create a
 * PIN, show the user where to approve it, count down while waiting, then read the account of the new
 * token.
 *
 * By default it runs against PlexFake on 127.0.0.1, which approves the PIN by itself after 3 seconds
 * (as if a user had clicked "Allow"). With `PLEX_CLIENT_IDENTIFIER` and `PLEX_PRODUCT` in the
 * environment it runs unchanged against the real plex.tv: open the printed URL and approve it.
 */
import { FetchHttpClient } from "@effect/platform"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Option, Stream } from "effect"
import { Authentication, PinLogin, PlexConfig, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

// #region program
const countdown = (state: PinLogin.PinState) =>
  state._tag === "Waiting"
    ? Effect.sync(() => process.stdout.write(`\r  waiting for approval… ${state.secondsLeft}s left `))
    : Console.log(state._tag === "Approved" ? "\r  approved!                          " : "\r  the PIN expired")

export const program = Effect.gen(function*() {
  // 1. A PIN. Its short code can also be typed at plex.tv/link; pass { strong: true } for a long code
  //    that lives 30 minutes when users only ever follow the URL.
  const pin = yield* PinLogin.createPin()

  // 2. Send the user to approve it.
  yield* Console.log(`Open ${yield* PinLogin.authUrl(pin)}`)
  if (Option.isSome(PinLogin.linkUrl(pin))) {
    yield* Console.log(`or go to https://plex.tv/link and enter ${pin.code}`)
  }

  // 3. Poll once a second with a live countdown. The stream ends with Approved or Expired, and fails
  //    with PinTimeout after two minutes. (PinLogin.waitForToken(pin) does the same without the UI.)
  const last = yield* PinLogin.pinStates(pin).pipe(Stream.tap(countdown), Stream.runLast)
  if (Option.isNone(last) || last.value._tag !== "Approved") return
  const token = last.value.token // Redacted: prints as <redacted>; store it for later runs

  // 4. Whose token is it?
  const user = yield* Authentication.getTokenDetails({ token })
  yield* Console.log(`Signed in as ${user.username} <${user.email}> (token ${token})`)
})

/** The SDK for the real plex.tv, configured from PLEX_CLIENT_IDENTIFIER and PLEX_PRODUCT. */
export const PlexLive = Layer.mergeAll(PinLogin.layer, Authentication.layer).pipe(
  Layer.provide(Layer.mergeAll(PlexConfig.layerFromEnv, PlexToken.none, FetchHttpClient.layer))
)
// #endregion

/** The same SDK pointed at PlexFake on loopback, plus the fake itself. */
export const PlexOnFake = Layer.mergeAll(PinLogin.layer, Authentication.layer).pipe(
  Layer.provide(PlexFake.layerConfig({ clientIdentifier: "effect-plex-pin-example", product: "effect-plex example" })),
  Layer.provide(Layer.mergeAll(PlexToken.none, FetchHttpClient.layer)),
  Layer.provideMerge(PlexFake.layerServer)
)

/** Seeds the fake with an account that approves every PIN 3 seconds after it is created. */
export const againstFake = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const urls = yield* PlexFake.PlexFakeServer
    const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
    yield* fake.autoApprovePins("3 seconds", account.token)
    yield* Console.log(`PlexFake is listening on ${urls.url}; it approves the PIN after 3 seconds.\n`)
    return yield* self
  }).pipe(Effect.provide(PlexOnFake))

const real = process.env.PLEX_CLIENT_IDENTIFIER !== undefined
const main: Effect.Effect<void, unknown> = real ? program.pipe(Effect.provide(PlexLive)) : againstFake(program)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
