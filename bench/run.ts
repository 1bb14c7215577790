/**
 * `npm run bench`: the SDK (on FetchHttpClient and on @effect/platform-node's undici client) against
 * a hand-written raw-fetch baseline (bench/baseline.ts), in the same run, on loopback only.
 *
 * - per-call CPU (sequential and 64 in flight), latency (one in flight), throughput (64 in flight):
 *   one child process runs raw fetch, and on each transport the leanest Effect call (`min-*`) and the
 *   SDK (`sdk-*`), interleaved A B C D E, E D C B A, … in rounds, so machine drift hits all of them
 *   alike; ratios are the median of per-round ratios;
 * - heap and RSS after 10,000 calls (4,000 quick), and heap growth 1k → 10k: one fresh child for raw
 *   and each SDK variant;
 * - cold start (import + first call) in fresh processes: src under tsx, a fresh tsc build of src
 *   (what users run unbundled), and an esbuild bundle;
 * - bundle size: bench/bundle-entry.ts, esbuild --bundle --minify, then gzip;
 * - a CPU profile (`node --cpu-prof`) of a getTokenDetails loop per transport, summarized.
 *
 * The server (bench/server.ts) runs in its own process. `BENCH_QUICK=1` (or `--quick`) for a short
 * run; `--no-profile` skips profiling. Writes bench/results.md.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import type * as Sdk from "effect-plex"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Schema from "effect/Schema"
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { gzipSync } from "node:zlib"
import {
  benchLogin,
  benchPassword,
  benchSource,
  benchToken,
  identity,
  identityHeaders,
  makeBaseline,
  type Operation,
  operations
} from "./baseline.js"
import { bundleForNode } from "./bundle.js"
import { PlainSource, PlainTransient, PlainUser } from "./plain.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const self = fileURLToPath(import.meta.url)
const args = process.argv.slice(2)
const quick = process.env.BENCH_QUICK === "1" || args.includes("--quick")

const variants = ["raw", "min-undici", "sdk-undici", "min-fetch", "sdk-fetch"] as const
type Variant = (typeof variants)[number]
const sdkVariants = ["sdk-undici", "sdk-fetch"] as const
const memoryVariants = ["raw", ...sdkVariants] as const

const settings = quick ?
  { rounds: 3, seqCalls: 60, parCalls: 200, warmup: 100, memoryCalls: 4000, coldRuns: 2, profileCalls: 1500 } :
  { rounds: 8, seqCalls: 400, parCalls: 800, warmup: 1500, memoryCalls: 10_000, coldRuns: 5, profileCalls: 4000 }
const inFlight = 64
// Longer leak hunts: BENCH_MEMORY_CALLS=40000 (a multiple of 40; sampled every tenth).
const memoryCalls = Number(process.env.BENCH_MEMORY_CALLS ?? settings.memoryCalls)

// --- small helpers ------------------------------------------------------------------------

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n === 0 ? Number.NaN : n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
const percentile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}
const fmt = (n: number, digits = 1): string => Number.isFinite(n) ? n.toFixed(digits) : "n/a"
const ratio = (n: number): string => Number.isFinite(n) ? `${n.toFixed(2)}×` : "n/a"
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
const cpuMicros = (usage: NodeJS.CpuUsage): number => usage.user + usage.system
const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

// --- the drivers ------------------------------------------------------------------------------

interface Driver {
  readonly name: Variant
  /** `n` calls one after another; pushes each call's latency (ms) to `latencies`. */
  readonly seq: (op: Operation, n: number, latencies: Array<number>) => Promise<void>
  /** `n` calls with `concurrency` in flight. */
  readonly par: (op: Operation, n: number, concurrency: number) => Promise<void>
  /** One call, returning the username or token it got (a sanity check that it really decoded). */
  readonly probe: (op: Operation) => Promise<string>
  readonly close: () => Promise<void>
}

const makeRawDriver = (origin: string): Driver => {
  const baseline = makeBaseline(origin)
  return {
    name: "raw",
    seq: async (op, n, latencies) => {
      const call = baseline[op]
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        await call()
        latencies.push(performance.now() - t0)
      }
    },
    par: async (op, n, concurrency) => {
      const call = baseline[op]
      let started = 0
      const worker = async () => {
        while (started < n) {
          started++
          await call()
        }
      }
      await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
    },
    probe: async (op) => {
      const body = (await baseline[op]()) as Record<string, any>
      return String(body.username ?? body.MediaContainer?.token ?? body.MediaContainer?.Device?.name)
    },
    close: async () => {}
  }
}

/**
 * The SDK as users run it: the fresh tsc build, not `src/` through tsx (whose keep-names helpers add
 * a call per function created).
 */
const loadSdk = async (distIndex: string): Promise<typeof Sdk> => {
  const sdk: typeof Sdk = await import(distIndex)
  // The SDK must share this process's effect: two copies would measure a setup no user has.
  const ours = Object.getPrototypeOf(Effect.flatMap(Effect.void, () => Effect.void))
  if (Object.getPrototypeOf(sdk.PlexPolicy.withPolicy(Effect.void, {})) !== ours) {
    throw new Error(`${distIndex} loaded a second copy of effect`)
  }
  return sdk
}

