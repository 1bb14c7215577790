/**
 * A second view of the per-call CPU: one transport per process, three variants interleaved in
 * rounds of `M` sequential calls (first two rounds discarded as warm-up), medians reported:
 *
 * - raw: `fetch` + status check + `JSON.parse` (as bench/baseline.ts);
 * - min: the leanest Effect call on the same transport (execute, status check, schema decode;
 *   no retries, timeouts, spans or body cap);
 * - sdk: `Authentication.getTransientToken` with the default policy.
 *
 * `npx tsx bench/isolated.ts undici|fetch` (M=800 by default). Only loopback traffic; bounded loops.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Authentication, PlexConfig, PlexToken } from "effect-plex"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { benchToken, identity } from "./baseline.js"

const transportName = process.argv[2] === "fetch" ? "fetch" : "undici"
const calls = Number(process.env.M ?? 800)
const rounds = 10

const server = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [], {
  execArgv: ["--import", "tsx"],
  stdio: ["ignore", "ignore", "inherit", "ipc"]
})
const port = await new Promise<number>((resolve) => server.once("message", (m: any) => resolve(m.port)))
const origin = `http://127.0.0.1:${port}`
const url = `${origin}/security/token?type=delegation&scope=all`
const headers = { accept: "application/json", "x-plex-token": benchToken }

const transport = transportName === "undici" ? NodeHttpClient.layerUndici : FetchHttpClient.layer
const runtime = ManagedRuntime.make(Layer.merge(
  Authentication.layer.pipe(Layer.provide(Layer.mergeAll(
    PlexConfig.layer({ ...identity, plexTvUrl: `${origin}/api/v2`, serverUrl: origin }),
    PlexToken.layer(benchToken),
    transport
  ))),
  transport
))
const auth = await runtime.runPromise(Authentication.Authentication)
const client = (await runtime.runPromise(HttpClient.HttpClient)).pipe(HttpClient.withTracerDisabledWhen(() => true))
const Body = Schema.Struct({ MediaContainer: Schema.Struct({ token: Schema.String }) })

const variants: Record<string, () => Promise<unknown>> = {
  raw: async () => {
    const response = await fetch(url, { headers, redirect: "manual" })
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
    return JSON.parse(await response.text())
  },
  min: () =>
    runtime.runPromise(
      Effect.flatMap(
        client.get(url, { headers }),
        (r): Effect.Effect<unknown, unknown> =>
          r.status === 200 ? HttpClientResponse.schemaBodyJson(Body)(r) : Effect.fail(r.status)
      )
    ),
  sdk: () => runtime.runPromise(auth.getTransientToken())
}

const samples: Record<string, Array<number>> = {}
for (let round = 0; round < rounds; round++) {
  for (const [name, once] of Object.entries(variants)) {
    const start = process.cpuUsage()
    for (let i = 0; i < calls; i++) await once()
    const used = process.cpuUsage(start)
    if (round >= 2) (samples[name] ??= []).push((used.user + used.system) / calls)
  }
}
const median = (values: Array<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const raw = median(samples.raw)
for (const [name, values] of Object.entries(samples)) {
  console.log(
    `${transportName} ${name.padEnd(4)} ${median(values).toFixed(0).padStart(5)} µs/call  ${
      (median(values) / raw).toFixed(2)
    }× raw`
  )
}
server.kill()
await runtime.dispose()
