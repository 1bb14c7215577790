/**
 * Where credentials live: `PlexJwt.layerFileStore` on the real file system (live clock). The
 * directory is 0700, the file 0600, and it holds exactly the credentials (private key and JWT in
 * the clear, nothing else); a second layer on the same directory (a new process) reads what the
 * first refreshed; a child process killed mid-write leaves a whole value behind, never a torn one;
 * temporary files are never taken for keys; the platform store's files read back; a file that does
 * not decode is a typed `Storage` error that quotes nothing.
 */
import { FetchHttpClient, KeyValueStore } from "@effect/platform"
import * as NodeKeyValueStore from "@effect/platform-node/NodeKeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { Authentication, PinLogin, Plex, PlexError, PlexJwt, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expectFailure } from "../unit/helpers.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const writer = fileURLToPath(new URL("./store-writer-child.ts", import.meta.url))
const CLIENT = "jwt-store-client"
const KEY = "plex/main"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-plex-store-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const mode = (path: string) => statSync(path).mode & 0o777

const config = PlexFake.layerConfig({ clientIdentifier: CLIENT })

/** A service process: Authentication with layerJwt over a file store in `dir`, built on its own. */
const processIn = (dir: string, options?: Partial<PlexToken.JwtOptions>) =>
  Authentication.layer.pipe(
    Layer.provide(PlexToken.layerJwt({ key: KEY, ...options })),
    Layer.provide(PlexJwt.layer),
    Layer.provide(PlexJwt.layerFileStore(dir)),
    Layer.provide(config),
    Layer.provide(FetchHttpClient.layer)
  )

/** Credentials from a PIN with a key, approved by the fake. */
const signIn = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
  const key = yield* PlexJwt.generateKey
  const pin = yield* PinLogin.createPin({ jwk: key.publicJwk })
  yield* fake.approvePin(pin.id, account.token)
  return yield* PlexJwt.waitForCredentials(pin, key)
}).pipe(
  Effect.provide(
    Layer.mergeAll(PinLogin.layer, PlexJwt.layer).pipe(
      Layer.provide(config),
      Layer.provide(FetchHttpClient.layer)
    )
  )
)

