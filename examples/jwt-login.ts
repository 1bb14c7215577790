/**
 * JWT device authentication (`npx tsx examples/jwt-login.ts`): sign in once with a PIN that carries
 * the device's public key, store the credentials, then let `PlexToken.layerJwt` keep the JWT fresh;
 * refresh and verify by hand to see what it does.
 *
 * By default it runs against PlexFake on 127.0.0.1, which approves the PIN by itself after 3
 * seconds, and stores the credentials in a fresh temporary directory. With `PLEX_CLIENT_IDENTIFIER`
 * and `PLEX_PRODUCT` in the environment it runs unchanged against the real plex.tv, storing them in
 * `$XDG_CONFIG_HOME/effect-plex` (else `~/.config/effect-plex`): open the printed URL and approve.
 */
import { FetchHttpClient } from "@effect/platform"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Option } from "effect"
import { Authentication, PinLogin, PlexConfig, PlexJwt, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"

export const STORE_KEY = "plex/main"

// #region login
// Once per installation: a device key, a PIN that carries its public half, the user's approval.
export const login = Effect.gen(function*() {
  const key = yield* PlexJwt.generateKey // the private half prints as <redacted>
  const pin = yield* PinLogin.createPin({ jwk: key.publicJwk, strong: true })
  yield* Console.log(`Open ${yield* PinLogin.authUrl(pin)}`)
  // Polls the PIN with a device JWT signed by the key; the approved PIN yields a Plex JWT for it,
  // verified against Plex's published keys before it is returned.
  const credentials = yield* PlexJwt.waitForCredentials(pin, key)
  yield* PlexJwt.saveCredentials(STORE_KEY, credentials) // the KeyValueStore: a 0600 file here
  return credentials
})
// #endregion

// #region use
// Every later run: PlexToken.layerJwt reads the stored JWT and refreshes it a day before it
// expires (or after a 498), once for any number of concurrent calls, storing each new one.
export const whoAmI = Effect.gen(function*() {
  const user = yield* Authentication.getTokenDetails()
  yield* Console.log(`Signed in as ${user.username} <${user.email}>`)
  return user
})

export const SignedIn = Authentication.layer.pipe(
  Layer.provide(PlexToken.layerJwt({ key: STORE_KEY, refreshBefore: "1 day" })),
  Layer.provideMerge(PlexJwt.layer)
)
// #endregion

// #region refresh
// What layerJwt does for you, by hand: a new JWT (nonce, device JWT, exchange), then its claims.
export const refreshAndVerify = (credentials: PlexJwt.Credentials) =>
  Effect.gen(function*() {
    const fresh = yield* PlexJwt.refresh(credentials) // verified already; this shows the claims
    const claims = yield* PlexJwt.verify(fresh.token, fresh)
    yield* Console.log(`JWT for user ${claims.user.uuid} (${claims.user.username}), expires ${claims.expiresAt}`)
    yield* PlexJwt.saveCredentials(STORE_KEY, fresh)
    return claims
  })
// #endregion

/** Signs in unless the store has credentials, then uses them, refreshes and verifies. */
export const program = Effect.gen(function*() {
  const stored = yield* PlexJwt.loadCredentials(STORE_KEY)
  const credentials = Option.isSome(stored) ? stored.value : yield* login
  yield* whoAmI.pipe(Effect.provide(SignedIn))
  return yield* refreshAndVerify(credentials)
})

const base = (directory: string) =>
  Layer.mergeAll(PinLogin.layer, PlexJwt.layer, PlexJwt.layerFileStore(directory), PlexToken.none)

/** The SDK for the real plex.tv, configured from PLEX_CLIENT_IDENTIFIER and PLEX_PRODUCT. */
export const PlexLive = base(join(process.env["XDG_CONFIG_HOME"] || join(homedir(), ".config"), "effect-plex")).pipe(
  Layer.provideMerge(Layer.mergeAll(PlexConfig.layerFromEnv, FetchHttpClient.layer))
)

/** The same SDK pointed at PlexFake on loopback (storing in `directory`), plus the fake itself. */
export const PlexOnFake = (directory: string) =>
  base(directory).pipe(
    Layer.provideMerge(PlexFake.layerConfig({ clientIdentifier: "effect-plex-jwt-example", product: "jwt example" })),
    Layer.provideMerge(FetchHttpClient.layer),
    Layer.provideMerge(PlexFake.layerServer)
  )

/** Seeds the fake with an account that approves every PIN 3 seconds after it is created. */
export const againstFake = <A, E, R>(self: Effect.Effect<A, E, R>, directory: string) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const urls = yield* PlexFake.PlexFakeServer
    const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
    yield* fake.autoApprovePins("3 seconds", account.token)
    yield* Console.log(`PlexFake is listening on ${urls.url}; it approves the PIN after 3 seconds.\n`)
    return yield* self
  }).pipe(Effect.provide(PlexOnFake(directory)))

const real = process.env.PLEX_CLIENT_IDENTIFIER !== undefined
const main: Effect.Effect<unknown, unknown> = real
  ? program.pipe(Effect.provide(PlexLive))
  : Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-plex-jwt-example-"))),
    (directory) => againstFake(program, directory),
    (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
  )

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
