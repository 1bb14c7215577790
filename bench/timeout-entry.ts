/**
 * What bench/timeout.ts measures, bundled by it with esbuild (no keep-names helpers): the same
 * loopback call with no timeout, with `Effect.timeoutFail`, and with the SDK's `interruptAfter`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { interruptAfter } from "../src/internal/timeout.js"

const clock = Context.get(DefaultServices.liveServices, Clock.Clock)

export const variants = async (origin: string) => {
  const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const client = (await runtime.runPromise(HttpClient.HttpClient)).pipe(HttpClient.withTracerDisabledWhen(() => true))
  const headers = { accept: "application/json", "x-plex-token": "bench-token-abcdefghij" }
  const call = Effect.flatMap(
    client.get(`${origin}/security/resources`, { headers, urlParams: { source: "server://x" } }),
    (response) => response.text
  )
  const timedOut = () => new Error("timeout")
  return {
    runtime,
    calls: {
      "no timeout": call,
      "Effect.timeoutFail": Effect.timeoutFail(call, { duration: "10 seconds", onTimeout: timedOut }),
      "interruptAfter (the SDK's)": interruptAfter(call, 10_000, timedOut, clock)
    } as Record<string, Effect.Effect<unknown, unknown>>
  }
}
