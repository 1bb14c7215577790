import { defineConfig } from "vitest/config"

const jsonReport = process.env.VITEST_JSON_REPORT

export default defineConfig({
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