const sdkLayer = (
  { Authentication, PlexConfig, PlexToken }: typeof Sdk,
  variant: "sdk-undici" | "sdk-fetch",
  origin: string
) =>
  Authentication.layer.pipe(
    Layer.provide(Layer.mergeAll(
      variant === "sdk-fetch" ? FetchHttpClient.layer : NodeHttpClient.layerUndici,
      PlexConfig.layer({ ...identity, plexTvUrl: `${origin}/api/v2`, serverUrl: origin }),
      PlexToken.layer(benchToken)
    ))
  )

/** A driver for an Effect program per operation, run on `runtime`: the SDK or the lean call. */
const effectDriver = <R>(
  name: Variant,
  runtime: ManagedRuntime.ManagedRuntime<R, unknown>,
  calls: Record<Operation, () => Effect.Effect<unknown, unknown, R>>,
  describe: (value: Record<string, any>) => string
): Driver => ({
  name,
  seq: (op, n, latencies) =>
    runtime.runPromise(Effect.gen(function*() {
      const call = calls[op]
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        yield* call()
        latencies.push(performance.now() - t0)
      }
    })),
  // The same shape as the raw driver's: `concurrency` workers, each making calls until `n` have
  // started. (`Effect.forEach` with a concurrency forks a fiber per item, which would charge the
  // Effect side for 800 fibers the raw side has no counterpart for.)
  par: (op, n, concurrency) => {
    let started = 0
    const worker = Effect.whileLoop({
      while: () => started < n,
      body: () => {
        started++
        return calls[op]()
      },
      step: () => {}
    })
    return runtime.runPromise(
      Effect.all(Array.from({ length: Math.min(concurrency, n) }, () => worker), {
        concurrency: "unbounded",
        discard: true
      })
    )
  },
  probe: async (op) => describe((await runtime.runPromise(calls[op]())) as Record<string, any>),
  close: () => runtime.dispose()
})

const makeSdkDriver = async (
  sdk: typeof Sdk,
  variant: "sdk-undici" | "sdk-fetch",
  origin: string
): Promise<Driver> => {
  const runtime = ManagedRuntime.make(sdkLayer(sdk, variant, origin))
  const auth = await runtime.runPromise(sdk.Authentication.Authentication)
  // What a user writes: the service's methods, called afresh each time.
  return effectDriver(variant, runtime, {
    getTokenDetails: () => auth.getTokenDetails(),
    postUsersSignInData: () => auth.postUsersSignInData({ login: benchLogin, password: benchPassword }),
    getTransientToken: () => auth.getTransientToken(),
    getSourceConnectionInformation: () => auth.getSourceConnectionInformation({ source: benchSource })
  }, (value) => String(value.username ?? (value.token ? "transient-token" : value.device?.name)))
}

/**
 * The floor under any Effect SDK on the same transport (issue #10): execute, status check, decode
 * the body into plain `Schema.Struct`s of the same fields (bench/plain.ts), with an interrupting
 * timeout, the least a correct call does. No validation, retries, spans (the platform's is off, as
 * in the SDK), body cap, redirect handling, secret scrubbing, leniency or `Redacted` values.
 */
const makeMinDriver = async (
  variant: "min-undici" | "min-fetch",
  origin: string
): Promise<Driver> => {
  const runtime = ManagedRuntime.make(variant === "min-fetch" ? FetchHttpClient.layer : NodeHttpClient.layerUndici)
  const client = (await runtime.runPromise(HttpClient.HttpClient)).pipe(HttpClient.withTracerDisabledWhen(() => true))
  const headers = { ...identityHeaders, "x-plex-token": benchToken }
  const decodeAs =
    <A, I>(schema: Schema.Schema<A, I>, status: number) => (response: HttpClientResponse.HttpClientResponse) =>
      response.status === status
        ? HttpClientResponse.schemaBodyJson(schema)(response)
        : Effect.fail(new Error(`HTTP ${response.status}`))
  const user = decodeAs(PlainUser, 200)
  const signedIn = decodeAs(PlainUser, 201)
  const transient = decodeAs(PlainTransient, 200)
  const source = decodeAs(PlainSource, 200)
  const timeout = Duration.seconds(10)
  return effectDriver(variant, runtime, {
    getTokenDetails: () =>
      Effect.timeout(Effect.flatMap(client.get(`${origin}/api/v2/user`, { headers }), user), timeout),
    postUsersSignInData: () =>
      Effect.timeout(
        Effect.flatMap(
          client.post(`${origin}/api/v2/users/signin`, {
            headers: identityHeaders,
            body: HttpBody.urlParams(
              UrlParams.fromInput({ login: benchLogin, password: benchPassword, rememberMe: "false" })
            )
          }),
          signedIn
        ),
        timeout
      ),
    getTransientToken: () =>
      Effect.timeout(
        Effect.flatMap(
          client.post(`${origin}/security/token`, { headers, urlParams: { type: "delegation", scope: "all" } }),
          transient
        ),
        timeout
      ),
    getSourceConnectionInformation: () =>
      Effect.timeout(
        Effect.flatMap(
          client.get(`${origin}/security/resources`, { headers, urlParams: { source: benchSource } }),
          source
        ),
        timeout
      )
  }, (value) =>
    String(
      value.username ?? (value.MediaContainer?.token ? "transient-token" : value.MediaContainer?.Device?.name)
    ))
}

// --- child: interleaved CPU / latency / throughput ------------------------------------------------

