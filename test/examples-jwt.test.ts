/**
 * examples/jwt-login.ts against PlexFake over loopback (live clock: the fake approves the PIN after
 * 3 seconds): PIN with a key, approval, the stored credentials (a 0600 file), use through
 * PlexToken.layerJwt, refresh and verification; and a second run on the same store, which signs in
 * no more. README.md's JWT blocks are regions of that file (test/examples.test.ts checks them all).
 */
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect } from "effect"
import { PlexFake } from "effect-plex/testing"
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Example from "../examples/jwt-login.js"

/** Console output of an effect, line by line. */
const captureConsole = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Console.consoleWith((current) => {
    const lines: Array<string> = []
    const log = (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
    return Effect.map(Effect.withConsole(self, { ...current, log, info: log, warn: log, error: log }), () => lines)
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-plex-jwt-example-test-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("examples/jwt-login.ts", () => {
  it.scopedLive(
    "signs in with a PIN and a key, uses, refreshes and verifies the JWT, then runs again without a PIN",
    () =>
      Effect.gen(function*() {
        const dir = join(yield* tempDir, "store")
        yield* run(dir).pipe(Effect.provide(Example.PlexOnFake(dir)))
      }),
    30_000
  )
})

const run = (dir: string) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
    yield* fake.autoApprovePins("3 seconds", account.token)

    const report = (yield* captureConsole(Example.program)).join("\n")
    assert.match(report, /Open https:\/\/app\.plex\.tv\/auth#\?clientID=effect-plex-jwt-example&code=[a-z0-9]{25}&/)
    assert.include(report, "Signed in as ada <ada@example.com>")
    assert.match(report, new RegExp(`JWT for user ${account.uuid} \\(ada\\), expires DateTime\\.Utc\\(`))
    assert.notInclude(report, account.token)

    const file = join(dir, encodeURIComponent(Example.STORE_KEY))
    assert.deepStrictEqual(readdirSync(dir), [encodeURIComponent(Example.STORE_KEY)])
    assert.strictEqual(statSync(file).mode & 0o777, 0o600)
    assert.strictEqual(statSync(dir).mode & 0o777, 0o700)

    const first = yield* fake.requests
    const paths = first.map((r) => `${r.method} ${r.path}`)
    assert.strictEqual(paths.filter((p) => p === "POST /api/v2/pins").length, 1)
    assert.isTrue(first.some((r) => r.path.startsWith("/api/v2/pins/") && r.searchParams["deviceJWT"] !== undefined))
    assert.strictEqual(paths.filter((p) => p === "POST /api/v2/auth/token").length, 1)
    assert.isFalse(first.some((r) => r.headers["x-plex-token"] === account.token), "the legacy token was used")

    // A second run on the same store: no new PIN; the stored JWT is used, then refreshed.
    yield* fake.clearRequests
    const again = (yield* captureConsole(Example.program)).join("\n")
    assert.notInclude(again, "Open https://")
    assert.include(again, "Signed in as ada <ada@example.com>")
    const second = (yield* fake.requests).map((r) => `${r.method} ${r.path}`)
    assert.notInclude(second, "POST /api/v2/pins")
    assert.strictEqual(second.filter((p) => p === "POST /api/v2/auth/token").length, 1)
  })
