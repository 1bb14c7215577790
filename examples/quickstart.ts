/**
 * The main job (`npm start`). `program` is what an SDK user writes: sign in (meeting and answering
 * the two-factor challenge), read the token's details, mint a transient token on the Plex Media
 * Server, read a source's connection information with it, find the account's servers and reach
 * one through its best connection (minting a transient token there with the server's own token),
 * then sign out and show the typed error the revoked token now gets.
 *
 * With no `PLEX_LOGIN` in the environment it runs against PlexFake on 127.0.0.1. With
 * `PLEX_CLIENT_IDENTIFIER`, `PLEX_LOGIN`, `PLEX_PASSWORD`, `PLEX_SERVER_URL` (and, as needed,
 * `PLEX_VERIFICATION_CODE`, `PLEX_SOURCE`, `PLEX_TV_URL`) it runs unchanged against the real
 * plex.tv and your server. Note that it signs the new token out at the end.
 */
import { FetchHttpClient } from "@effect/platform"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, ConfigProvider, Console, Duration, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Authentication, Plex, PlexError, Resources, TokenLifecycle } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

const step = (text: string) => Console.log(`  ✓ ${text}`)

// #region program
export const program = Effect.gen(function*() {
  const login = yield* Config.string("PLEX_LOGIN")
  const password = yield* Config.redacted("PLEX_PASSWORD")

  // 1. Sign in. An account with two-factor authentication answers 401 / code 1029 first.
  const user = yield* Authentication.postUsersSignInData({ login, password, rememberMe: true }).pipe(
    Effect.catchIf(PlexError.isTwoFactorRequired, (challenge) =>
      Effect.gen(function*() {
        yield* step(`plex.tv asks for a verification code (${challenge.message})`)
        const verificationCode = yield* Config.redacted("PLEX_VERIFICATION_CODE")
        return yield* Authentication.postUsersSignInData({ login, password, verificationCode, rememberMe: true })
      }))
  )
  const token = user.authToken
  yield* step(`signed in as ${user.username} <${user.email}>; the token prints as ${token}`)

  // 2. Whose token is it?
  const details = yield* Authentication.getTokenDetails({ token })
  yield* step(`the token belongs to "${details.title}" (uuid ${details.uuid}, 2FA on: ${details.twoFactorEnabled})`)

  // 3. A transient token from the Plex Media Server.
  const transient = yield* Authentication.getTransientToken({ type: "delegation", scope: "all" }, { token })
  yield* step(`minted a transient token on the server (${Redacted.value(transient.token).slice(0, 10)}…)`)

  // 4. Connection information for a source the server knows, with the transient token.
  const source = yield* Config.option(Config.string("PLEX_SOURCE"))
  if (Option.isSome(source)) {
    const { device } = yield* Authentication.getSourceConnectionInformation(
      { source: source.value },
      { token: transient.token }
    )
    yield* step(`${source.value} is "${device.name}", reachable at:`)
    for (const c of device.connections) {
      yield* Console.log(`      ${c.uri}${c.local ? " (local)" : ""}${c.relay ? " (relay)" : ""}`)
    }
  }

  // 5. The account's servers: race each one's connections, and mint a token on the first reached,
  //    with that server's own access token (the account token is for plex.tv).
  const servers = yield* Resources.servers({}, { token })
  yield* step(`the account has ${servers.length} server(s): ${servers.map((s) => s.name).join(", ")}`)
  for (const server of servers) {
    const reached = yield* Effect.option(Resources.connect(server))
    if (Option.isNone(reached)) continue
    const { latency, uri, token: serverToken } = reached.value
    yield* step(`reached "${server.name}" at ${uri} in ${latency.pipe(Duration.format)}`)
    const minted = yield* Authentication.getTransientToken({}, { serverUrl: uri, token: serverToken })
    yield* step(`minted a transient token on "${server.name}" with its own token (${minted.token})`)
    break
  }

  // 6. Sign the token out; from then on it gets a typed PlexUnauthorized.
  yield* TokenLifecycle.signOut({ token })
  const after = yield* Effect.exit(Authentication.getTokenDetails({ token }))
  if (Exit.isFailure(after) && after.cause._tag === "Fail") {
    const error = after.cause.error
    yield* step(`after sign-out the token is refused: ${error._tag}: ${error.message}`)
  } else {
    yield* Console.log("  ✗ the token still worked after sign-out")
  }
})
// #endregion

/** The whole SDK over fetch, configured from the PLEX_* variables. */
export const PlexLive = Plex.layerFromEnv.pipe(Layer.provide(FetchHttpClient.layer))

/** Starts PlexFake on loopback, seeds it, and answers the PLEX_* variables from it. */
export const againstFake = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const urls = yield* PlexFake.PlexFakeServer
    yield* fake.addAccount({
      login: "ada@example.com",
      password: "correct horse battery staple",
      twoFactorCode: "246810",
      username: "ada"
    })
    yield* fake.addSource("server://5ca1ab1e0ddba11c0ffee", {
      name: "Ada's Plex",
      clientIdentifier: "5ca1ab1e0ddba11c0ffee",
      connections: [
        { protocol: "http", address: "127.0.0.1", port: 32400, uri: "http://127.0.0.1:32400", local: true },
        {
          protocol: "https",
          address: "127.0.0.2",
          port: 8443,
          uri: "https://relay.plex.example:8443",
          local: false,
          relay: true
        }
      ]
    })
    // A server of Ada's whose LAN address is refused here, reached through its relay.
    yield* fake.addServer({
      name: "Ada's Plex",
      owner: "ada@example.com",
      connections: [{ local: true, behaviour: "refused" }, { relay: true }]
    })
    yield* Console.log(`PlexFake (plex.tv + Plex Media Server) is listening on ${urls.url}\n`)
    const provider = ConfigProvider.fromMap(
      new Map([
        ["PLEX_CLIENT_IDENTIFIER", "effect-plex-quickstart"],
        ["PLEX_PRODUCT", "effect-plex quickstart"],
        ["PLEX_TV_URL", urls.plexTvUrl],
        ["PLEX_SERVER_URL", urls.serverUrl],
        ["PLEX_LOGIN", "ada@example.com"],
        ["PLEX_PASSWORD", "correct horse battery staple"],
        ["PLEX_VERIFICATION_CODE", "246810"],
        ["PLEX_SOURCE", "server://5ca1ab1e0ddba11c0ffee"]
      ])
    )
    return yield* Effect.withConfigProvider(self, provider)
  }).pipe(Effect.provide(PlexFake.layerServer))

const real = process.env.PLEX_LOGIN !== undefined
const main = Effect.gen(function*() {
  yield* Console.log(`effect-plex quick start (${real ? "plex.tv and PLEX_SERVER_URL" : "embedded fake Plex"})\n`)
  const run = program.pipe(Effect.provide(PlexLive))
  yield* real ? run : againstFake(run)
  yield* Console.log("\nDone.")
})

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