interface OpResult {
  readonly op: Operation
  /** Per variant: per-round CPU µs per call (sequential), CPU µs per call and calls/s (64 in flight). */
  readonly seqCpu: Record<Variant, Array<number>>
  readonly parCpu: Record<Variant, Array<number>>
  readonly parRate: Record<Variant, Array<number>>
  readonly p50: Record<Variant, number>
  readonly p99: Record<Variant, number>
}

const perVariant = <A>(f: () => A): Record<Variant, A> =>
  Object.fromEntries(variants.map((v) => [v, f()])) as Record<Variant, A>

// OPS_ONLY=<operation> warms up and measures that operation alone (one call site shape in the
// runner instead of four); OPS_REVERSE=1 measures in reverse order. Both are for checking ratios.
const measured = operations.filter((op) => process.env.OPS_ONLY === undefined || op === process.env.OPS_ONLY)

const interleaved = async (origin: string, distIndex: string): Promise<Array<OpResult>> => {
  const sdk = await loadSdk(distIndex)
  const drivers = [
    makeRawDriver(origin),
    await makeMinDriver("min-undici", origin),
    await makeSdkDriver(sdk, "sdk-undici", origin),
    await makeMinDriver("min-fetch", origin),
    await makeSdkDriver(sdk, "sdk-fetch", origin)
  ]
  for (const op of operations) {
    const seen = await Promise.all(drivers.map((d) => d.probe(op)))
    if (new Set(seen.map((s) => s.startsWith("transient") ? "transient" : s)).size !== 1) {
      throw new Error(`${op}: the variants disagree on the result: ${seen.join(", ")}`)
    }
  }
  const scratch: Array<number> = []
  for (const op of measured) {
    for (const d of drivers) {
      await d.seq(op, settings.warmup, scratch)
      await d.par(op, settings.warmup * 2, inFlight)
    }
  }
  const results: Array<OpResult> = []
  for (const op of process.env.OPS_REVERSE ? [...measured].reverse() : measured) {
    const seqCpu = perVariant((): Array<number> => [])
    const parCpu = perVariant((): Array<number> => [])
    const parRate = perVariant((): Array<number> => [])
    const latencies = perVariant((): Array<number> => [])
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? drivers : [...drivers].reverse()
      // No forced gc() before a segment: a full collection shrinks the young generation, and the
      // segment after it then pays for extra scavenges (measured: raw fetch 450 → 664 µs a call),
      // which no server sees in production and which penalize whichever variant allocates more.
      // The A B C / C B A order spreads each variant's garbage over the others alike.
      for (const d of order) {
        const cpu = process.cpuUsage()
        await d.seq(op, settings.seqCalls, latencies[d.name])
        seqCpu[d.name].push(cpuMicros(process.cpuUsage(cpu)) / settings.seqCalls)
      }
      for (const d of order) {
        const cpu = process.cpuUsage()
        const t0 = performance.now()
        await d.par(op, settings.parCalls, inFlight)
        const wall = performance.now() - t0
        parCpu[d.name].push(cpuMicros(process.cpuUsage(cpu)) / settings.parCalls)
        parRate[d.name].push(settings.parCalls / (wall / 1000))
      }
    }
    const p50 = perVariant(() => 0)
    const p99 = perVariant(() => 0)
    for (const v of variants) {
      p50[v] = percentile(latencies[v], 0.5)
      p99[v] = percentile(latencies[v], 0.99)
    }
    results.push({ op, seqCpu, parCpu, parRate, p50, p99 })
  }
  for (const d of drivers) await d.close()
  return results
}

// --- child: memory ------------------------------------------------------------------------------

interface MemoryResult {
  readonly variant: Variant
  readonly heapAtTenth: number
  readonly heapAtEnd: number
  readonly rssAtEnd: number
  readonly heapEveryTenth: Array<number>
}

const settle = (): NodeJS.MemoryUsage => {
  gc()
  gc()
  return process.memoryUsage()
}

const memory = async (
  variant: (typeof memoryVariants)[number],
  origin: string,
  distIndex: string
): Promise<MemoryResult> => {
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") throw new Error("memory needs --expose-gc")
  const driver = variant === "raw"
    ? makeRawDriver(origin)
    : await makeSdkDriver(await loadSdk(distIndex), variant, origin)
  const heapEveryTenth: Array<number> = []
  let rss = 0
  // Ten steps of a tenth of the calls each, the four operations in turn, 8 in flight (so connection
  // reuse and concurrent fibers are exercised, not only one socket).
  const perOperation = Math.max(1, Math.round(memoryCalls / 10 / operations.length))
  for (let step = 1; step <= 10; step++) {
    for (const op of operations) await driver.par(op, perOperation, 8)
    const usage = settle()
    heapEveryTenth.push(usage.heapUsed)
    rss = usage.rss
  }
  await driver.close()
  return {
    variant,
    heapAtTenth: heapEveryTenth[0],
    heapAtEnd: heapEveryTenth[heapEveryTenth.length - 1],
    rssAtEnd: rss,
    heapEveryTenth
  }
}

// --- child processes ---------------------------------------------------------------------------

const children = new Set<ChildProcess>()

