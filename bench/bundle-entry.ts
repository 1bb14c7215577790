/**
 * The program bench/run.ts bundles (esbuild, minified, gzipped) to measure what the SDK adds to an
 * app: one `getTokenDetails` over `FetchHttpClient`. It also runs: `node bundle.mjs <origin>` prints
 * the username and the time since the process started.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Authentication from "effect-plex/Authentication"
import * as PlexConfig from "effect-plex/PlexConfig"
import * as PlexToken from "effect-plex/PlexToken"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { benchToken, identity } from "./baseline.js"

const origin = process.argv[2] ?? "http://127.0.0.1:32400"

const PlexLive = Authentication.layer.pipe(
  Layer.provide(Layer.mergeAll(
    FetchHttpClient.layer,
    PlexConfig.layer({ ...identity, plexTvUrl: `${origin}/api/v2`, serverUrl: origin }),
    PlexToken.layer(benchToken)
  ))
)

Effect.runPromise(Effect.provide(Authentication.getTokenDetails(), PlexLive)).then(
  (user) => {
    console.log(JSON.stringify({ variant: "bundle", username: user.username, doneAt: performance.now() }))
  },
  (error: unknown) => {
    console.error(String(error))
    process.exitCode = 1
  }
)
