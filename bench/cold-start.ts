/**
 * One cold start, in a fresh process: import the SDK (and effect, and the transport) and complete
 * the first `getTokenDetails`, then print one JSON line with the timings.
 *
 *   node --import tsx bench/cold-start.ts <raw|sdk-fetch|sdk-undici> <origin> [sdk module] [loop N]
 *
 * Everything is imported dynamically so the clock starts before any of it loads. `sdk module`
 * defaults to `effect-plex` (src under tsx); bench/run.ts passes the URL of a built `dist/index.js`
 * to measure what users run. With `loop N`, the process then makes N more calls (bench/run.ts
 * profiles that loop with `--cpu-prof`) and prints the loop's start and end as `process.hrtime`
 * microseconds so the profile can be cut to it.
 */
import type * as EffectPlex from "effect-plex"
import { benchToken, identity, makeBaseline } from "./baseline.js"

const scriptStart = performance.now()
const [variant = "sdk-fetch", origin = "", sdkModule = "effect-plex", loopArg] = process.argv.slice(2)
const loops = loopArg === undefined ? 0 : Number(loopArg)

const hrtimeMicros = () => Number(process.hrtime.bigint() / 1000n)

const main = async (): Promise<Record<string, unknown>> => {
  if (variant === "imports") {
    // Where import time goes: each step only pays for modules the earlier steps did not load.
    const steps: Array<[string, () => Promise<unknown>]> = [
      ["effect/Effect", () => import("effect/Effect")],
      ["effect/Schema", () => import("effect/Schema")],
      ["@effect/platform/HttpClient", () => import("@effect/platform/HttpClient")],
      ["@effect/platform/FetchHttpClient", () => import("@effect/platform/FetchHttpClient")],
      ["effect-plex", () => import(sdkModule)],
      ["@effect/platform-node/NodeHttpClient", () => import("@effect/platform-node/NodeHttpClient")]
    ]
    const timings: Array<[string, number]> = []
    for (const [name, load] of steps) {
      const t0 = performance.now()
      await load()
      timings.push([name, performance.now() - t0])
    }
    return { variant, steps: timings, username: "n/a", doneAt: performance.now() }
  }
  if (variant === "raw") {
    const baseline = makeBaseline(origin)
    const imported = performance.now()
    const user = (await baseline.getTokenDetails()) as { username: string }
    const done = performance.now()
    let loopStart = 0
    let loopEnd = 0
    if (loops > 0) {
      loopStart = hrtimeMicros()
      for (let i = 0; i < loops; i++) await baseline.getTokenDetails()
      loopEnd = hrtimeMicros()
    }
    return {
      variant,
      importMs: imported - scriptStart,
      firstCallMs: done - imported,
      doneAt: done,
      username: user.username,
      loopStart,
      loopEnd
    }
  }

  const [Effect, Layer, FetchHttpClient, NodeHttpClient, Sdk] = await Promise.all([
    import("effect/Effect"),
    import("effect/Layer"),
    variant === "sdk-fetch" ? import("@effect/platform/FetchHttpClient") : undefined,
    variant === "sdk-undici" ? import("@effect/platform-node/NodeHttpClient") : undefined,
    import(sdkModule) as Promise<typeof EffectPlex>
  ])
  const imported = performance.now()
  const transport = FetchHttpClient?.layer ?? NodeHttpClient!.layerUndici
  const layer = Sdk.Authentication.layer.pipe(
    Layer.provide(Layer.mergeAll(
      transport,
      Sdk.PlexConfig.layer({ ...identity, plexTvUrl: `${origin}/api/v2`, serverUrl: origin }),
      Sdk.PlexToken.layer(benchToken)
    ))
  )
  const program = Effect.gen(function*() {
    const auth = yield* Sdk.Authentication.Authentication
    const user = yield* auth.getTokenDetails()
    const done = performance.now()
    let loopStart = 0
    let loopEnd = 0
    if (loops > 0) {
      loopStart = hrtimeMicros()
      for (let i = 0; i < loops; i++) yield* auth.getTokenDetails()
      loopEnd = hrtimeMicros()
    }
    return { done, username: user.username, loopStart, loopEnd }
  })
  const result = await Effect.runPromise(Effect.provide(program, layer))
  return {
    variant,
    importMs: imported - scriptStart,
    firstCallMs: result.done - imported,
    doneAt: result.done,
    username: result.username,
    loopStart: result.loopStart,
    loopEnd: result.loopEnd
  }
}

main().then(
  (result) => {
    // doneAt is performance.now(), which counts from the process's start: it includes node's bootstrap.
    console.log(JSON.stringify({ ...result, scriptStartMs: scriptStart }))
    process.exit(0)
  },
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
