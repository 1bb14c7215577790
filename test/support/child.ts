/**
 * Runs a TypeScript file in a fresh Node process (through tsx) and collects everything it prints,
 * for tests of what Node itself prints (an unhandled failure, say). A stuck child is killed after
 * 20 s so it never outlives its test.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../", import.meta.url))

export const runTsChild = (file: string, env: Record<string, string>) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
    delete childEnv.NODE_OPTIONS
    const proc = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: root,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    proc.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    proc.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000)
    proc.on("error", reject)
    proc.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