describe("PlexJwt.layerFileStore", () => {
  it.scopedLive("0700 directory, 0600 file, holding the credentials and nothing else", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "nested", "effect-plex")
      const credentials = yield* signIn
      yield* PlexJwt.saveCredentials(KEY, credentials).pipe(Effect.provide(PlexJwt.layerFileStore(dir)))
      assert.strictEqual(mode(dir), 0o700)
      const file = join(dir, encodeURIComponent(KEY))
      assert.deepStrictEqual(readdirSync(dir), [encodeURIComponent(KEY)])
      assert.strictEqual(mode(file), 0o600)
      const stored = JSON.parse(readFileSync(file, "utf8"))
      // In the clear, because refreshing needs them: the private key (d) and the current JWT.
      assert.deepStrictEqual(Object.keys(stored).sort(), ["clientIdentifier", "expiresAt", "key", "kid", "token"])
      assert.deepStrictEqual(Object.keys(stored.key).sort(), ["crv", "d", "kty", "x"])
      assert.strictEqual(stored.token, Redacted.value(credentials.token))
      assert.strictEqual(stored.clientIdentifier, CLIENT)
      // A rewrite keeps the mode and leaves no temporary file.
      yield* PlexJwt.saveCredentials(KEY, credentials).pipe(Effect.provide(PlexJwt.layerFileStore(dir)))
      assert.strictEqual(mode(file), 0o600)
      assert.deepStrictEqual(readdirSync(dir), [encodeURIComponent(KEY)])
    }).pipe(Effect.provide(PlexFake.layerServer)))

  it.scopedLive("a second layer on the same directory (a new process) reads the credentials the first refreshed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = yield* PlexFake.PlexFake
      const credentials = yield* signIn
      yield* PlexJwt.saveCredentials(KEY, credentials).pipe(Effect.provide(PlexJwt.layerFileStore(dir)))
      // The first process finds a week too short (refreshBefore 8 days), so it refreshes at once.
      const first = yield* Layer.build(processIn(dir, { refreshBefore: "8 days" }))
      yield* Effect.provide(Authentication.getTokenDetails(), first)
      const refreshed = (yield* fake.requests).filter((r) => r.path === "/api/v2/auth/token")
      assert.strictEqual(refreshed.length, 1)
      const second = yield* Layer.build(processIn(dir))
      assert.strictEqual((yield* Effect.provide(Authentication.getTokenDetails(), second)).username, "ada")
      const requests = yield* fake.requests
      assert.strictEqual(requests.filter((r) => r.path === "/api/v2/auth/token").length, 1)
      const sent = requests.filter((r) => r.path === "/api/v2/user").map((r) => r.headers["x-plex-token"])
      assert.strictEqual(sent.length, 2)
      assert.strictEqual(sent[0], sent[1])
      assert.notStrictEqual(sent[0], Redacted.value(credentials.token))
      assert.strictEqual(mode(join(dir, encodeURIComponent(KEY))), 0o600)
    }).pipe(Effect.provide(PlexFake.layerServer)))

  it.scopedLive("Plex.layerJwt: the whole SDK signed in from credentials in a file store directory", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "plex")
      const urls = yield* PlexFake.PlexFakeServer
      const credentials = yield* signIn
      yield* PlexJwt.saveCredentials(KEY, credentials).pipe(Effect.provide(PlexJwt.layerFileStore(dir)))
      const sdk = yield* Layer.build(
        Plex.layerJwt({
          clientIdentifier: CLIENT,
          product: "store tests",
          plexTvUrl: urls.plexTvUrl,
          clientsUrl: urls.plexTvUrl,
          policy: { maxAttempts: 1 },
          jwt: { key: KEY, directory: dir, refreshBefore: "8 days" }
        }).pipe(Layer.provide(FetchHttpClient.layer))
      )
      // refreshBefore 8 days: the 7-day JWT is refreshed at once, and stored in the directory.
      assert.strictEqual((yield* Effect.provide(Authentication.getTokenDetails(), sdk)).username, "ada")
      const stored = Option.getOrThrow(
        yield* PlexJwt.loadCredentials(KEY).pipe(Effect.provide(PlexJwt.layerFileStore(dir)))
      )
      assert.notStrictEqual(Redacted.value(stored.token), Redacted.value(credentials.token))
      const claims = yield* Effect.provide(PlexJwt.verify(stored.token, stored), sdk)
      assert.strictEqual(claims.user.username, "ada")
    }).pipe(Effect.provide(PlexFake.layerServer)))

  it.live("a writer killed mid-write leaves a whole value readable, never a torn one", () =>
    Effect.gen(function*() {
      // @effect/platform-node's own store, killed the same way, is left truncated most times.
      for (const delay of [150, 320, 530]) {
        const { dir, text } = yield* Effect.promise(() => killMidWrite("ours", delay))
        rmSync(dir, { recursive: true, force: true })
        if (text === "") continue
        let parsed: { n: number; padding: string } | undefined
        try {
          parsed = JSON.parse(text)
        } catch {
          assert.fail(`killed ${delay} ms in, the file is torn: ${text.length} bytes`)
        }
        assert.strictEqual(parsed!.padding.length, 16 * 1024 * 1024)
      }
    }), 60_000)

  it.scopedLive("temporary files are not keys: get, size and clear ignore or remove them, the directory stays 0700", () =>
    Effect.gen(function*() {
      const dir = join(yield* tempDir, "store")
      const kv = yield* Effect.provide(KeyValueStore.KeyValueStore, PlexJwt.layerFileStore(dir))
      yield* kv.set("a", "1")
      // What a crash between the temporary write and the rename leaves behind.
      writeFileSync(join(dir, `${encodeURIComponent("a")}+crash.tmp`), "{\"half\":")
      writeFileSync(join(dir, `${encodeURIComponent("b")}+crash.tmp`), "{\"half\":")
      assert.deepStrictEqual(yield* kv.get("a"), Option.some("1"))
      assert.deepStrictEqual(yield* kv.get("b"), Option.none())
      assert.strictEqual(yield* kv.size, 1)
      yield* kv.remove("missing")
      yield* kv.clear
      assert.deepStrictEqual(readdirSync(dir), [])
      assert.strictEqual(mode(dir), 0o700)
      assert.isTrue(yield* kv.isEmpty)
    }))

  it.scopedLive("reads what @effect/platform-node's own file store wrote (same file names)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const platform = yield* Effect.provide(KeyValueStore.KeyValueStore, NodeKeyValueStore.layerFileSystem(dir))
      yield* platform.set("plex:credentials/main", "from the platform store")
      const ours = yield* Effect.provide(KeyValueStore.KeyValueStore, PlexJwt.layerFileStore(dir))
      assert.deepStrictEqual(yield* ours.get("plex:credentials/main"), Option.some("from the platform store"))
    }))

  it.scopedLive("stored bytes that do not decode are a typed Storage error that quotes none of them", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const secret = "SECRETd0n0tpr1ntME0123456789"
      const layer = PlexJwt.layerFileStore(dir)
      const kv = yield* Effect.provide(KeyValueStore.KeyValueStore, layer)
      yield* kv.set(KEY, JSON.stringify({ clientIdentifier: CLIENT, key: { d: secret }, token: secret }))
      const error = yield* expectFailure(PlexJwt.loadCredentials(KEY).pipe(Effect.provide(layer)))
      assert.isTrue(PlexError.isReason(error, "Storage"))
      assert.include(error.message, KEY)
      assert.notInclude(`${error.message} ${JSON.stringify(error)}`, secret.slice(0, 10))
      yield* kv.set(KEY, "{\"trunc")
      const torn = yield* expectFailure(PlexJwt.loadCredentials(KEY).pipe(Effect.provide(layer)))
      assert.isTrue(PlexError.isReason(torn, "Storage"))
    }))
})

/**
 * Starts the writer child on a fresh directory and kills it (SIGKILL) `delay` ms after its first
 * write started; returns the directory and the bytes the key's file holds.
 */
const killMidWrite = (kind: "ours" | "platform", delay: number) =>
  new Promise<{ readonly dir: string; readonly text: string }>((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), "effect-plex-kill-"))
    const env: NodeJS.ProcessEnv = { ...process.env, STORE_DIR: dir, STORE_KIND: kind }
    delete env.NODE_OPTIONS
    const child = spawn(process.execPath, ["--import", "tsx", writer], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let started = false
    let errors = ""
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString("utf8")))
    child.stdout.on("data", () => {
      if (started) return
      started = true
      setTimeout(() => child.kill("SIGKILL"), delay)
    })
    child.on("error", reject)
    child.on("close", () => {
      clearTimeout(timer)
      if (!started) return reject(new Error(`the writer never started:\n${errors}`))
      let text = ""
      try {
        text = readFileSync(join(dir, encodeURIComponent(KEY)), "utf8")
      } catch {
        // No file yet: killed inside the very first write.
      }
      resolve({ dir, text })
    })
  })