const runChild = <A>(childArgs: ReadonlyArray<string>, timeoutMs: number): Promise<A> =>
  new Promise((resolve, reject) => {
    const child = fork(self, ["--child", ...childArgs], {
      cwd: root,
      execArgv: ["--expose-gc", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    children.add(child)
    let result: A | undefined
    const timer = setTimeout(() => child.kill(), timeoutMs)
    child.on("message", (message) => {
      result = message as A
    })
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      if (code === 0 && result !== undefined) resolve(result)
      else reject(new Error(`bench child ${childArgs[0]} exited with ${signal ?? code}`))
    })
  })

const startServer = (): Promise<{ readonly origin: string; readonly child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const child = fork(join(root, "bench/server.ts"), [], {
      cwd: root,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    children.add(child)
    child.once(
      "message",
      (message) => resolve({ origin: `http://127.0.0.1:${(message as { port: number }).port}`, child })
    )
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)))
  })

const runProcess = (
  command: string,
  commandArgs: ReadonlyArray<string>,
  timeoutMs = 60_000
): Promise<{ readonly stdout: string; readonly wallMs: number }> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(command, commandArgs, { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
    children.add(child)
    let stdout = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
    })
    const timer = setTimeout(() => child.kill(), timeoutMs)
    child.on("exit", (code, signal) => {
      const wallMs = performance.now() - t0
      clearTimeout(timer)
      children.delete(child)
      if (code === 0) resolve({ stdout, wallMs })
      else reject(new Error(`${commandArgs.join(" ")} exited with ${signal ?? code}`))
    })
  })

const lastJsonLine = (stdout: string): Record<string, any> => {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop()
  if (line === undefined) throw new Error(`no JSON line in: ${stdout.slice(0, 200)}`)
  return JSON.parse(line)
}

// --- builds: a private dist, a plain-node cold-start script, the bundle ---------------------------

interface Builds {
  readonly dir: string
  /** file URL of the fresh tsc build's index.js */
  readonly distIndex: string
  /** bench/cold-start.ts compiled to plain JS (bare imports left to node_modules) */
  readonly coldStartJs: string
  readonly bundleJs: string
  readonly bundleBytes: number
  readonly bundleGzipBytes: number
  readonly bundleByPackage: Array<{ readonly name: string; readonly bytes: number }>
  readonly bundleTopFiles: Array<{ readonly name: string; readonly bytes: number }>
}

const makeBuilds = async (): Promise<Builds> => {
  const esbuild = await import("esbuild")
  // A private build, so a concurrent `npm run build` (which empties dist/) cannot race this run;
  // it is the same tsc output users install. It lives under the project's node_modules so that its
  // bare imports find the project's packages by walking up: through a symlinked node_modules, tsx's
  // resolver loads a second copy of effect, and the SDK then runs on one copy's runtime with the
  // other's code (about 0.4× raw slower; `loadSdk` refuses to measure that).
  const cache = join(root, "node_modules/.cache")
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(join(cache, "effect-plex-bench-"))
  execFileSync(process.execPath, [
    join(root, "node_modules/typescript/bin/tsc"),
    "-p",
    join(root, "tsconfig.build.json"),
    "--outDir",
    join(dir, "dist")
  ], { cwd: root, stdio: "inherit" })
  const coldStartJs = await bundleForNode("bench/cold-start.ts", join(dir, "cold-start.mjs"))
  const bundleJs = join(dir, "bundle.mjs")
  const built = await esbuild.build({
    entryPoints: [join(root, "bench/bundle-entry.ts")],
    outfile: bundleJs,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node20",
    metafile: true,
    logLevel: "error"
  })
  const code = readFileSync(bundleJs)
  const byPackage = new Map<string, number>()
  const files: Array<{ name: string; bytes: number }> = []
  for (const output of Object.values(built.metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      files.push({ name: path.replace(/^.*node_modules\//, "").replace("/dist/esm/", "/"), bytes: input.bytesInOutput })
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
      const name = match ? match[1] : path.startsWith("src/") ? "effect-plex (src)" : path
      byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput)
    }
  }
  return {
    dir,
    distIndex: pathToFileURL(join(dir, "dist/index.js")).href,
    coldStartJs,
    bundleJs,
    bundleBytes: code.length,
    bundleGzipBytes: gzipSync(code, { level: 9 }).length,
    bundleByPackage: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    bundleTopFiles: files.sort((a, b) => b.bytes - a.bytes).slice(0, 12)
  }
}

// --- cold start ----------------------------------------------------------------------------------

interface ColdRow {
  readonly label: string
  readonly sdk: boolean
  readonly importAndFirstCall: Array<number>
  readonly sinceProcessStart: Array<number>
  readonly wall: Array<number>
}

interface ColdStart {
  readonly rows: Array<ColdRow>
  /** Median ms of each import step (dist build, plain node), in load order. */
  readonly importSteps: Array<[string, number]>
}

const coldStart = async (origin: string, builds: Builds): Promise<ColdStart> => {
  const node = process.execPath
  const tsx = ["--import", "tsx", join(root, "bench/cold-start.ts")]
  const cases: Array<{ label: string; sdk: boolean; cmd: ReadonlyArray<string>; withImport: boolean }> = [
    { label: "raw fetch (node)", sdk: false, cmd: [builds.coldStartJs, "raw", origin], withImport: true },
    {
      label: "sdk-undici, dist (node)",
      sdk: true,
      cmd: [builds.coldStartJs, "sdk-undici", origin, builds.distIndex],
      withImport: true
    },
    {
      label: "sdk-fetch, dist (node)",
      sdk: true,
      cmd: [builds.coldStartJs, "sdk-fetch", origin, builds.distIndex],
      withImport: true
    },
    { label: "sdk-fetch, esbuild bundle (node)", sdk: true, cmd: [builds.bundleJs, origin], withImport: false },
    { label: "sdk-undici, src (node --import tsx)", sdk: true, cmd: [...tsx, "sdk-undici", origin], withImport: true },
    { label: "sdk-fetch, src (node --import tsx)", sdk: true, cmd: [...tsx, "sdk-fetch", origin], withImport: true }
  ]
  const rows = cases.map((c): ColdRow => ({
    label: c.label,
    sdk: c.sdk,
    importAndFirstCall: [],
    sinceProcessStart: [],
    wall: []
  }))
  // One unrecorded run first: fills tsx's transform cache and the OS file cache.
  for (const c of cases) if (c.label.includes("tsx") || c.label.includes("dist")) await runProcess(node, c.cmd)
  for (let run = 0; run < settings.coldRuns; run++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]
      const { stdout, wallMs } = await runProcess(node, c.cmd)
      const out = lastJsonLine(stdout)
      if (out.username !== "ZjFvKLCb") throw new Error(`${c.label}: unexpected result ${JSON.stringify(out)}`)
      if (c.withImport) rows[i].importAndFirstCall.push(out.importMs + out.firstCallMs)
      rows[i].sinceProcessStart.push(out.doneAt)
      rows[i].wall.push(wallMs)
    }
  }
  const steps = new Map<string, Array<number>>()
  for (let run = 0; run < settings.coldRuns; run++) {
    const { stdout } = await runProcess(node, [builds.coldStartJs, "imports", origin, builds.distIndex])
    for (const [name, ms] of lastJsonLine(stdout).steps as Array<[string, number]>) {
      steps.set(name, [...(steps.get(name) ?? []), ms])
    }
  }
  return { rows, importSteps: [...steps].map(([name, ms]) => [name, median(ms)]) }
}

