/**
 * Running the compiled `plex-auth` as a real process: `build()` compiles `src/` with the build
 * tsconfig into a temporary folder once per source tree (test files share it through a lock, and
 * never touch `dist/`, which the packaging test rebuilds), `run()` runs it with pipes (no terminal:
 * stdout and stderr apart), and `pty()` runs it under a real pseudo-terminal with util-linux
 * `script`, for prompts, the countdown and Ctrl-C. Every run gets its own `HOME` and
 * `XDG_CONFIG_HOME`, and none of the caller's `PLEX_*` variables.
 */
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

export const root = fileURLToPath(new URL("../../..", import.meta.url))

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)]
  )

const fingerprint = (): string => {
  const hash = createHash("sha256")
  for (
    const file of [...sourceFiles(join(root, "src")), join(root, "package.json"), join(root, "tsconfig.json")].sort()
  ) {
    hash.update(relative(root, file)).update(readFileSync(file))
  }
  return hash.digest("hex").slice(0, 16)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Builds of older source trees, left an hour ago or more, are of no use to any run.
const removeStaleBuilds = (current: string) => {
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name)
    if (!/^effect-plex-cli-[0-9a-f]{16}$/.test(name) || path === current) continue
    const stat = statSync(path, { throwIfNoEntry: false })
    if (stat !== undefined && Date.now() - stat.mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true })
  }
}

/**
 * Compiles the package once per source tree and gives the path of the CLI's `main.js`. The folder
 * holds `dist/`, the package.json and a link to the repository's node_modules, like an install.
 */
export const build = async (): Promise<string> => {
  const dir = join(tmpdir(), `effect-plex-cli-${fingerprint()}`)
  const main = join(dir, "dist/cli/main.js")
  const done = join(dir, ".done")
  const lock = `${dir}.lock`
  for (let waited = 0; waited < 180_000; waited += 200) {
    if (existsSync(done)) return main
    try {
      mkdirSync(lock)
    } catch {
      // Another test file is building: wait for it (or take over a lock left by a dead run).
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000) rmSync(lock, { force: true })
      await sleep(200)
      continue
    }
    try {
      if (existsSync(done)) return main
      const staging = mkdtempSync(`${dir}.staging-`)
      const tsc = spawnSync(process.execPath, [
        join(root, "node_modules/typescript/bin/tsc"),
        "-p",
        join(root, "tsconfig.build.json"),
        "--outDir",
        join(staging, "dist"),
        "--declaration",
        "false",
        "--declarationMap",
        "false",
        "--sourceMap",
        "false"
      ], { encoding: "utf8" })
      if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}\n${tsc.stderr}`)
      writeFileSync(join(staging, "package.json"), readFileSync(join(root, "package.json")))
      symlinkSync(join(root, "node_modules"), join(staging, "node_modules"), "dir")
      writeFileSync(join(staging, ".done"), "")
      rmSync(dir, { recursive: true, force: true })
      renameSync(staging, dir)
      removeStaleBuilds(dir)
      return main
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
  throw new Error("timed out waiting for the CLI build")
}

/** A fresh `HOME` / `XDG_CONFIG_HOME` pair; the credentials land in `<config>/effect-plex`. */
export const freshHome = () => {
  const home = mkdtempSync(join(tmpdir(), "plex-auth-home-"))
  const config = join(home, "config")
  return { home, config, credentials: join(config, "effect-plex") }
}

export type Home = ReturnType<typeof freshHome>

/** The environment of a run: no PLEX_* of the caller, its own home, plus `extra`. */
export const environment = (home: Home, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("PLEX_") && !key.startsWith("VITEST") && key !== "NODE_OPTIONS") env[key] = value
  }
  return { ...env, HOME: home.home, XDG_CONFIG_HOME: home.config, NO_COLOR: "1", ...extra }
}

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/** Runs the CLI with pipes (no terminal), `input` on stdin, and waits for it to end. */
export const run = (
  main: string,
  args: ReadonlyArray<string>,
  options: { readonly home: Home; readonly env?: Record<string, string>; readonly input?: string; timeout?: number }
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [main, ...args], { env: environment(options.home, options.env) })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => stdout += chunk)
    child.stderr.on("data", (chunk) => stderr += chunk)
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`plex-auth ${args.join(" ")} did not end within ${options.timeout ?? 20_000} ms:\n${stderr}`))
    }, options.timeout ?? 20_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, millis: Date.now() - started })
    })
    child.stdin.end(options.input ?? "")
  })

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`

/** A run under a pseudo-terminal: what it has printed so far, keystrokes, and its exit. */
export interface Session {
  /** Everything printed so far (stdout and stderr, as a terminal shows them), with \r\n. */
  readonly output: () => string
  /** Resolves once the output matches `pattern` (searched from `from`), with the match. */
  readonly waitFor: (pattern: RegExp, options?: { timeout?: number; from?: number }) => Promise<RegExpMatchArray>
  /** Types `text` at the terminal. */
  readonly type: (text: string) => void
  /** The exit code of plex-auth, once it has ended. */
  readonly exit: Promise<number | null>
  readonly kill: () => void
}

/** Runs the CLI under a pseudo-terminal (`script -q -e`), 120 columns wide. */
export const pty = (
  main: string,
  args: ReadonlyArray<string>,
  options: { readonly home: Home; readonly env?: Record<string, string> }
): Session => {
  const command = `stty cols 120 rows 50; exec ${quote(process.execPath)} ${[main, ...args].map(quote).join(" ")}`
  const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
    env: { ...environment(options.home, options.env), TERM: "xterm-256color" }
  })
  let output = ""
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8")
    for (const listener of listeners) listener()
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  return {
    output: () => output,
    waitFor: (pattern, waitOptions) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = output.slice(waitOptions?.from ?? 0).match(pattern)
          if (match === null) return
          listeners.delete(check)
          clearTimeout(timer)
          resolve(match)
        }
        const timer = setTimeout(() => {
          listeners.delete(check)
          reject(new Error(`no ${pattern} within ${waitOptions?.timeout ?? 15_000} ms; the terminal shows:\n${output}`))
        }, waitOptions?.timeout ?? 15_000)
        listeners.add(check)
        check()
      }),
    type: (text) => child.stdin.write(text),
    exit,
    kill: () => child.kill("SIGKILL")
  }
}

/** The output without terminal escapes and carriage returns. */
export const plain = (text: string) =>
  text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r\n/g, "\n").replace(/\r/g, "\n")

/** Mode bits of a file (e.g. 0o600). */
export const modeOf = (path: string) => statSync(path).mode & 0o777

/** The environment that points plex-auth at a fake served by the test (its plex.tv and clients.plex.tv). */
export const fakeEnv = (plexTvUrl: string, extra: Record<string, string> = {}) => ({
  PLEX_TV_URL: plexTvUrl,
  PLEX_CLIENTS_URL: plexTvUrl,
  ...extra
})
