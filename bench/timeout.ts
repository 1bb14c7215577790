/**
 * `npm run bench:timeout`: the client CPU an attempt timeout adds to one loopback call, for no
 * timeout, `Effect.timeoutFail` (a race of two forked fibers) and the SDK's `interruptAfter` (one
 * fork and a timer), interleaved in rounds in one process; the server (bench/server.ts) in its own.
 * Medians of 8 rounds of 600 calls. The measured code is bundled with esbuild first.
 */
import { fork } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bundleForNode, cacheFile } from "./bundle.js"
import type * as Entry from "./timeout-entry.js"

const root = fileURLToPath(new URL("..", import.meta.url))

const main = async () => {
  const out = await bundleForNode("bench/timeout-entry.ts", cacheFile("effect-plex-timeout-bench.mjs"))
  const { variants } = await import(pathToFileURL(out).href) as typeof Entry
  const server = fork(join(root, "bench/server.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const port: number = await new Promise((resolve) => server.once("message", (m: any) => resolve(m.port)))
  const { calls, runtime } = await variants(`http://127.0.0.1:${port}`)
  const { Effect } = await import("effect")
  const run = (name: string, n: number) => runtime.runPromise(Effect.repeatN(calls[name], n - 1))
  const names = Object.keys(calls)
  for (const name of names) await run(name, 1000)
  const cpu: Record<string, Array<number>> = Object.fromEntries(names.map((name) => [name, []]))
  const calls_ = 600
  for (let round = 0; round < 8; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const start = process.cpuUsage()
      await run(name, calls_)
      const used = process.cpuUsage(start)
      cpu[name].push((used.user + used.system) / calls_)
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  const base = median(cpu["no timeout"])
  console.log(`Client CPU per loopback call, µs (median of 8 rounds of ${calls_}; node ${process.version}).\n`)
  console.log("| variant | CPU µs/call | the timeout's own cost µs |")
  console.log("| --- | --: | --: |")
  for (const name of names) {
    const m = median(cpu[name])
    console.log(`| ${name} | ${m.toFixed(1)} | ${name === "no timeout" ? "" : (m - base).toFixed(1)} |`)
  }
  server.kill()
  await runtime.dispose()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