// --- profile ---------------------------------------------------------------------------------

interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: {
      readonly functionName: string
      readonly url: string
      readonly lineNumber: number
      readonly columnNumber: number
    }
    readonly children?: ReadonlyArray<number>
  }>
  readonly startTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

// Source maps: tsc writes `.js.map` next to each file; positions are mapped back to src/ with a
// minimal VLQ decoder so the profile speaks in src line numbers.
const vlqTable = new Map([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]))
const decodeVlq = (segment: string): Array<number> => {
  const out: Array<number> = []
  let value = 0
  let shift = 0
  for (const c of segment) {
    const digit = vlqTable.get(c) ?? 0
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      out.push(value & 1 ? -(value >> 1) : value >> 1)
      value = 0
      shift = 0
    }
  }
  return out
}
const sourceMaps = new Map<string, { sources: Array<string>; lines: Array<Array<[number, number, number]>> } | null>()
const mapPosition = (url: string, line: number, column: number): string | undefined => {
  if (!url.startsWith("file://") || !url.includes("/dist/") || url.includes("node_modules")) return undefined
  let map = sourceMaps.get(url)
  if (map === undefined) {
    try {
      const raw = JSON.parse(readFileSync(fileURLToPath(url) + ".map", "utf8")) as {
        sources: Array<string>
        mappings: string
      }
      const lines: Array<Array<[number, number, number]>> = []
      let source = 0
      let srcLine = 0
      for (const lineText of raw.mappings.split(";")) {
        let col = 0
        const segs: Array<[number, number, number]> = []
        for (const seg of lineText.split(",")) {
          if (seg === "") continue
          const v = decodeVlq(seg)
          col += v[0]
          if (v.length >= 4) {
            source += v[1]
            srcLine += v[2]
            segs.push([col, source, srcLine])
          }
        }
        lines.push(segs)
      }
      const dir = dirname(fileURLToPath(url))
      map = { sources: raw.sources.map((source) => relative(root, resolve(dir, source))), lines }
    } catch {
      map = null
    }
    sourceMaps.set(url, map)
  }
  if (map === null) return undefined
  const segs = map.lines[line] ?? []
  let best: [number, number, number] | undefined
  for (const s of segs) if (s[0] <= column) best = s
  best ??= segs[0]
  if (best === undefined) return undefined
  return `${map.sources[best[1]]}:${best[2] + 1}`
}

const category = (url: string, name: string): string => {
  if (name === "(garbage collector)") return "GC"
  if (name === "(program)" || name === "(idle)" || name === "(root)") return name
  const ours = url.includes("/dist/") && !url.includes("node_modules")
  if (ours && url.endsWith("/dist/internal/request.js")) return "effect-plex: internal/request.ts"
  if (ours) return "effect-plex: other modules"
  if (url.includes("node_modules/effect/") && /ParseResult|Schema|SchemaAST/.test(url)) {
    return "effect: Schema/ParseResult"
  }
  if (url.includes("node_modules/effect/")) return "effect: runtime & data types"
  if (url.includes("node_modules/@effect/platform-node/")) return "@effect/platform-node"
  if (url.includes("node_modules/@effect/platform/")) return "@effect/platform"
  if (url.includes("node_modules/undici/")) return "undici (npm)"
  if (url.startsWith("node:internal/deps/undici")) return "node: bundled undici (fetch)"
  if (url.startsWith("node:")) return "node: core"
  if (url === "" && /^write(Latin1|Utf8|Ascii)String$|^writev$|^writeBuffer$/.test(name)) {
    return "socket write (syscall)"
  }
  if (url === "") return "V8 builtins / native (JSON.parse, RegExp, …)"
  return "other"
}

