/**
 * `npm run bench:connect` (`npx tsx bench/connect.ts`): what racing a server's connections costs,
 * and the CPU of one `listResources` call against raw fetch, in the same run, on loopback only.
 *
 * - The server runs in its own process (this file with `--server`): plex.tv's `/api/v2/resources`
 *   (the real 7-server fixture, or a resource whose six connections point at the child's own
 *   ports), and six `/identity` candidates: two refused (closed ports), three slow (answer after
 *   3 s), one healthy.
 * - Race time: `connect` over the six candidates, in three set-ups (the healthy one ranked worst
 *   with the default preference, which must wait for better candidates to time out; the same with
 *   `fastest: true`; the healthy one ranked best), against the healthy candidate's own latency (raw
 *   fetch of its `/identity`). Interleaved rounds; medians.
 * - CPU per call: `listResources` on the SDK (FetchHttpClient) against raw `fetch` + `JSON.parse` of
 *   the same body, interleaved in rounds, no forced GC; `process.cpuUsage` per batch.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { PlexConfig, PlexToken, Resources } from "effect-plex"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { type ChildProcess, fork } from "node:child_process"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import { fileURLToPath } from "node:url"

const TOKEN = "bench-account-token-0"
const SERVER_TOKEN = "bench-server-token-01"
const MACHINE = "benchbenchbenchbenchbenchbenchbenchbenc"
const SLOW_MS = 3000

// --- the server process ---------------------------------------------------------------------------

const listen = (handler: http.RequestListener) =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer(handler)
    server.keepAliveTimeout = 30_000
    server.listen(0, "127.0.0.1", () => resolve(server))
  })
const portOf = (server: http.Server) => (server.address() as { port: number }).port

const serve = async () => {
  const fixture = readFileSync(new URL("../test/fixtures/get-server-resources.200.spec-test.json", import.meta.url))
  const identity = Buffer.from(JSON.stringify({ MediaContainer: { size: 0, machineIdentifier: MACHINE } }))
  const json = (res: http.ServerResponse, status: number, body: Buffer) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": body.length })
    res.end(body)
  }
  const healthy = await listen((req, res) => {
    req.resume()
    json(res, 200, identity)
  })
  const slow = await Promise.all([1, 2, 3].map(() =>
    listen((req, res) => {
      req.resume()
      const timer = setTimeout(() => json(res, 200, identity), SLOW_MS)
      res.on("close", () => clearTimeout(timer))
    })
  ))
  const refused = await Promise.all([1, 2].map(async () => {
    const server = await listen(() => undefined)
    const port = portOf(server)
    await new Promise((resolve) => server.close(resolve))
    return port
  }))
  const uri = (port: number) => `http://127.0.0.1:${port}`
  const connection = (port: number, local: boolean, relay: boolean) => ({
    protocol: "http",
    address: "127.0.0.1",
    port,
    uri: uri(port),
    local,
    relay,
    IPv6: false
  })
  const resource = (connections: Array<unknown>) => ({
    name: "bench",
    clientIdentifier: MACHINE,
    product: "Plex Media Server",
    provides: "server",
    owned: true,
    accessToken: SERVER_TOKEN,
    connections
  })
  const bodies: Record<string, Buffer> = {
    // The healthy candidate is the relay: ranked last.
    worst: Buffer.from(JSON.stringify([resource([
      ...refused.map((p) => connection(p, true, false)),
      ...slow.map((s) => connection(portOf(s), false, false)),
      connection(portOf(healthy), false, true)
    ])])),
    // The healthy candidate is local: ranked first.
    best: Buffer.from(JSON.stringify([resource([
      connection(portOf(healthy), true, false),
      ...refused.map((p) => connection(p, false, false)),
      ...slow.map((s) => connection(portOf(s), false, true))
    ])])),
    fixture
  }
  const plexTv = await listen((req, res) => {
    req.resume()
    if (req.headers["x-plex-token"] !== TOKEN) return json(res, 401, Buffer.from("{\"errors\":[]}"))
    const which = new URL(req.url ?? "/", "http://x").searchParams.get("bench") ?? "fixture"
    json(res, 200, bodies[which] ?? fixture)
  })
  process.send?.({ plexTv: uri(portOf(plexTv)), healthy: uri(portOf(healthy)) })
  process.on("disconnect", () => process.exit(0))
  setTimeout(() => process.exit(0), 10 * 60_000).unref()
}

// --- the client ---------------------------------------------------------------------------------

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (n: number, digits = 1) => n.toFixed(digits)

const main = async () => {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--server"], { execArgv: ["--import", "tsx"] })
  const urls = await new Promise<{ plexTv: string; healthy: string }>((resolve) =>
    child.once("message", resolve as any)
  )
  const runtime = ManagedRuntime.make(
    Resources.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.orDie(PlexConfig.layer({ clientIdentifier: "bench-connect", plexTvUrl: `${urls.plexTv}/api/v2` })),
      PlexToken.layer(TOKEN),
      FetchHttpClient.layer
    )))
  )
  const headers = { accept: "application/json", "x-plex-token": TOKEN, "x-plex-client-identifier": "bench-connect" }
  const resourceOf = async (which: string): Promise<Resources.PlexResource> => {
    // The body is chosen by a query parameter, which listResources does not send: decode it with
    // the model's schema (the same lenient table).
    const response = await fetch(`${urls.plexTv}/api/v2/resources?bench=${which}`, { headers })
    return Schema.decodeUnknownSync(Resources.PlexResource)((await response.json() as Array<unknown>)[0])
  }
  const worst = await resourceOf("worst")
  const best = await resourceOf("best")

  const timeout = "1 second"
  const time = async (f: () => Promise<unknown>) => {
    const start = performance.now()
    await f()
    return performance.now() - start
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15)
  const samples: Record<string, Array<number>> = { own: [], worst: [], fastest: [], best: [] }
  const chosen: Record<string, string> = {}
  for (let round = 0; round < rounds; round++) {
    samples.own.push(await time(() => fetch(`${urls.healthy}/identity`, { headers }).then((r) => r.text())))
    samples.worst.push(
      await time(async () => {
        chosen.worst = (await runtime.runPromise(Resources.connect(worst, { timeout }))).uri
      })
    )
    samples.fastest.push(
      await time(async () => {
        chosen.fastest = (await runtime.runPromise(Resources.connect(worst, { timeout, fastest: true }))).uri
      })
    )
    samples.best.push(
      await time(async () => {
        chosen.best = (await runtime.runPromise(Resources.connect(best, { timeout }))).uri
      })
    )
  }
  for (const key of ["worst", "fastest", "best"]) {
    if (chosen[key] !== urls.healthy) {
      throw new Error(`connect (${key}) chose ${chosen[key]}, not the healthy candidate`)
    }
  }

  // CPU per listResources call against raw fetch, interleaved.
  const calls = Number(process.env.BENCH_CALLS ?? 300)
  const rawCall = async () => {
    const response = await fetch(`${urls.plexTv}/api/v2/resources?includeHttps=1&includeRelay=1&includeIPv6=1`, {
      headers
    })
    const body = await response.json() as Array<unknown>
    if (body.length !== 7) throw new Error("raw: unexpected body")
  }
  const sdkCall = () =>
    runtime.runPromise(Resources.listResources()).then((list) => {
      if (list.length !== 7) throw new Error("sdk: unexpected body")
    })
  const batch = async (f: () => Promise<void>) => {
    const start = process.cpuUsage()
    for (let i = 0; i < calls; i++) await f()
    const used = process.cpuUsage(start)
    return (used.user + used.system) / calls
  }
  for (let i = 0; i < 200; i++) {
    await rawCall()
    await sdkCall()
  }
  const cpu: Record<string, Array<number>> = { raw: [], sdk: [] }
  const ratios: Array<number> = []
  for (let round = 0; round < 8; round++) {
    const order = round % 2 === 0 ? ["raw", "sdk"] as const : ["sdk", "raw"] as const
    const got: Record<string, number> = {}
    for (const name of order) got[name] = await batch(name === "raw" ? rawCall : sdkCall)
    cpu.raw.push(got.raw)
    cpu.sdk.push(got.sdk)
    ratios.push(got.sdk / got.raw)
  }

  const own = median(samples.own)
  console.log(`connect over 6 candidates (2 refused, 3 answering after ${SLOW_MS} ms, 1 healthy), timeout ${timeout}`)
  console.log(`node ${process.version}, ${rounds} interleaved rounds, medians; server in its own process, loopback`)
  console.log("")
  console.log("| case | median ms | × healthy /identity |")
  console.log("|---|---:|---:|")
  console.log(`| healthy candidate alone (raw fetch of /identity) | ${fmt(own)} | 1.00× |`)
  const row = (label: string, key: string) =>
    console.log(`| ${label} | ${fmt(median(samples[key]))} | ${fmt(median(samples[key]) / own, 2)}× |`)
  row("connect, healthy ranked best (local)", "best")
  row("connect, healthy ranked worst (relay), `fastest: true`", "fastest")
  row("connect, healthy ranked worst (relay), by preference: waits out the better candidates", "worst")
  console.log("")
  console.log(`listResources (7 servers, ${calls} sequential calls per batch, 8 interleaved batches, no forced GC)`)
  console.log("")
  console.log("| client | CPU µs per call (median) |")
  console.log("|---|---:|")
  console.log(`| raw fetch + JSON.parse | ${fmt(median(cpu.raw))} |`)
  console.log(`| Resources.listResources (FetchHttpClient) | ${fmt(median(cpu.sdk))} |`)
  console.log(`| ratio (median of per-batch ratios) | ${fmt(median(ratios), 2)}× |`)
  await runtime.dispose()
  child.disconnect()
}

if (process.argv.includes("--server")) {
  void serve()
} else {
  void main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
