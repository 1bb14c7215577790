import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const jsonReport = process.env.VITEST_JSON_REPORT

export default defineConfig({
  // Examples and tests import the package by name, exactly as users do.
  resolve: {
    alias: [
      { find: "effect-plex/testing", replacement: fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)) },
      { find: /^effect-plex\/(\w+)$/, replacement: fileURLToPath(new URL("./src/$1.ts", import.meta.url)) },
      { find: /^effect-plex$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Effect tests use TestClock; vitest's fake timers would fight it.
    fakeTimers: { toFake: undefined },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // .ci/run asks for a JSON report to print its one-line summary.
    reporters: jsonReport ? ["default", "json"] : ["default"],
    ...(jsonReport ? { outputFile: { json: jsonReport } } : {})
  }
})