interface ProfileSummary {
  readonly transport: string
  readonly calls: number
  readonly windowMs: number
  readonly categories: Array<{ readonly name: string; readonly ms: number }>
  readonly topSelf: Array<
    { readonly name: string; readonly where: string; readonly category: string; readonly ms: number }
  >
  readonly requestTs: Array<
    { readonly name: string; readonly where: string; readonly selfMs: number; readonly totalMs: number }
  >
}

const summarize = (transport: string, profile: CpuProfile, from: number, to: number, calls: number): ProfileSummary => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const where = (id: number): string => {
    const f = byId.get(id)!.callFrame
    if (f.url === "") return "(native)"
    return mapPosition(f.url, f.lineNumber, f.columnNumber) ??
      `${f.url.replace(/^file:\/\/.*node_modules\//, "").replace(/^file:\/\//, "")}:${f.lineNumber + 1}`
  }
  const keyOf = (id: number) => `${byId.get(id)!.callFrame.functionName || "(anonymous)"} @ ${where(id)}`
  const self = new Map<string, { name: string; where: string; category: string; ms: number }>()
  const categories = new Map<string, number>()
  const reqSelf = new Map<string, number>()
  const reqTotal = new Map<string, number>()
  let t = profile.startTime
  let windowMicros = 0
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]
    const dt = profile.timeDeltas[i + 1] ?? 0
    if (t < from || t > to) continue
    windowMicros += dt
    const id = profile.samples[i]
    const node = byId.get(id)!
    const cat = category(node.callFrame.url, node.callFrame.functionName)
    categories.set(cat, (categories.get(cat) ?? 0) + dt)
    const key = keyOf(id)
    const entry = self.get(key) ?? {
      name: node.callFrame.functionName || "(anonymous)",
      where: where(id),
      category: cat,
      ms: 0
    }
    entry.ms += dt
    self.set(key, entry)
    if (cat === "effect-plex: internal/request.ts") reqSelf.set(key, (reqSelf.get(key) ?? 0) + dt)
    const counted = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!
      if (category(n.callFrame.url, "") !== "effect-plex: internal/request.ts") continue
      const k = keyOf(cur)
      if (counted.has(k)) continue
      counted.add(k)
      reqTotal.set(k, (reqTotal.get(k) ?? 0) + dt)
    }
  }
  const ms = (micros: number) => micros / 1000
  return {
    transport,
    calls,
    windowMs: ms(windowMicros),
    categories: [...categories].map(([name, v]) => ({ name, ms: ms(v) })).sort((a, b) => b.ms - a.ms),
    topSelf: [...self.values()].map((e) => ({ ...e, ms: ms(e.ms) })).sort((a, b) => b.ms - a.ms).slice(0, 25),
    requestTs: [...reqTotal].map(([key, total]) => {
      const [name, at] = key.split(" @ ")
      return { name, where: at, selfMs: ms(reqSelf.get(key) ?? 0), totalMs: ms(total) }
    }).sort((a, b) => b.totalMs - a.totalMs).slice(0, 20)
  }
}

const profileTransport = async (
  variant: "sdk-undici" | "sdk-fetch" | "raw",
  origin: string,
  builds: Builds
): Promise<ProfileSummary> => {
  const dir = join(builds.dir, `profile-${variant}`)
  mkdirSync(dir)
  const { stdout } = await runProcess(process.execPath, [
    "--cpu-prof",
    "--cpu-prof-dir",
    dir,
    builds.coldStartJs,
    variant,
    origin,
    builds.distIndex,
    String(settings.profileCalls)
  ], 180_000)
  const out = lastJsonLine(stdout)
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))
  if (file === undefined) throw new Error("no .cpuprofile written")
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile
  return summarize(variant, profile, out.loopStart, out.loopEnd, settings.profileCalls)
}

// --- report ----------------------------------------------------------------------------------

const targets = {
  cpu: { "sdk-undici": 1.4, "sdk-fetch": 2.0 } as Record<string, number>,
  throughput: { "sdk-undici": 0.8, "sdk-fetch": 0.5 } as Record<string, number>,
  coldStartMs: 300,
  bundleGzipKb: 90,
  heapGrowthBytes: 512 * 1024
}

/** Heap growth once warm: median of the last three samples minus median of samples 4–6 (of ten). */
const steadyGrowth = (heap: ReadonlyArray<number>): number => {
  const n = heap.length
  return n < 9 ? heap[n - 1] - heap[0] : median(heap.slice(n - 3)) - median(heap.slice(3, 6))
}
const mark = (ok: boolean) => ok ? "✓" : "✗"

const perRoundRatio = (xs: ReadonlyArray<number>, base: ReadonlyArray<number>): number =>
  median(xs.map((x, i) => x / base[i]))

