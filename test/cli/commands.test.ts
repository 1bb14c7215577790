/**
 * The compiled `plex-auth` without a terminal: `--json` output (parsed, and holding no token unless
 * `--show-token`), each documented exit code produced by a real failure, `servers --fake` with its
 * refused, slow and healthy connections, `token transient`, `ping` and `--help`. Runs against the
 * fake embedded in the CLI (`--fake`) or one this test serves on 127.0.0.1.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PlexFake } from "effect-plex/testing"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { beforeAll } from "vitest"
import { build, fakeEnv, freshHome, type Home, root, run } from "./support/cli.js"

let main = ""
beforeAll(async () => {
  main = await build()
}, 180_000)

const FAKE_TOKEN = "FakePlexAccountToken"
const FAKE_SERVER_TOKEN = "FakeLivingRoomToken0"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** A home whose fake profile is already signed in (as `login --fake` leaves it). */
const signedInFake = (): Home => {
  const home = freshHome()
  mkdirSync(home.credentials, { recursive: true, mode: 0o700 })
  writeFileSync(
    join(home.credentials, "fake.default"),
    JSON.stringify({ kind: "token", clientIdentifier: "plex-auth-test", token: FAKE_TOKEN }),
    { mode: 0o600 }
  )
  return home
}

/** A loopback port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const json = (stdout: string) => JSON.parse(stdout.trim()) as Record<string, any>

layer(PlexFake.layerServer, { excludeTestServices: true })("plex-auth commands", (it) => {
  it.effect("--json: results parse, carry no token, and messages stay on stderr; --show-token adds it", () =>
    Effect.gen(function*() {
      const home = signedInFake()
      const whoami = yield* promise(() => run(main, ["whoami", "--fake", "--json"], { home }))
      assert.strictEqual(whoami.code, 0, whoami.stderr)
      assert.deepInclude(json(whoami.stdout), {
        ok: true,
        username: "user",
        email: "user@example.com",
        twoFactor: true,
        plexPass: false
      })
      assert.notInclude(whoami.stdout, FAKE_TOKEN)
      assert.include(whoami.stderr, "built-in fake Plex", "the banner is a message: stderr")

      const transient = yield* promise(() =>
        run(main, ["token", "transient", "--server", "Living Room", "--fake", "--json"], { home })
      )
      assert.strictEqual(transient.code, 0, transient.stderr)
      assert.deepInclude(json(transient.stdout), { ok: true, server: "Living Room" })
      assert.notMatch(transient.stdout + transient.stderr, /transient-|FakeLivingRoom|FakePlexAccount/)

      const shown = yield* promise(() =>
        run(main, ["token", "transient", "--server", "Living Room", "--fake", "--json", "--show-token"], { home })
      )
      assert.match(json(shown.stdout).token, /^transient-/)
      const me = yield* promise(() => run(main, ["whoami", "--fake", "--json", "--show-token"], { home }))
      assert.strictEqual(json(me.stdout).token, FAKE_TOKEN)

      const login = yield* promise(() =>
        run(main, ["login", "--fake", "--json", "--no-qr"], {
          home: freshHome(),
          env: { PLEX_AUTH_FAKE_APPROVE_AFTER: "0" }
        })
      )
      assert.strictEqual(login.code, 0, login.stderr)
      assert.deepInclude(json(login.stdout), { ok: true, credentials: "token", username: "user" })
      assert.notInclude(login.stdout + login.stderr, FAKE_TOKEN)
      assert.include(login.stderr, "https://app.plex.tv/auth#?")
      assert.strictEqual(login.stdout.trim().split("\n").length, 1, "stdout holds the result alone")
    }))

  it.effect("servers --fake: one refused, one slow and one healthy connection, the healthy one chosen", () =>
    Effect.gen(function*() {
      const home = signedInFake()
      const listed = yield* promise(() => run(main, ["servers", "--fake", "--json"], { home }))
      assert.strictEqual(listed.code, 0, listed.stderr)
      const [server] = json(listed.stdout).servers
      assert.strictEqual(server.name, "Living Room")
      const byWhere = Object.fromEntries(server.connections.map((c: any) => [c.where, c]))
      assert.strictEqual(byWhere.local.status, "refused")
      assert.strictEqual(byWhere.remote.status, "reachable")
      assert.isBelow(byWhere.remote.latencyMs, 1000)
      assert.strictEqual(byWhere.relay.status, "slow")
      assert.isAtLeast(byWhere.relay.latencyMs, 1400)
      assert.strictEqual(server.chosen, byWhere.remote.uri)
      assert.notInclude(listed.stdout, FAKE_SERVER_TOKEN)

      const text = yield* promise(() => run(main, ["servers", "--fake"], { home }))
      const lines = text.stdout.split("\n")
      assert.strictEqual(lines[0], "Living Room  (owned, Plex Media Server 1.41.3.9314-a0bfb8370)")
      assert.match(lines[1], /^ {2}✗ {2}local {3}http:\/\/127\.0\.0\.1:\d+ {2}refused$/)
      assert.match(lines[2], /^ {2}✓ {2}remote {2}http:\/\/127\.0\.0\.1:\d+ {2}reachable in \d+ ms {2}← chosen$/)
      assert.match(lines[3], /^ {2}✓ {2}relay {3}http:\/\/127\.0\.0\.1:\d+ {2}reachable in \d{4,5} ms \(slow\)$/)

      const connect = yield* promise(() => run(main, ["servers", "--fake", "--connect", "Living Room"], { home }))
      assert.strictEqual(connect.code, 0, connect.stderr)
      assert.match(connect.stdout, /^http:\/\/127\.0\.0\.1:\d+\n {2}Living Room: remote connection/)
    }))

  it.effect("exit 0, 2, 3, 4, 5 and 6, each from a real outcome, with a message and no stack trace", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      const account = yield* fake.addAccount({ login: "codes@example.com", password: "right" })
      const env = fakeEnv(urls.plexTvUrl, { PLEX_TOKEN: account.token })
      const outcome = (args: ReadonlyArray<string>, home: Home, extra?: Record<string, string>, input?: string) =>
        promise(() => run(main, args, { home, env: { ...env, ...extra }, ...(input === undefined ? {} : { input }) }))

      const ok = yield* outcome(["ping"], freshHome())
      assert.strictEqual(ok.code, 0, ok.stderr)
      assert.include(ok.stdout, "pong")

      const usage = yield* outcome(["whoami", "--no-such-option"], freshHome())
      assert.strictEqual(usage.code, 2)
      assert.include(usage.stderr, "--no-such-option")
      const noTerminal = yield* outcome(["signin", "--login", "codes@example.com"], freshHome())
      assert.strictEqual(noTerminal.code, 2, "no terminal for the password prompt: a usage error, not a hang")
      assert.include(noTerminal.stderr, "--password-stdin")

      const unauthorized = yield* promise(() => run(main, ["whoami", "--fake"], { home: freshHome() }))
      assert.strictEqual(unauthorized.code, 3)
      assert.include(unauthorized.stderr, "Not signed in (profile default, fake).")
      yield* fake.revokeToken(account.token)
      const revoked = yield* outcome(["whoami", "--json"], freshHome())
      assert.strictEqual(revoked.code, 3)
      assert.deepInclude(json(revoked.stdout), { ok: false })
      assert.strictEqual(json(revoked.stdout).error.kind, "unauthorized")

      const other = yield* fake.addAccount({ login: "codes2@example.com", password: "right" })
      const otherEnv = { PLEX_TOKEN: other.token }
      yield* fake.failNext(1, { status: 400 }, { path: "/api/v2/user" })
      const badRequest = yield* outcome(["whoami"], freshHome(), otherEnv)
      assert.strictEqual(badRequest.code, 4)
      assert.include(badRequest.stderr, "plex.tv refused the request")

      const port = yield* promise(closedPort)
      const network = yield* outcome(["whoami"], freshHome(), {
        ...otherEnv,
        PLEX_TV_URL: `http://127.0.0.1:${port}/api/v2`
      })
      assert.strictEqual(network.code, 5)
      assert.include(network.stderr, "Could not reach Plex")

      yield* fake.failNext(3, { status: 429 }, { path: "/api/v2/user" })
      const limited = yield* outcome(["whoami"], freshHome(), otherEnv)
      assert.strictEqual(limited.code, 6)
      assert.include(limited.stderr, "rate limiting")

      for (const ran of [usage, noTerminal, unauthorized, revoked, badRequest, network, limited]) {
        assert.notMatch(ran.stderr, /^\s+at /m)
        assert.notInclude(ran.stderr + ran.stdout, account.token)
        assert.notInclude(ran.stderr + ran.stdout, other.token)
      }
    }))

  it.effect("signin without a terminal: --password-stdin and --code; 1031 throttling exits 6 with a clear message", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      yield* fake.addAccount({ login: "stdin@example.com", password: "s3cret", twoFactorCode: "654321" })
      const env = fakeEnv(urls.plexTvUrl)
      const home = freshHome()
      const needsCode = yield* promise(() =>
        run(main, ["signin", "--login", "stdin@example.com", "--password-stdin"], { home, env, input: "s3cret\n" })
      )
      assert.strictEqual(needsCode.code, 2, "1029 and no terminal: asks for --code")
      assert.include(needsCode.stderr, "--code")
      const signedIn = yield* promise(() =>
        run(main, ["signin", "--login", "stdin@example.com", "--password-stdin", "--code", "654321", "--json"], {
          home,
          env,
          input: "s3cret\n"
        })
      )
      assert.strictEqual(signedIn.code, 0, signedIn.stderr)
      assert.deepInclude(json(signedIn.stdout), { ok: true, credentials: "token" })
      assert.notInclude(signedIn.stdout + signedIn.stderr, "s3cret")
      const stored = JSON.parse(readFileSync(join(home.credentials, "profile.default"), "utf8"))
      assert.isTrue(yield* fake.isTokenValid(stored.token))

      // Five wrong passwords; plex.tv then answers 1031 to any failure.
      for (let i = 0; i < 5; i++) {
        yield* promise(() =>
          fetch(`${urls.plexTvUrl}/users/signin`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", "x-plex-client-identifier": "t" },
            body: "login=stdin%40example.com&password=wrong"
          })
        )
      }
      const throttled = yield* promise(() =>
        run(main, ["signin", "--login", "stdin@example.com", "--password-stdin"], { home, env, input: "wrong\n" })
      )
      assert.strictEqual(throttled.code, 6)
      assert.include(throttled.stderr, "refusing sign-ins from here for now")
      assert.include(throttled.stderr, "plex-auth login")
    }))

  it.effect("--help: usage, commands and exit codes, without terminal escapes when piped", () =>
    Effect.gen(function*() {
      const help = yield* promise(() => run(main, ["--help"], { home: freshHome() }))
      assert.strictEqual(help.code, 0)
      assert.notInclude(help.stdout, "\x1b[")
      for (
        const name of ["login", "signin", "whoami", "servers", "token transient", "ping", "signout", "jwt refresh"]
      ) {
        assert.include(help.stdout, `- ${name}`)
      }
      assert.include(help.stdout, "3 unauthorized or expired")
      const started = Date.now()
      const version = yield* promise(() => run(main, ["--version"], { home: freshHome() }))
      assert.strictEqual(version.stdout.trim(), JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version)
      assert.isBelow(Date.now() - started, 5000)
    }))

  it("src/cli imports only the public modules, never internal/", () => {
    const files = readdirSync(join(root, "src/cli")).filter((f) => f.endsWith(".ts"))
    assert.isAbove(files.length, 5)
    for (const file of files) {
      const source = readFileSync(join(root, "src/cli", file), "utf8")
      const imports = [...source.matchAll(/from "(\.[^"]+)"|import\("(\.[^"]+)"\)/g)].map((m) => m[1] ?? m[2])
      for (const path of imports) {
        assert.isTrue(
          /^\.\/[\w]+\.js$/.test(path!) || path === "../index.js" || path === "../testing/index.js",
          `${file} imports ${path}`
        )
      }
    }
  })
})
