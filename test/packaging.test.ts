/**
 * The package as users get it: `npm run build`, `npm pack`, install the tarball into a fresh
 * project (from the local npm cache where possible), then run a consumer program and type-check a
 * consumer file against the installed package. Everything it runs talks to 127.0.0.1 only.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const run = (
  command: string,
  args: ReadonlyArray<string>,
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env
): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout, stderr })
    })
  })

const runOk = async (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs: number) => {
  const result = await run(command, args, cwd, timeoutMs)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
  return result
}

const runEffect = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs: number) =>
  Effect.promise(() => run(command, args, cwd, timeoutMs))

let work = ""
let project = ""
let tarball = ""
let entries: ReadonlyArray<string> = []
let consumer: Promise<Ran> | undefined

/** The consumer program's one run, shared by the tests that read its output. */
const consumerRun = Effect.promise(() => consumer ??= run(process.execPath, ["consumer.mjs"], project, 60_000))

// The slow steps run once; each test below checks one property of their result.
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "effect-plex-packaging-"))
  project = join(work, "consumer")
  await runOk("npm", ["run", "build"], root, 120_000)
  const packed = await runOk("npm", ["pack", "--pack-destination", work, "--json"], root, 60_000)
  tarball = join(work, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0].filename)
  const listed = await runOk("tar", ["-tzf", tarball], work, 30_000)
  entries = listed.stdout.split("\n").filter((line) => line !== "").map((line) => line.replace(/^package\//, ""))
  mkdirSync(project)
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
  await runOk(
    "npm",
    [
      "install",
      tarball,
      "effect@3.22.4",
      "@effect/platform@0.97.2",
      "@effect/platform-node@0.108.2",
      "--prefer-offline",
      "--no-audit",
      "--no-fund"
    ],
    project,
    120_000
  )
  copyFileSync(join(root, "test/packaging/consumer.mjs"), join(project, "consumer.mjs"))
}, 240_000)

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

describe("packaging", () => {
  it.live("the tarball ships dist (JS, types, source maps) and README, and no tests or benchmarks", () =>
    Effect.sync(() => {
      for (
        const file of [
          "package.json",
          "README.md",
          "dist/index.js",
          "dist/index.d.ts",
          "dist/index.js.map",
          "dist/index.d.ts.map",
          "dist/testing/index.js",
          "dist/testing/index.d.ts",
          "dist/testing/index.js.map",
          "dist/Authentication.js",
          "dist/Authentication.js.map"
        ]
      ) {
        assert.include(entries, file, `${file} is in the tarball`)
      }
      const stray = entries.filter((e) =>
        e.startsWith("test/") || e.startsWith("bench/") || e.startsWith("scratch/") || e.startsWith("examples/") ||
        e.includes(".test.") || e.endsWith(".tgz") || e.endsWith(".cpuprofile")
      )
      assert.deepStrictEqual(stray, [])
    }))

  it.live("every source map in the tarball points at a source file that is also in it", () =>
    Effect.sync(() => {
      const maps = entries.filter((e) => e.endsWith(".js.map"))
      assert.isAbove(maps.length, 5)
      const installed = join(project, "node_modules/effect-plex")
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(join(installed, map), "utf8")) as { sources: Array<string> }
        for (const source of sources) {
          const resolved = join(installed, map, "..", source).slice(installed.length + 1)
          assert.include(entries, resolved, `${map} refers to ${source}`)
        }
      }
    }))

  it.live("a fresh project imports effect-plex and effect-plex/testing and signs in over loopback", () =>
    Effect.gen(function*() {
      const result = yield* consumerRun
      assert.strictEqual(result.code, 0, `consumer failed:\n${result.stdout}\n${result.stderr}`)
      assert.include(result.stdout, "CONSUMER_SIGNED_IN username=packaged-consumer")
    }))

  it.live("each public module is importable by its own subpath, as the same module the barrel exports", () =>
    Effect.gen(function*() {
      const result = yield* consumerRun
      assert.include(result.stdout, "DEEP_IMPORTS_SAME true")
    }))

  it.live("subpaths outside package.json exports are refused with ERR_PACKAGE_PATH_NOT_EXPORTED", () =>
    Effect.gen(function*() {
      const result = yield* consumerRun
      assert.include(result.stdout, "SUBPATH_REFUSED effect-plex/internal/request.js ERR_PACKAGE_PATH_NOT_EXPORTED")
      assert.include(
        result.stdout,
        "SUBPATH_REFUSED effect-plex/dist/internal/request.js ERR_PACKAGE_PATH_NOT_EXPORTED"
      )
      assert.notInclude(result.stdout, "SUBPATH_IMPORTED")
    }))

  it.live("the tarball ships the plex-auth bin, and npx plex-auth --help runs it from the installed package", () =>
    Effect.gen(function*() {
      assert.include(entries, "dist/cli/main.js")
      const installed = JSON.parse(readFileSync(join(project, "node_modules/effect-plex/package.json"), "utf8"))
      assert.deepStrictEqual(installed.bin, { "plex-auth": "./dist/cli/main.js" })
      const help = yield* runEffect("npx", ["plex-auth", "--help"], project, 60_000)
      assert.strictEqual(help.code, 0, `${help.stdout}\n${help.stderr}`)
      assert.include(help.stdout, "plex-auth")
      assert.include(help.stdout, "- login")
      assert.include(help.stdout, "EXIT CODES")
    }))

  it.live("npx plex-auth login --fake signs in from the installed package, and whoami --fake shows the user", () =>
    Effect.gen(function*() {
      const home = join(work, "cli-home")
      const env = {
        ...process.env,
        HOME: home,
        XDG_CONFIG_HOME: join(home, "config"),
        PLEX_AUTH_FAKE_APPROVE_AFTER: "0"
      }
      const login = yield* Effect.promise(() =>
        run("npx", ["plex-auth", "login", "--fake", "--no-qr"], project, 60_000, env)
      )
      assert.strictEqual(login.code, 0, `${login.stdout}\n${login.stderr}`)
      assert.include(login.stdout, "Signed in as user (user@example.com).")
      const whoami = yield* Effect.promise(() => run("npx", ["plex-auth", "whoami", "--fake"], project, 60_000, env))
      assert.strictEqual(whoami.code, 0, whoami.stderr)
      assert.include(whoami.stdout, "user <user@example.com>")
    }))

  it.live(
    "installed alone, without naming its peers, the package gets them from npm and plex-auth runs",
    () =>
      Effect.gen(function*() {
        const alone = join(work, "alone")
        mkdirSync(alone)
        writeFileSync(join(alone, "package.json"), JSON.stringify({ name: "alone", private: true }))
        const install = yield* runEffect(
          "npm",
          ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund"],
          alone,
          120_000
        )
        assert.strictEqual(install.code, 0, install.stderr)
        assert.isTrue(existsSync(join(alone, "node_modules/@effect/platform-node/package.json")))
        const help = yield* runEffect("npx", ["plex-auth", "--version"], alone, 60_000)
        assert.strictEqual(help.code, 0, help.stderr)
        assert.strictEqual(help.stdout.trim(), JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version)
      }),
    150_000
  )

  it.live(
    "the installed declarations type-check in a strict NodeNext consumer, with no implicit any",
    () =>
      Effect.gen(function*() {
        writeFileSync(join(project, "check.ts"), typeCheckSource)
        writeFileSync(
          join(project, "tsconfig.json"),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              exactOptionalPropertyTypes: true,
              module: "NodeNext",
              moduleResolution: "NodeNext",
              target: "ES2022",
              lib: ["ES2022", "DOM"],
              types: [],
              noEmit: true,
              // Checked on purpose: a declaration that refers to something `stripInternal` removed
              // only shows up when the package's own .d.ts files are checked.
              skipLibCheck: false
            },
            files: ["check.ts"]
          })
        )
        const tsc = join(root, "node_modules/typescript/bin/tsc")
        assert.isTrue(existsSync(tsc))
        const result = yield* runEffect(process.execPath, [tsc, "-p", "tsconfig.json"], project, 90_000)
        assert.strictEqual(result.code, 0, `tsc reported:\n${result.stdout}${result.stderr}`)
      }),
    120_000
  )
})

