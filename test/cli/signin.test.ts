/**
 * `plex-auth signin` at a terminal: the compiled CLI under a real pseudo-terminal (util-linux
 * `script`), typing at its prompts as a person does, against the fake embedded in the CLI.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll } from "vitest"
import { build, freshHome, modeOf, plain, pty, run } from "./support/cli.js"

let main = ""
beforeAll(async () => {
  main = await build()
}, 180_000)

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

// Typed a character at a time, as at a keyboard (the prompts read keypresses in raw mode).
const typeSlowly = (session: ReturnType<typeof pty>, text: string) =>
  Effect.forEach([...text], (c) => Effect.zipRight(Effect.sync(() => session.type(c)), Effect.sleep("5 millis")), {
    discard: true
  })

describe("plex-auth signin at a terminal", () => {
  it.live("the password is not echoed; the two-factor prompt appears and accepts the code", () =>
    Effect.gen(function*() {
      const home = freshHome()
      const session = pty(main, ["signin", "--fake"], { home })
      yield* promise(() => session.waitFor(/Plex login \(username or email\)/))
      yield* typeSlowly(session, "user@example.com\r")
      const passwordPrompt = yield* promise(() => session.waitFor(/Password \(hidden\)/))
      const from = session.output().length
      yield* typeSlowly(session, "password")
      yield* Effect.sleep("200 millis")
      const whileTyping = plain(session.output().slice(from))
      assert.notInclude(whileTyping, "password", "the typed password is not shown")
      assert.notInclude(whileTyping, "*", "not even as stars")
      assert.isDefined(passwordPrompt)
      session.type("\r")
      yield* promise(() => session.waitFor(/Two-factor authentication is on for this account\./))
      yield* promise(() => session.waitFor(/Verification code \(from your app\)/))
      yield* typeSlowly(session, "123456\r")
      yield* promise(() => session.waitFor(/Signed in as user \(user@example\.com\)\./))
      assert.strictEqual(yield* promise(() => session.exit), 0)
      const screen = plain(session.output())
      assert.notInclude(screen, "password\n")
      assert.notMatch(screen, /^\s+at /m)
      assert.strictEqual(modeOf(join(home.credentials, "fake.default")), 0o600)
      const stored = JSON.parse(readFileSync(join(home.credentials, "fake.default"), "utf8"))
      assert.strictEqual(stored.token, "FakePlexAccountToken")
      const whoami = yield* promise(() => run(main, ["whoami", "--fake"], { home }))
      assert.include(whoami.stdout, "user <user@example.com>")
    }))

  it.live("a wrong code is asked for again; Ctrl-C at a prompt exits 130 without a stack trace", () =>
    Effect.gen(function*() {
      const home = freshHome()
      const session = pty(main, ["signin", "--fake", "--login", "user@example.com"], { home })
      yield* promise(() => session.waitFor(/Password \(hidden\)/))
      yield* typeSlowly(session, "password\r")
      yield* promise(() => session.waitFor(/Verification code \(from your app\)/))
      yield* typeSlowly(session, "000000\r")
      yield* promise(() => session.waitFor(/That code was not accepted\. Verification code/))
      session.type("\x03")
      assert.strictEqual(yield* promise(() => session.exit), 130)
      const screen = plain(session.output())
      assert.include(screen, "Cancelled.")
      assert.notMatch(screen, /^\s+at |QuitException|FiberFailure/m)
    }))
})