const report = (
  ops: Array<OpResult>,
  mem: Array<MemoryResult>,
  cold: ColdStart,
  builds: Builds,
  profiles: Array<ProfileSummary>,
  elapsedS: number
): string => {
  const lines: Array<string> = []
  const push = (s = "") => lines.push(s)
  push("# effect-plex benchmark results")
  push()
  push(`- date: ${new Date().toISOString()}`)
  push(`- node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs`)
  push(
    `- load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${loadavg()[0].toFixed(2)}: ` +
      "other work on the machine inflates absolute numbers; the interleaved ratios are the comparable figures"
  )
  push(`- command: \`${quick ? "BENCH_QUICK=1 " : ""}npm run bench\` (took ${elapsedS.toFixed(0)} s)`)
  push(
    `- ${settings.rounds} interleaved rounds per operation; per round and variant ${settings.seqCalls} sequential calls ` +
      `and ${settings.parCalls} calls with ${inFlight} in flight. Server in its own process on 127.0.0.1.`
  )
  push("- SDK: `Authentication.layer` with the default PlexPolicy (retries, timeouts, spans, body cap on).")
  push("- raw: bench/baseline.ts — `fetch` with the same headers, status check, `JSON.parse`.")
  push("- CPU is the client process's user+system time per call; ratios are medians of per-round ratios.")
  push()
  push("## Per call: CPU, latency, throughput")
  push()
  push(
    "| operation | variant | CPU µs/call seq | ×raw | CPU µs/call @64 | ×raw | CPU target | calls/s @64 | ×raw | target | p50 ms | p99 ms | p50 ×raw |"
  )
  push("|---|---|--:|--:|--:|--:|:-:|--:|--:|:-:|--:|--:|--:|")
  for (const r of ops) {
    for (const v of variants) {
      // Targets apply to the SDK; the lean call's ratios are shown for scale.
      const sdk = v.startsWith("sdk")
      const shown = v !== "raw"
      const seqRatio = perRoundRatio(r.seqCpu[v], r.seqCpu.raw)
      const parRatio = perRoundRatio(r.parCpu[v], r.parCpu.raw)
      const rateRatio = perRoundRatio(r.parRate[v], r.parRate.raw)
      const cpuTarget = sdk
        ? `≤ ${targets.cpu[v]}× ${mark(seqRatio <= targets.cpu[v])}${mark(parRatio <= targets.cpu[v])}`
        : ""
      const rateTarget = sdk ? `≥ ${targets.throughput[v]}× ${mark(rateRatio >= targets.throughput[v])}` : ""
      push(
        `| ${r.op} | ${v} | ${fmt(median(r.seqCpu[v]), 0)} | ${shown ? ratio(seqRatio) : ""} | ${
          fmt(median(r.parCpu[v]), 0)
        } | ${shown ? ratio(parRatio) : ""} | ${cpuTarget} | ${fmt(median(r.parRate[v]), 0)} | ${
          shown ? ratio(rateRatio) : ""
        } | ${rateTarget} | ${fmt(r.p50[v], 3)} | ${fmt(r.p99[v], 3)} | ${shown ? ratio(r.p50[v] / r.p50.raw) : ""} |`
      )
    }
  }
  push()
  push("CPU target marks: first sequential, then 64 in flight.")
  push()
  push(`## Memory after ${memoryCalls.toLocaleString("en")} calls (fresh process per variant, after gc)`)
  push()
  const tenth = (memoryCalls / 10).toLocaleString("en")
  const all = memoryCalls.toLocaleString("en")
  push(
    `| variant | heap after ${tenth} MB | heap after ${all} MB | growth ${tenth}→${all} KB | steady growth KB | ` +
      `RSS after ${all} MB | no growth |`
  )
  push("|---|--:|--:|--:|--:|--:|:-:|")
  for (const m of mem) {
    const growth = m.heapAtEnd - m.heapAtTenth
    const steady = steadyGrowth(m.heapEveryTenth)
    push(
      `| ${m.variant} | ${mb(m.heapAtTenth)} | ${mb(m.heapAtEnd)} | ${fmt(growth / 1024, 0)} | ${
        fmt(steady / 1024, 0)
      } | ${mb(m.rssAtEnd)} | ${mark(steady < targets.heapGrowthBytes)} |`
    )
  }
  push()
  push(
    `${tenth}→${all} includes warm-up (JIT code, inline caches, pools), which the raw baseline shows too. Steady ` +
      "growth is the median heap of the last three tenths minus that of tenths 4–6; the verdict is steady growth " +
      "< 512 KB. " +
      "`BENCH_MEMORY_CALLS=40000 npm run bench` runs longer."
  )
  push()
  push(
    `Heap after each ${tenth} calls (MB): ` +
      mem.map((m) => `${m.variant} ${m.heapEveryTenth.map(mb).join(" ")}`).join("; ")
  )
  push()
  push(`## Cold start (fresh process, median of ${settings.coldRuns})`)
  push()
  push(
    "import + first call: from before the first `import` of effect/SDK/transport to the first `getTokenDetails` completing. " +
      "process start → first call adds node's own bootstrap (and tsx's, for src). dist is a fresh `tsc -p tsconfig.build.json` " +
      "build (what users run unbundled); the bundle is the esbuild bundle of bench/bundle-entry.ts."
  )
  push()
  push("| variant | import + first call ms | process start → first call ms | spawn → exit ms | target ≤ 300 ms |")
  push("|---|--:|--:|--:|:-:|")
  for (const c of cold.rows) {
    const main = c.importAndFirstCall.length > 0 ? median(c.importAndFirstCall) : Number.NaN
    const judged = Number.isFinite(main) ? main : median(c.sinceProcessStart)
    push(
      `| ${c.label} | ${fmt(main, 0)} | ${fmt(median(c.sinceProcessStart), 0)} | ${fmt(median(c.wall), 0)} | ${
        c.sdk ? mark(judged <= targets.coldStartMs) : ""
      } |`
    )
  }
  push()
  push(
    "Import time by step (dist, plain node; each step pays only for modules not loaded before): " +
      cold.importSteps.map(([name, ms]) => `${name} ${fmt(ms, 0)} ms`).join(", ")
  )
  push()
  push("## Bundle (bench/bundle-entry.ts: one getTokenDetails over FetchHttpClient; esbuild, minified, esm, node)")
  push()
  const gzKb = builds.bundleGzipBytes / 1024
  push(
    `- minified: ${(builds.bundleBytes / 1024).toFixed(1)} KB; gzip: **${gzKb.toFixed(1)} KB** (target ≤ 90 KB ${
      mark(gzKb <= targets.bundleGzipKb)
    })`
  )
  push(
    "- minified bytes by package: " +
      builds.bundleByPackage.slice(0, 8).map((p) => `${p.name} ${(p.bytes / 1024).toFixed(1)} KB`).join(", ")
  )
  push(
    "- largest files (minified KB): " +
      builds.bundleTopFiles.map((p) => `${p.name} ${(p.bytes / 1024).toFixed(1)}`).join(", ")
  )
  for (const p of profiles) {
    push()
    push(`## CPU profile: ${p.transport}, ${p.calls} sequential getTokenDetails (dist build, \`node --cpu-prof\`)`)
    push()
    push(
      `Window: ${fmt(p.windowMs, 0)} ms ≈ ${fmt((p.windowMs * 1000) / p.calls, 0)} µs per call (wall, includes idle).`
    )
    push()
    push("| category | ms | µs/call | share of busy |")
    push("|---|--:|--:|--:|")
    const busy = p.categories.filter((c) => c.name !== "(idle)").reduce((a, c) => a + c.ms, 0)
    for (const c of p.categories) {
      push(
        `| ${c.name} | ${fmt(c.ms, 0)} | ${fmt((c.ms * 1000) / p.calls, 1)} | ${
          c.name === "(idle)" ? "" : fmt((100 * c.ms) / busy, 1) + "%"
        } |`
      )
    }
    push()
    push("Top self time:")
    push()
    push("| function | where | category | µs/call |")
    push("|---|---|---|--:|")
    for (const f of p.topSelf.filter((f) => f.name !== "(idle)").slice(0, 20)) {
      push(`| ${f.name} | ${f.where} | ${f.category} | ${fmt((f.ms * 1000) / p.calls, 2)} |`)
    }
    push()
    push("internal/request.ts functions (total = self + synchronous callees):")
    push()
    push("| function | where | self µs/call | total µs/call |")
    push("|---|---|--:|--:|")
    for (const f of p.requestTs) {
      push(
        `| ${f.name} | ${f.where} | ${fmt((f.selfMs * 1000) / p.calls, 2)} | ${fmt((f.totalMs * 1000) / p.calls, 2)} |`
      )
    }
  }
  push()
  return lines.join("\n")
}

