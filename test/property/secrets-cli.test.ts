/**
 * Secret hygiene of `plex-auth`, as a property: for random account tokens and server access tokens,
 * every command (whoami, ping, servers, servers --connect, token transient, signout, and whoami
 * after the token was revoked), with `--json` and without, writes neither token, nor the transient
 * token the server minted, to stdout or stderr unless `--show-token` is given; with it, `whoami`
 * shows exactly the account token. The commands run in-process over a fake on 127.0.0.1, with
 * their output captured.
 */
import { KeyValueStore } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, FastCheck as fc, Layer, Option, Redacted } from "effect"
import { PlexFake } from "effect-plex/testing"
import * as Account from "../../src/cli/account.js"
import * as Cli from "../../src/cli/context.js"
import { describe as describeError } from "../../src/cli/errors.js"
import * as Output from "../../src/cli/output.js"
import * as Profile from "../../src/cli/profile.js"
import * as Servers from "../../src/cli/servers.js"
import { findSecret, secret } from "./arbitraries.js"

interface Captured {
  stdout: string
  stderr: string
}

const capture = (json: boolean) => {
  const captured: Captured = { stdout: "", stderr: "" }
  const out = Output.make(json, {
    stdout: { write: (text: string) => captured.stdout += text },
    stderr: { write: (text: string) => captured.stderr += text, isTTY: false }
  })
  return { captured, out }
}

/** A command as `plex-auth` runs it: a failure is reported the way the CLI reports it. */
const runCommand = (
  service: Cli.Service,
  body: Effect.Effect<void, unknown, Cli.Cli>
) =>
  body.pipe(
    Effect.provideService(Cli.Cli, service),
    Effect.catchAll((error) => service.out.failure(describeError(error)))
  )

let counter = 0

layer(PlexFake.layerServer, { excludeTestServices: true })("plex-auth secrets", (it) => {
  it.scoped(
    "no account, server or transient token in any command's output without --show-token",
    () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const urls = yield* PlexFake.PlexFakeServer
        const store = Context.get(yield* Layer.build(KeyValueStore.layerMemory), KeyValueStore.KeyValueStore)
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(secret, secret, fc.boolean(), async (token, serverToken, json) => {
              const login = `cli-${++counter}@example.com`
              const result = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
                yield* fake.addAccount({ login, password: "pw", token })
                yield* fake.addServer({
                  name: `Server ${counter}`,
                  owner: login,
                  accessToken: serverToken,
                  connections: [{ local: true, behaviour: "refused" }, { behaviour: "healthy" }]
                })
                const { captured, out } = capture(json)
                const service: Cli.Service = {
                  globals: { json, profile: "default", fake: false, showToken: false },
                  out,
                  store,
                  directory: "/nowhere",
                  key: `profile.p${counter}`,
                  config: { product: "plex-auth tests", plexTvUrl: urls.plexTvUrl, clientsUrl: urls.plexTvUrl },
                  envClientIdentifier: Option.none(),
                  envToken: Option.none(),
                  fake: Option.none()
                }
                yield* Profile.saveToken(store, service.key, "plex-auth-property", Redacted.make(token))
                for (
                  const body of [
                    Account.whoami,
                    Account.ping,
                    Servers.servers({ connect: Option.none(), timeout: Option.some(2) }),
                    Servers.servers({ connect: Option.some(`Server ${counter}`), timeout: Option.none() }),
                    Servers.transientToken(`Server ${counter}`)
                  ]
                ) {
                  yield* runCommand(service, body)
                }
                const transients = (yield* fake.serverRequests).filter((r) => r.path === "/security/token").length
                yield* runCommand(service, Account.signout)
                yield* fake.revokeToken(token)
                yield* Profile.saveToken(store, service.key, "plex-auth-property", Redacted.make(token))
                yield* runCommand(service, Account.whoami)
                const shown = capture(true)
                yield* runCommand(
                  { ...service, out: shown.out, globals: { ...service.globals, showToken: true } },
                  Account.ping
                )
                return { captured, transients, shown: shown.captured }
              })))
              const all = result.captured.stdout + result.captured.stderr
              assert.isAtLeast(result.transients, 1, "a transient token was minted")
              assert.isUndefined(findSecret(all, token), "account token")
              assert.isUndefined(findSecret(all, serverToken), "server token")
              assert.notInclude(all, "transient-", "transient token")
              assert.include(all, "Not authorized", "the revoked token was reported")
              assert.include(result.captured.stdout, json ? "\"ok\":true" : "pong")
              assert.isUndefined(findSecret(result.shown.stdout + result.shown.stderr, token), "ping shows no token")
            }),
            { numRuns: 8 }
          )
        )
      }),
    60_000
  )

  it.scoped("--show-token shows the token, and only then", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      const store = Context.get(yield* Layer.build(KeyValueStore.layerMemory), KeyValueStore.KeyValueStore)
      const account = yield* fake.addAccount({ login: "shown@example.com", password: "pw" })
      yield* Profile.saveToken(store, "profile.shown", "plex-auth-property", Redacted.make(account.token))
      for (const showToken of [false, true]) {
        const { captured, out } = capture(true)
        yield* runCommand({
          globals: { json: true, profile: "shown", fake: false, showToken },
          out,
          store,
          directory: "/nowhere",
          key: "profile.shown",
          config: { product: "plex-auth tests", plexTvUrl: urls.plexTvUrl, clientsUrl: urls.plexTvUrl },
          envClientIdentifier: Option.none(),
          envToken: Option.none(),
          fake: Option.none()
        }, Account.whoami)
        const parsed = JSON.parse(captured.stdout)
        assert.strictEqual(parsed.token, showToken ? account.token : undefined)
      }
    }))
})