// What a TypeScript user writes against the published types. The @ts-expect-error lines fail the
// check if a type silently became `any` (e.g. a declaration referring to a stripped one).
const typeCheckSource = `
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ConfigError from "effect/ConfigError"
import { Authentication, Plex, PlexConfig, PlexToken } from "effect-plex"
import type { Models } from "effect-plex"
import type { PlexError } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import * as PlexPolicyByPath from "effect-plex/PlexPolicy"

export const byPath: Layer.Layer<PlexPolicyByPath.PlexPolicy> = PlexPolicyByPath.layerNoRetries
// @ts-expect-error maxAttempts is a number (the subpath's types are the real ones, not any)
export const badPolicy = PlexPolicyByPath.layer({ maxAttempts: "3" })

// A wrong option fails the config layer once, with a ConfigError.
const live: Layer.Layer<Authentication.Authentication, ConfigError.ConfigError> = Authentication.layer.pipe(
  Layer.provide(Layer.mergeAll(FetchHttpClient.layer, PlexConfig.layer({ clientIdentifier: "x" }), PlexToken.none))
)
export const username: Effect.Effect<string, PlexError.PlexError | ConfigError.ConfigError> = Authentication
  .getTokenDetails({ serverUrl: "http://127.0.0.1:1" })
  .pipe(Effect.map((user) => user.username), Effect.provide(live))
// The whole SDK in one layer needs only a transport.
export const sdk: Layer.Layer<Plex.Provided, ConfigError.ConfigError> = Plex.layer({ clientIdentifier: "x" }).pipe(
  Layer.provide(FetchHttpClient.layer)
)
export const user: Effect.Effect<Models.PlexUser, PlexError.PlexError | ConfigError.ConfigError> = Authentication
  .getTokenDetails()
  .pipe(Effect.provide(sdk))
// @ts-expect-error serverUrl must be a string
export const badOptions = Authentication.getTokenDetails({ serverUrl: 1 })
// @ts-expect-error login is required
export const badParams = Authentication.postUsersSignInData({ password: "x" })
export const fake: Layer.Layer<PlexFake.PlexFake | PlexFake.PlexFakeServer, unknown> = PlexFake.layerServer
`