// --- main -----------------------------------------------------------------------------------------

let loadAtStart = 0

const main = async (): Promise<void> => {
  const started = performance.now()
  loadAtStart = loadavg()[0]
  const log = (s: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${s}`)
  const server = await startServer()
  log(`server on ${server.origin}${quick ? " (quick)" : ""}`)
  let builds: Builds | undefined
  try {
    log("building dist copy, cold-start script and bundle")
    builds = await makeBuilds()
    log("interleaved CPU / latency / throughput")
    const ops = await runChild<Array<OpResult>>(["interleaved", server.origin, builds.distIndex], 600_000)
    log("memory")
    const distIndex = builds.distIndex
    // Heap and RSS do not depend on CPU contention, so the three fresh processes run at once.
    const mem = await Promise.all(
      memoryVariants.map((v) => runChild<MemoryResult>(["memory", v, server.origin, distIndex], 300_000))
    )
    log("cold start")
    const cold = await coldStart(server.origin, builds)
    const profiles: Array<ProfileSummary> = []
    if (!args.includes("--no-profile")) {
      for (const v of sdkVariants) {
        log(`profile ${v}`)
        profiles.push(await profileTransport(v, server.origin, builds))
      }
    }
    const text = report(ops, mem, cold, builds, profiles, (performance.now() - started) / 1000)
    writeFileSync(join(root, "bench/results.md"), text)
    console.log(text)
    log("wrote bench/results.md")
  } finally {
    for (const child of children) child.kill()
    if (builds !== undefined && existsSync(builds.dir)) rmSync(builds.dir, { recursive: true, force: true })
  }
}

const child = async (childArgs: ReadonlyArray<string>): Promise<unknown> => {
  const [mode, ...rest] = childArgs
  switch (mode) {
    case "interleaved":
      return interleaved(rest[0], rest[1])
    case "memory":
      return memory(rest[0] as (typeof memoryVariants)[number], rest[1], rest[2])
    default:
      throw new Error(`unknown child mode ${mode}`)
  }
}

if (args[0] === "--child") {
  child(args.slice(1)).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
} else {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
