/**
 * `npm run bench:jwt`: what JWT device auth costs, on loopback only. PlexFake runs in a child
 * process (so the CPU measured here is the client's alone), answering over 127.0.0.1; this process
 * signs in with a PIN and a key, then measures, after a warm-up:
 *
 * - a refresh (`PlexJwt.refresh`: nonce, device JWT, exchange, verification with cached keys):
 *   wall time and client CPU per refresh, sequential;
 * - a verification (`PlexJwt.verify` with the keys cached): CPU per call, and jose's `jwtVerify`
 *   alone on the same token for comparison;
 * - signing a device JWT (`PlexJwt.signDeviceJwt`), and `PlexToken.layerJwt`'s `get` on a fresh JWT;
 * - for scale, one plain SDK call in the same run (`PinLogin.checkPin`, a GET of a PIN).
 *
 * `BENCH_QUICK=1` (or `--quick`) for a short run.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { PinLogin, PlexConfig, PlexJwt, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { createLocalJWKSet, jwtVerify } from "jose"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"

const quick = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick")
const settings = quick
  ? { refreshes: 100, verifies: 2_000, warmup: 20 }
  : { refreshes: 600, verifies: 20_000, warmup: 100 }
const CLIENT = "bench-jwt-client"

// --- the fake, in its own process -----------------------------------------------------------------

async function main() {
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { execArgv: ["--import", "tsx"] })
  const apiUrl = await new Promise<string>((resolve) => child.once("message", (m) => resolve(String(m))))
  if (!apiUrl.startsWith("http://127.0.0.1:")) throw new Error(`not loopback: ${apiUrl}`)
  try {
    for (const [name, http] of [["undici", NodeHttpClient.layerUndici], ["fetch", FetchHttpClient.layer]] as const) {
      await measure(name, apiUrl, http)
    }
  } finally {
    child.kill()
  }
}

const cpuMicros = () => {
  const { system, user } = process.cpuUsage()
  return user + system
}

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const time = async (n: number, run: () => Promise<unknown>) => {
  const walls: Array<number> = []
  const cpu0 = cpuMicros()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await run()
    walls.push(performance.now() - start)
  }
  const total = performance.now() - t0
  return { medianMs: median(walls), meanMs: total / n, cpuUs: (cpuMicros() - cpu0) / n }
}

async function measure(transport: string, apiUrl: string, http: Layer.Layer<any>) {
  const config = PlexConfig.layer({ clientIdentifier: CLIENT, product: "bench", plexTvUrl: apiUrl, clientsUrl: apiUrl })
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(PlexJwt.layer, PinLogin.layer).pipe(
      Layer.provideMerge(KeyValueStore.layerMemory),
      Layer.provide(PlexToken.none),
      Layer.provide(config),
      Layer.provide(http),
      Layer.orDie
    )
  )
  const credentials = await runtime.runPromise(Effect.gen(function*() {
    const key = yield* PlexJwt.generateKey
    const pin = yield* PinLogin.createPin({ jwk: key.publicJwk })
    return yield* PlexJwt.waitForCredentials(pin, key)
  }))
  const jwt = await runtime.runPromise(PlexJwt.PlexJwt)

  // One plain SDK call, for scale: a refresh is two of these plus the JOSE work.
  const pins = await runtime.runPromise(PinLogin.PinLogin)
  const plain = await runtime.runPromise(pins.createPin())
  const checkOnce = () => runtime.runPromise(pins.checkPin(plain.id))
  await time(settings.warmup, checkOnce)
  const check = await time(settings.refreshes, checkOnce)

  // Refresh: nonce + device JWT + exchange + verification (keys cached after the first).
  let current = credentials
  const refreshOnce = () => runtime.runPromise(jwt.refresh(current)).then((c) => (current = c))
  await time(settings.warmup, refreshOnce)
  const refresh = await time(settings.refreshes, refreshOnce)

  // Verification with the keys cached: pure CPU.
  const token = current.token
  const verifyOnce = () => runtime.runPromise(jwt.verify(token, current))
  await time(settings.warmup * 10, verifyOnce)
  const verify = await time(settings.verifies, verifyOnce)

  // jose alone on the same token and key set: the floor.
  const keys = await (await fetch(`${apiUrl}/auth/keys`, {
    headers: { "x-plex-client-identifier": CLIENT, accept: "application/json" }
  })).json() as { keys: Array<any> }
  const set = createLocalJWKSet(keys)
  const raw = Redacted.value(token)
  const joseOnce = () =>
    jwtVerify(raw, set, { algorithms: ["EdDSA"], issuer: "plex.tv", audience: CLIENT, requiredClaims: ["exp", "iat"] })
  await time(settings.warmup * 10, joseOnce)
  const jose = await time(settings.verifies, joseOnce)

  const signOnce = () => runtime.runPromise(jwt.signDeviceJwt(current.deviceKey))
  await time(settings.warmup * 10, signOnce)
  const sign = await time(settings.verifies, signOnce)

  // layerJwt's get on a fresh JWT: the cost every operation pays for its token.
  const tokenRuntime = ManagedRuntime.make(
    PlexToken.layerJwt({ key: "bench" }).pipe(
      Layer.provideMerge(KeyValueStore.layerMemory),
      Layer.provide(PlexJwt.layer),
      Layer.provide(config),
      Layer.provide(http),
      Layer.orDie
    )
  )
  await tokenRuntime.runPromise(PlexJwt.saveCredentials("bench", current))
  const source = await tokenRuntime.runPromise(PlexToken.PlexToken)
  const getOnce = () => tokenRuntime.runPromise(source.get)
  await time(settings.warmup * 10, getOnce)
  const get = await time(settings.verifies, getOnce)

  const row = (name: string, r: Awaited<ReturnType<typeof time>>) =>
    `| ${transport} | ${name} | ${r.medianMs.toFixed(3)} | ${r.meanMs.toFixed(3)} | ${r.cpuUs.toFixed(0)} |`
  console.log(`\n| transport | operation | median ms | mean ms | client CPU µs/op |\n|---|---|---|---|---|`)
  console.log(row(`one plain SDK call (checkPin), n=${settings.refreshes}`, check))
  console.log(row(`refresh (nonce + exchange + verify), n=${settings.refreshes}`, refresh))
  console.log(row(`verify, keys cached, n=${settings.verifies}`, verify))
  console.log(row(`jose jwtVerify alone, n=${settings.verifies}`, jose))
  console.log(row(`signDeviceJwt, n=${settings.verifies}`, sign))
  console.log(row(`layerJwt get, fresh JWT, n=${settings.verifies}`, get))
  await tokenRuntime.dispose()
  await runtime.dispose()
}

// --- entry (last: everything above is initialised by now) -----------------------------------------

if (process.argv.includes("--serve")) {
  const serve = Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const urls = yield* PlexFake.PlexFakeServer
    const account = yield* fake.addAccount({ login: "bench@example.com", password: "pw" })
    yield* fake.autoApprovePins("0 millis", account.token)
    yield* fake.setNonceRateLimit(1_000_000_000, "1 minute")
    process.send!(urls.plexTvUrl)
    return yield* Effect.never
  })
  Effect.runFork(Effect.scoped(Effect.provide(serve, PlexFake.layerServer)))
} else {
  await main()
}
