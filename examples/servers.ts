/**
 * Servers and home users (`npx tsx examples/servers.ts`): sign in, list the account's servers, race
 * each one's connections, mint a transient token on the chosen server with no `serverUrl` anywhere,
 * then switch to a Plex Home member (with their PIN) and list the servers as they see them, with
 * their own tokens.
 *
 * With no `PLEX_LOGIN` in the environment it runs against PlexFake on 127.0.0.1, whose fake servers
 * have connections that are refused, slow, or answer as another server. With
 * `PLEX_CLIENT_IDENTIFIER`, `PLEX_LOGIN`, `PLEX_PASSWORD`, `PLEX_SERVER_NAME` (and optionally
 * `PLEX_HOME_USER`, `PLEX_HOME_PIN`) it runs unchanged against plex.tv and your servers.
 */
import { FetchHttpClient } from "@effect/platform"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { Redacted } from "effect"
import { Config, ConfigProvider, Console, Duration, Effect, Layer, Option } from "effect"
import { Authentication, HomeUsers, Plex, PlexError, PlexToken, Resources } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

// #region list-servers
// The account's Plex Media Servers (Resources.listResources also lists players and apps).
export const listServers = Effect.gen(function*() {
  const servers = yield* Resources.servers()
  for (const server of servers) {
    const whose = server.owned ? "yours" : `shared by ${server.sourceTitle ?? "someone"}`
    yield* Console.log(`${server.name} (${whose}): ${server.connections.length} connections`)
  }
  return servers
})
// #endregion

// #region connect
// Race every connection of a server at once; the best that answers as that server wins.
export const reach = (server: Resources.PlexResource) =>
  Resources.connect(server, { timeout: "2 seconds" }).pipe(
    Effect.tap((c) => Console.log(`${server.name}: ${c.uri} answered in ${Duration.format(c.latency)}`)),
    Effect.catchIf(PlexError.isReason("NoConnection"), (error) =>
      Effect.as(Console.log(`${server.name} is unreachable from here: ${error.detail}`), undefined))
  )
// #endregion

// #region layer
// The whole SDK, with the PMS operations bound to one of the account's servers: they go to its best
// connection with the server's own token, and race again if that connection goes down.
export const PlexLive = Layer.unwrapEffect(
  Effect.map(
    Config.all({
      clientIdentifier: Config.string("PLEX_CLIENT_IDENTIFIER"),
      plexTvUrl: Config.option(Config.string("PLEX_TV_URL")),
      serverName: Config.string("PLEX_SERVER_NAME")
    }),
    ({ clientIdentifier, plexTvUrl, serverName }) =>
      Plex.layer({
        clientIdentifier,
        product: "effect-plex servers example",
        plexTvUrl: Option.getOrUndefined(plexTvUrl),
        server: { name: serverName }
      })
  )
).pipe(Layer.provide(FetchHttpClient.layer))
// #endregion

// #region transient-token
// No serverUrl: the token is minted on the server chosen by Plex.layer's `server` option.
export const delegateOnServer = Authentication.getTransientToken()
// #endregion

// #region home
// Switch to a Home member (a protected one needs their PIN: 403 / code 1041 otherwise), then list
// the servers as that member sees them, with the member's own server tokens.
export const asMember = (uuid: string, pin: Option.Option<Redacted.Redacted<string>>) =>
  Effect.gen(function*() {
    const member = yield* HomeUsers.switchHomeUser({ uuid }, { pin: Option.getOrUndefined(pin) }).pipe(
      Effect.catchIf(PlexError.isPinRequired, (error) => Effect.zipRight(Console.log("a valid PIN is needed"), error))
    )
    const servers = yield* Resources.servers({}, { token: member.authToken })
    return { member, servers }
  })
// #endregion

const step = (text: string) => Console.log(`  ✓ ${text}`)

/** The whole walk, as a user of the SDK writes it. */
export const program = Effect.gen(function*() {
  const login = yield* Config.string("PLEX_LOGIN")
  const password = yield* Config.redacted("PLEX_PASSWORD")
  const user = yield* Authentication.postUsersSignInData({ login, password })
  yield* (yield* PlexToken.PlexTokenStore).set(user.authToken)
  yield* step(`signed in as ${user.username}`)

  const servers = yield* listServers
  yield* step(`${servers.length} servers`)
  for (const server of servers) yield* reach(server)

  const transient = yield* delegateOnServer
  yield* step(`transient token on ${yield* Config.string("PLEX_SERVER_NAME")}: ${transient.token}`)

  const home = yield* HomeUsers.listHomeUsers()
  yield* step(
    `Plex Home: ${home.map((m) => `${m.title}${m.admin ? " (admin)" : ""}${m.protected ? " (PIN)" : ""}`).join(", ")}`
  )
  const wanted = yield* Config.option(Config.string("PLEX_HOME_USER"))
  const member = home.find((m) => Option.isSome(wanted) ? m.title === wanted.value : !m.admin)
  if (member !== undefined) {
    const pin = yield* Config.option(Config.redacted("PLEX_HOME_PIN"))
    const seen = yield* asMember(member.uuid, pin)
    yield* step(
      `as ${seen.member.title}: ${
        seen.servers.map((s) => s.name).join(", ")
      }, each with ${seen.member.title}'s own token`
    )
  }
})

/** Starts PlexFake on loopback with two servers and a Plex Home, and answers the PLEX_* variables. */
export const againstFake = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const urls = yield* PlexFake.PlexFakeServer
    yield* fake.addAccount({ login: "ada@example.com", password: "hunter2", username: "ada" })
    yield* fake.addAccount({ login: "grace@example.com", password: "pw", username: "grace" })
    yield* fake.addHomeUser("ada@example.com", { title: "Kid", restricted: true, restrictionProfile: "little_kid" })
    yield* fake.addHomeUser("ada@example.com", { title: "Teen", pin: "2468" })
    yield* fake.addServer({
      name: "Ada's Plex",
      owner: "ada@example.com",
      connections: [
        { local: true, behaviour: "refused" },
        { behaviour: { slow: "300 millis" } },
        { relay: true }
      ]
    })
    yield* fake.addServer({
      name: "Grace's Plex",
      owner: "grace@example.com",
      sharedWith: ["ada@example.com"],
      connections: [{ behaviour: "wrong-server" }, { relay: true, behaviour: "refused" }]
    })
    yield* Console.log(`PlexFake (plex.tv and two Plex Media Servers) is listening on ${urls.url}\n`)
    const provider = ConfigProvider.fromMap(
      new Map([
        ["PLEX_CLIENT_IDENTIFIER", "effect-plex-servers-example"],
        ["PLEX_TV_URL", urls.plexTvUrl],
        ["PLEX_LOGIN", "ada@example.com"],
        ["PLEX_PASSWORD", "hunter2"],
        ["PLEX_SERVER_NAME", "Ada's Plex"],
        ["PLEX_HOME_USER", "Teen"],
        ["PLEX_HOME_PIN", "2468"]
      ])
    )
    return yield* Effect.withConfigProvider(self, provider)
  }).pipe(Effect.provide(PlexFake.layerServer))

/** The program over the layer, itself built from the (possibly fake) configuration. */
export const runProgram = Effect.provide(program, PlexLive)

if (import.meta.url === `file://${process.argv[1]}`) {
  const real = process.env.PLEX_LOGIN !== undefined
  NodeRuntime.runMain(Effect.gen(function*() {
    yield* Console.log(`effect-plex servers (${real ? "plex.tv" : "embedded fake Plex"})\n`)
    yield* real ? runProgram : againstFake(runProgram)
    yield* Console.log("\nDone.")
  }))
}
