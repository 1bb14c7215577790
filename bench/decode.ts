/**
 * `npm run bench:decode`: µs per user decode, for each user fixture (JSON and XML), of the SDK's
 * single-pass decoder, the model's own schema (`Schema.decodeUnknown(PlexUser)`), a plain
 * `Schema.Struct` of the same fields (the floor; "n/a" where a fixture's types differ from the plain
 * ones), and `JSON.parse` of the same body for scale. Decoding only: no I/O. The measured code is
 * bundled with esbuild first (no tsx keep-names helpers). Median of 7 runs.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bundleForNode, cacheFile } from "./bundle.js"
import type * as Entry from "./decode-entry.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const fixtures = join(root, "test/fixtures")

const main = async () => {
  const out = await bundleForNode("bench/decode-entry.ts", cacheFile("effect-plex-decode-bench.mjs"))
  const { decoders, xmlToJson } = await import(pathToFileURL(out).href) as typeof Entry
  const names = readdirSync(fixtures).filter((name) =>
    /^(get-token-details\.200|post-users-sign-in-data\.201)\./.test(name) && /\.(json|xml)$/.test(name)
  ).sort()

  const time = (f: () => unknown, iterations: number): number => {
    const runs: Array<number> = []
    for (let run = 0; run < 7; run++) {
      const t0 = performance.now()
      for (let i = 0; i < iterations; i++) f()
      runs.push(((performance.now() - t0) * 1000) / iterations)
    }
    runs.sort((a, b) => a - b)
    return runs[3]
  }
  const cell = (f: () => unknown, iterations: number): string => {
    try {
      f()
    } catch {
      return "n/a"
    }
    return time(f, iterations).toFixed(1)
  }

  const rows: Array<string> = []
  for (const name of names) {
    const text = readFileSync(join(fixtures, name), "utf8")
    const xml = name.endsWith(".xml")
    const body = xml ? xmlToJson(text) : JSON.parse(text)
    const iterations = 2000
    // Warm up every decoder on this body first.
    for (let i = 0; i < 500; i++) {
      for (const decode of Object.values(decoders)) {
        try {
          decode(body)
        } catch {
          break
        }
      }
    }
    rows.push(
      `| ${name} | ${cell(() => decoders.sdk(body), iterations)} | ${cell(() => decoders.schema(body), iterations)} | ${
        cell(() => decoders.plain(body), iterations)
      } | ${cell(() => (xml ? xmlToJson(text) : JSON.parse(text)), iterations)} |`
    )
  }
  console.log(`Decode only, µs per user (median of 7 runs of 2,000; node ${process.version}).\n`)
  console.log(
    "| fixture | SDK (single pass) | Schema.decodeUnknown(PlexUser) | plain Schema.Struct (floor) | JSON.parse / XML → JSON |"
  )
  console.log("| --- | --: | --: | --: | --: |")
  for (const row of rows) console.log(row)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
