/**
 * examples/servers.ts and the quick start's server step, run against PlexFake on loopback as the
 * README shows them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect } from "effect"
import * as Quickstart from "../examples/quickstart.js"
import * as Servers from "../examples/servers.js"

/** Console output of an effect, line by line. */
const captureConsole = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Console.consoleWith((current) => {
    const lines: Array<string> = []
    const log = (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
    return Effect.map(Effect.withConsole(self, { ...current, log, info: log, warn: log, error: log }), () => lines)
  })

describe("examples/servers.ts", () => {
  it.live(
    "signs in, lists and reaches the servers, mints a token on the chosen one, and switches to a member",
    () =>
      Effect.gen(function*() {
        const report = (yield* captureConsole(Servers.againstFake(Servers.runProgram))).join("\n")
        assert.include(report, "signed in as ada")
        assert.include(report, "Ada's Plex (yours): 3 connections")
        assert.include(report, "Grace's Plex (shared by grace): 2 connections")
        // The local connection is refused and the remote is slow but in time: the remote wins.
        assert.match(report, /Ada's Plex: http:\/\/127\.0\.0\.1:\d+ answered in \d+ms/)
        assert.match(report, /Grace's Plex is unreachable from here: .*wrong server .*refused/)
        assert.include(report, "transient token on Ada's Plex: <redacted>")
        assert.include(report, "Plex Home: ada (admin), Kid, Teen (PIN)")
        assert.include(report, "as Teen: Ada's Plex, each with Teen's own token")
        assert.notInclude(report, "2468")
      }),
    20_000
  )
})

describe("examples/quickstart.ts", () => {
  it.live(
    "the server step: lists the account's servers, reaches one, mints a token there",
    () =>
      Effect.gen(function*() {
        const report = (yield* captureConsole(
          Quickstart.againstFake(Quickstart.program.pipe(Effect.provide(Quickstart.PlexLive)))
        )).join("\n")
        assert.include(report, "the account has 1 server(s): Ada's Plex")
        assert.match(report, /reached "Ada's Plex" at http:\/\/127\.0\.0\.1:\d+ in \d+ms/)
        assert.include(report, "minted a transient token on \"Ada's Plex\" with its own token (<redacted>)")
      }),
    20_000
  )
})
