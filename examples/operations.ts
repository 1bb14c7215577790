/**
 * The README's snippets, compiled by the typecheck and run by test/examples.test.ts against
 * PlexFake, so they cannot rot. Each region below is copied verbatim into README.md.
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { Redacted } from "effect"
import { Console, Effect, Layer } from "effect"
import { Authentication, Plex, PlexConfig, PlexError, PlexPolicy, PlexToken } from "effect-plex"

// #region layer
// The whole SDK (every service, its config, a token store) from the PLEX_* variables:
// PLEX_CLIENT_IDENTIFIER is required, PLEX_TOKEN optional. It needs only a transport.
export const PlexLive = Plex.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
// #endregion

// #region layer-granular
// Or assembled from the granular layers, e.g. for another token source.
export const AuthenticationLive = Authentication.layer.pipe(
  Layer.provide(Layer.mergeAll(PlexConfig.layerFromEnv, PlexToken.layerFromEnv, FetchHttpClient.layer))
)
// #endregion

// #region sign-in
// Password sign-in with the two-factor challenge: plex.tv answers 401 with code 1029 until the
// verification code is sent along.
export const signIn = (login: string, password: Redacted.Redacted<string>, askCode: Effect.Effect<string>) =>
  Authentication.postUsersSignInData({ login, password }).pipe(
    Effect.catchIf(
      PlexError.isTwoFactorRequired,
      () =>
        Effect.flatMap(
          askCode,
          (verificationCode) => Authentication.postUsersSignInData({ login, password, verificationCode })
        )
    )
  )
// #endregion

// #region token-details
// Who does this token belong to? 401 (PlexUnauthorized) means the token is no longer valid.
export const whoAmI = (token: Redacted.Redacted<string>) =>
  Authentication.getTokenDetails({ token }).pipe(
    Effect.tap((user) => Console.log(`${user.username} <${user.email}>, Plex Pass: ${user.subscription?.active}`))
  )
// #endregion

// #region transient-token
// A transient token for the configured Plex Media Server: the caller's access level, ≤ 48 hours.
export const delegate = Authentication.getTransientToken({ type: "delegation", scope: "all" })
// #endregion

// #region source-information
// How to reach a shared server, and a transient token for it, through your own server.
export const reach = (machineIdentifier: string) =>
  Authentication.getSourceConnectionInformation({ source: `server://${machineIdentifier}` }).pipe(
    Effect.map(({ device }) => ({
      name: device.name,
      token: device.accessToken,
      uris: device.connections.filter((c) => !c.relay).map((c) => c.uri)
    }))
  )
// #endregion

// #region errors
// Every operation fails with PlexBadRequest | PlexUnauthorized | PlexSdkError.
export const describeFailure = (token: Redacted.Redacted<string>) =>
  Authentication.getTokenDetails({ token }).pipe(
    Effect.map((user) => `valid, belongs to ${user.username}`),
    Effect.catchTags({
      PlexUnauthorized: () => Effect.succeed("invalid: sign in again"),
      PlexBadRequest: (e) => Effect.succeed(`bad request: ${e.errors.map((d) => d.code).join(", ")}`),
      PlexSdkError: (e) => Effect.succeed(`not a verdict on the token (${e.reason}): ${e.message}`)
    })
  )
// #endregion

// #region policy
// Defaults need no layer. Give the SDK's layer its own policy (the default of its operations)…
export const AppPolicy = PlexPolicy.layer({ attemptTimeout: "5 seconds", deadline: "20 seconds", maxAttempts: 4 })
export const PlexWithPolicy = Authentication.layer.pipe(Layer.provide(AppPolicy))
// …or turn retries off for whatever it is provided around…
export const NoRetries = PlexPolicy.layerNoRetries
// …or change one option for one call, on top of whichever policy is in force.
export const quickCheck = (token: Redacted.Redacted<string>) =>
  Authentication.getTokenDetails({ token }).pipe(PlexPolicy.withPolicy({ deadline: "2 seconds", maxAttempts: 1 }))
// #endregion

// #region predicates
// Predicates work data-last as refinements, and know the error they narrow to.
export const signInOrAsk = (login: string, password: Redacted.Redacted<string>) =>
  Authentication.postUsersSignInData({ login, password }).pipe(
    Effect.map((user) => `signed in as ${user.username}`),
    Effect.catchIf(PlexError.isTwoFactorRequired, () => Effect.succeed("enter your verification code")),
    Effect.catchIf(PlexError.isSignInThrottled, () => Effect.succeed("too many attempts: wait, or use a PIN")),
    Effect.catchIf(PlexError.isReason("Transport"), (e) => Effect.succeed(`plex.tv unreachable (${e.errno})`))
  )
// #endregion

// #region transform
// Your own HttpClient transform (logging, rate limiting, a proxy…) is a layer over the transport.
export const LoggedHttpClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(
    HttpClient.HttpClient,
    (client) =>
      client.pipe(HttpClient.tapRequest((request) =>
        // The path only, with ids masked: a PIN id in a URL redeems a token.
        Effect.logDebug(`plex ${request.method} ${new URL(request.url).pathname.replace(/\/\d+/g, "/:id")}`)
      ))
  )
).pipe(Layer.provide(FetchHttpClient.layer))
// #endregion
