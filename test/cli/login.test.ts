/**
 * `plex-auth login` as a person runs it: the compiled CLI under a real pseudo-terminal, against the
 * fake embedded in the CLI (`--fake`) or against a fake this test serves on 127.0.0.1 (the CLI
 * pointed at it with `PLEX_TV_URL` / `PLEX_CLIENTS_URL`, so the test sees every request it makes).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PlexFake } from "effect-plex/testing"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { renderUnicodeCompact } from "uqr"
import { beforeAll } from "vitest"
import { build, fakeEnv, freshHome, modeOf, plain, pty, run } from "./support/cli.js"

let main = ""
beforeAll(async () => {
  main = await build()
}, 180_000)

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const pinPolls = Effect.map(
  Effect.flatMap(PlexFake.PlexFake, (fake) => fake.requests),
  (requests) => requests.filter((r) => r.method === "GET" && /^\/api\/v2\/pins\/\d+$/.test(r.path))
)

/** No stack trace, no Effect internals: what a person should never see. */
const assertNoTrace = (text: string) => {
  assert.notMatch(text, /^\s+at /m, "no stack frame")
  assert.notMatch(text, /FiberFailure|InterruptedException|Error:|\{"_id"/)
}

layer(PlexFake.layerServer, { excludeTestServices: true })("plex-auth login", (it) => {
  it.effect("--fake: URL and QR code, a live countdown, approval at the fake, success, 0600 credentials, whoami", () =>
    Effect.gen(function*() {
      const home = freshHome()
      const session = pty(main, ["login", "--fake"], { home, env: { PLEX_AUTH_FAKE_APPROVE_AFTER: "off" } })
      const [, url] = yield* promise(() => session.waitFor(/(https:\/\/app\.plex\.tv\/auth#\?\S+)/))
      const [, approve] = yield* promise(() =>
        session.waitFor(/curl -X POST '(http:\/\/127\.0\.0\.1:\d+\/approve\?code=\w+)'/)
      )
      const code = new URL(url.replace("#?", "?")).searchParams.get("code")
      assert.strictEqual(new URL(approve).searchParams.get("code"), code, "the fake is asked to approve this PIN")
      yield* promise(() => session.waitFor(/Waiting for approval… 30:00 left \(Ctrl-C to cancel\)/))
      yield* promise(() => session.waitFor(/Waiting for approval… 29:5\d left/))
      // The QR code on screen is the auth URL's, line for line.
      const screen = plain(session.output())
      const qr = renderUnicodeCompact(url, { border: 2 }).split("\n")
      assert.isAbove(qr.length, 15)
      for (const line of qr) assert.include(screen, `  ${line}\n`)
      assert.notInclude(screen, "Signed in", "nothing is approved before the test approves it")

      const response = yield* promise(() => fetch(approve, { method: "POST" }))
      assert.strictEqual(response.status, 200)
      yield* promise(() => session.waitFor(/Signed in as user \(user@example\.com\)\./))
      assert.strictEqual(yield* promise(() => session.exit), 0)
      assertNoTrace(plain(session.output()))

      assert.strictEqual(modeOf(home.credentials), 0o700)
      const file = join(home.credentials, "fake.default")
      assert.strictEqual(modeOf(file), 0o600)
      const stored = JSON.parse(readFileSync(file, "utf8"))
      assert.strictEqual(stored.kind, "token")
      assert.strictEqual(stored.token, "FakePlexAccountToken", "the token the fake handed out is what is stored")

      const whoami = yield* promise(() => run(main, ["whoami", "--fake"], { home }))
      assert.strictEqual(whoami.code, 0, whoami.stderr)
      assert.include(whoami.stdout, "user <user@example.com> (Demo User)")
      assert.include(whoami.stdout, "Two-factor:  yes")
      assert.notInclude(whoami.stdout + whoami.stderr, "FakePlexAccountToken")
    }))

  it.effect("Ctrl-C while waiting: exit 130, 'Cancelled.', no stack trace, and the fake sees polling stop", () =>
    Effect.gen(function*() {
      const urls = yield* PlexFake.PlexFakeServer
      const home = freshHome()
      const before = (yield* pinPolls).length
      const session = pty(main, ["login", "--no-qr"], { home, env: fakeEnv(urls.plexTvUrl) })
      yield* promise(() => session.waitFor(/Waiting for approval… 29:5[0-8] left/))
      const polled = (yield* pinPolls).length - before
      assert.isAtLeast(polled, 2, "it was polling")
      session.type("\x03")
      const started = Date.now()
      assert.strictEqual(yield* promise(() => session.exit), 130)
      assert.isBelow(Date.now() - started, 3000)
      const screen = plain(session.output())
      assert.include(screen, "^C")
      assert.match(screen, /Cancelled\.\n?$/)
      assertNoTrace(screen)
      const atExit = (yield* pinPolls).length
      yield* Effect.sleep("2500 millis")
      assert.strictEqual((yield* pinPolls).length, atExit, "no check of the PIN after Ctrl-C")
    }))

  it.effect("--jwt: a device key PIN, then jwt verify, whoami, jwt refresh and signout on the stored credentials", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      const account = yield* fake.addAccount({ login: "jwt-user@example.com", password: "pw", username: "jwtuser" })
      const home = freshHome()
      const env = fakeEnv(urls.plexTvUrl)
      const session = pty(main, ["login", "--jwt", "--no-qr"], { home, env })
      const [, code] = yield* promise(() => session.waitFor(/[?&]code=(\w+)/))
      yield* promise(() => session.waitFor(/Waiting for approval/))
      yield* fake.approvePin(code, account.token)
      yield* promise(() => session.waitFor(/Signed in as jwtuser \(jwt-user@example\.com\)\./))
      assert.include(plain(session.output()), "as a device key and a Plex JWT valid until")
      assert.strictEqual(yield* promise(() => session.exit), 0)
      const file = join(home.credentials, "profile.default")
      assert.strictEqual(modeOf(file), 0o600)
      const stored = JSON.parse(readFileSync(file, "utf8"))
      assert.strictEqual(typeof stored.kid, "string")
      assert.match(stored.token, /^eyJ/, "a JWT, stored as PlexJwt.Credentials")

      const verify = yield* promise(() => run(main, ["jwt", "verify", "--json"], { home, env }))
      assert.strictEqual(verify.code, 0, verify.stderr)
      const claims = JSON.parse(verify.stdout)
      assert.strictEqual(claims.thumbprint, stored.kid)
      assert.strictEqual(claims.user.username, "jwtuser")

      const whoami = yield* promise(() => run(main, ["whoami", "--json"], { home, env }))
      assert.strictEqual(whoami.code, 0, whoami.stderr)
      assert.deepInclude(JSON.parse(whoami.stdout), { credentials: "jwt", username: "jwtuser" })

      const refresh = yield* promise(() => run(main, ["jwt", "refresh", "--json"], { home, env }))
      assert.strictEqual(refresh.code, 0, refresh.stderr)
      const renewed = JSON.parse(readFileSync(file, "utf8"))
      assert.notStrictEqual(renewed.token, stored.token, "a new JWT is stored")
      assert.notInclude(refresh.stdout, renewed.token)

      const signout = yield* promise(() => run(main, ["signout"], { home, env }))
      assert.strictEqual(signout.code, 0, signout.stderr)
      assert.isFalse(yield* fake.isTokenValid(renewed.token), "plex.tv ended the JWT")
      const after = yield* promise(() => run(main, ["whoami"], { home, env }))
      assert.strictEqual(after.code, 3)
    }))

  it.effect("--link: the 4-character code for plex.tv/link, approved there", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      const account = yield* fake.addAccount({ login: "link-user@example.com", password: "pw", username: "linker" })
      const home = freshHome()
      const session = pty(main, ["login", "--link"], { home, env: fakeEnv(urls.plexTvUrl) })
      const [, code] = yield* promise(() => session.waitFor(/enter the code:\s+([A-Z0-9]{4})\s/))
      yield* promise(() => session.waitFor(/Waiting for approval… 15:00 left/))
      assert.include(plain(session.output()), `https://plex.tv/link/?pin=${code}`)
      yield* fake.approvePin(code, account.token)
      yield* promise(() => session.waitFor(/Signed in as linker/))
      assert.strictEqual(yield* promise(() => session.exit), 0)
    }))
})
