/**
 * Bundles a bench entry for Node with esbuild, its packages left external: the measured code runs
 * without the keep-names helpers tsx adds to every function it compiles.
 */
import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Bundles `entry` (relative to the project) to `outfile`; returns `outfile`. */
export const bundleForNode = async (entry: string, outfile: string): Promise<string> => {
  const esbuild = await import("esbuild")
  mkdirSync(dirname(outfile), { recursive: true })
  await esbuild.build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "error"
  })
  return outfile
}

/** Where a bench keeps a bundle: under the project's node_modules, so its bare imports resolve. */
export const cacheFile = (name: string): string => join(root, "node_modules/.cache", name)
