/**
 * Run by unhandled.test.ts in a child Node process: one failing operation, run with
 * `Effect.runPromise` and deliberately NOT caught, so Node prints the unhandled rejection the way it
 * would in a user's script. The secrets come from the environment (never printed by Node); the
 * transport is in-process, so nothing touches the network.
 *
 *   PLEX_CHILD_CASE=sign-in        wrong password; the 401 body echoes the password back
 *   PLEX_CHILD_CASE=token-details  transport error whose cause message contains the token
 */
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Authentication, PlexConfig, PlexPolicy, PlexToken } from "../../src/index.js"

const token = process.env.PLEX_CHILD_TOKEN ?? ""
const password = process.env.PLEX_CHILD_PASSWORD ?? ""
const which = process.env.PLEX_CHILD_CASE

const client = HttpClient.make((request) => {
  if (which === "token-details") {
    return Effect.fail(
      new HttpClientError.RequestError({
        request,
        reason: "Transport",
        cause: new Error(`proxy refused request with x-plex-token: ${token}`)
      })
    )
  }
  const body = JSON.stringify({
    errors: [{ code: 1001, message: `Invalid password ${password} for someone`, status: 401 }],
    received: { password }
  })
  return Effect.succeed(HttpClientResponse.fromWeb(
    request,
    new Response(body, { status: 401, headers: { "content-type": "application/json" } })
  ))
})

const layer = Authentication.layer.pipe(
  Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
  Layer.provide(PlexConfig.layer({
    clientIdentifier: "unhandled-child",
    serverUrl: "http://127.0.0.1:9",
    plexTvUrl: "http://127.0.0.1:9/api/v2"
  })),
  Layer.provide(PlexToken.layer(token)),
  Layer.merge(PlexPolicy.layer({ maxAttempts: 1 }))
)

const program = which === "token-details"
  ? Authentication.getTokenDetails()
  : Authentication.postUsersSignInData({ login: "someone@example.com", password })

// Not awaited, not caught: Node reports the rejection and exits non-zero.
void Effect.runPromise(Effect.provide(program, layer)).then(() => {
  process.stdout.write("unexpected success\n")
})
