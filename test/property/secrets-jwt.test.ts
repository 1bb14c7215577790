/**
 * Secret hygiene of JWT device auth, as properties: for random nonces and old tokens, fresh keys,
 * device JWTs and Plex JWTs, across the refresh (nonce → device JWT → exchange → verification), PIN
 * checks with a device JWT, verification failures, `PlexToken.layerJwt` failing (and logging),
 * stored credentials that do not decode, and printing the models: the private key (`d`), device
 * JWTs, Plex JWTs (payload and signature) and nonces show nowhere — not in the error (`String`,
 * `message`, `JSON.stringify`, `util.inspect`, `stack`), `Cause.pretty`, log lines (string, logfmt,
 * JSON) or spans, even when the server or the transport echoes them back. The platform's
 * `http.client` span (which records URLs and headers) is on, and stays off for a PIN check, whose
 * URL holds the device JWT.
 */
import type { HttpClientRequest } from "@effect/platform"
import { HttpClient, HttpClientError, HttpClientResponse, KeyValueStore } from "@effect/platform"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, DateTime, Effect, Exit, FastCheck as fc, Layer, ManagedRuntime, Redacted } from "effect"
import { PinLogin, PlexConfig, PlexError, PlexJwt, PlexPolicy, PlexToken } from "../../src/index.js"
import { makePlexKey, type PlexKey } from "../jwt/support.js"
import { filler, secret, webResponse } from "./arbitraries.js"
import { assertNoSecret, capturing, jwtSecrets, makeCapture, renderExit, renderValue } from "./jwt-capture.js"

const CLIENT = "jwt-property-client"
const CLIENTS_URL = "http://127.0.0.1:32402/api/v2"

type Respond = (
  request: HttpClientRequest.HttpClientRequest,
  url: URL
) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

// Runs are sequential: each sets `respond` first.
let respond: Respond = (request) => Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport" }))
const client = HttpClient.make((request, url) => Effect.suspend(() => respond(request, url)))

const runtime = ManagedRuntime.make(
  Layer.mergeAll(PlexJwt.layer, PinLogin.layer).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
    Layer.provide(PlexConfig.layer({ clientIdentifier: CLIENT, product: "props", clientsUrl: CLIENTS_URL })),
    Layer.provide(PlexToken.none),
    // The richest telemetry a user can turn on is the one proven clean.
    Layer.provide(PlexPolicy.layer({ maxAttempts: 1, httpClientSpans: true })),
    Layer.orDie
  )
)
afterAll(() => runtime.dispose())

let plexKey: PlexKey
beforeAll(async () => {
  plexKey = await Effect.runPromise(makePlexKey())
})

const reply = (request: HttpClientRequest.HttpClientRequest, status: number, body: string, headers = {}) =>
  Effect.succeed(HttpClientResponse.fromWeb(
    request,
    webResponse({ status, body, headers: { "content-type": "application/json", ...headers } })
  ))

/** The device JWT a request carried, in its JSON body or its query. */
const deviceJwtOf = (request: HttpClientRequest.HttpClientRequest, url: URL): string | undefined => {
  const query = url.searchParams.get("deviceJWT")
  if (query !== null) return query
  if (request.body._tag !== "Uint8Array") return undefined
  const parsed = JSON.parse(new TextDecoder().decode(request.body.body))
  return typeof parsed.jwt === "string" ? parsed.jwt : undefined
}

const signPlex = (kid: string, aud: Array<string>) =>
  plexKey.sign({
    iss: "plex.tv",
    aud,
    thumbprint: kid,
    user: { id: 1, uuid: "u" },
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 3600
  })

const modes = [
  "422 echo",
  "500 echo",
  "transport error",
  "2xx wrong shape",
  "2xx truncated",
  "2xx JWT that fails verification",
  "cross-origin redirect",
  "nonce of the wrong shape"
] as const
type Mode = (typeof modes)[number]

const expected: Record<Mode, (e: PlexError.PlexError) => boolean> = {
  "422 echo": PlexError.isSignatureRejected,
  "500 echo": (e) => PlexError.isReason(e, "StatusCode") && e.status === 500,
  "transport error": (e) => PlexError.isReason(e, "Transport"),
  "2xx wrong shape": (e) => PlexError.isReason(e, "Decode"),
  "2xx truncated": (e) => PlexError.isReason(e, "Decode"),
  "2xx JWT that fails verification": (e) => PlexError.isReason(e, "InvalidToken"),
  "cross-origin redirect": (e) => PlexError.isReason(e, "StatusCode") && e.status === 302,
  "nonce of the wrong shape": (e) => PlexError.isReason(e, "Decode") && e.operation === "getNonce"
}

interface Run {
  readonly nonce: string
  readonly pad: number
  /** What was sent or answered during the run that is secret. */
  readonly seen: Record<string, string | undefined>
}

/** A clients.plex.tv that answers as `mode` says, echoing every secret it was sent or sent itself. */
const server = (mode: Mode, run: Run, kid: string): Respond => (request, url) => {
  const path = url.pathname
  if (path.endsWith("/auth/keys")) return reply(request, 200, JSON.stringify({ keys: [plexKey.publicJwk] }))
  if (path.endsWith("/auth/nonce")) {
    return mode === "nonce of the wrong shape"
      ? reply(request, 200, JSON.stringify({ nonce: [run.nonce], echo: run.nonce }))
      : reply(request, 200, JSON.stringify({ nonce: run.nonce }))
  }
  const device = deviceJwtOf(request, url)
  Object.assign(run.seen, jwtSecrets("device JWT", device))
  // A server can echo only what it knows: the nonce is the exchange's (it issued it), not a PIN's.
  const known = path.endsWith("/auth/token") ? `${device} ${run.nonce}` : `${device}`
  const echo = `${filler(run.pad)}${known} ${filler(40)}`
  switch (mode) {
    case "422 echo":
      return reply(request, 422, JSON.stringify({ errors: [{ code: 1008, message: echo, status: 422 }] }))
    case "500 echo":
      return reply(request, 500, echo, { "content-type": "text/plain" })
    case "transport error":
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(`reset after ${echo}`) })
      )
    case "2xx wrong shape":
      return reply(request, 200, JSON.stringify({ auth_token: [echo], authToken: [echo], id: echo }))
    case "2xx truncated":
    case "2xx JWT that fails verification":
      return Effect.flatMap(
        signPlex(kid, mode === "2xx truncated" ? ["plex.tv", CLIENT] : ["plex.tv", "someone-else"]),
        (jwt) => {
          Object.assign(run.seen, jwtSecrets("Plex JWT", jwt))
          const body = JSON.stringify({ auth_token: jwt, id: 1234, code: "c", authToken: jwt })
          return reply(request, 200, mode === "2xx truncated" ? body.slice(0, body.length - 20) : body)
        }
      )
    case "cross-origin redirect":
    case "nonce of the wrong shape":
      return reply(request, 302, echo, { location: `http://127.0.0.2:1/steal?jwt=${encodeURIComponent(known)}` })
  }
}

const runs = fc.record({ nonce: secret, oldToken: secret, pad: fc.integer({ min: 0, max: 320 }) })

/** Runs `program` for `mode`, asserts one expected PlexError, and that no secret shows anywhere. */
const check = async (
  mode: Mode,
  program: (key: PlexJwt.DeviceKey, run: Run) => Effect.Effect<unknown, PlexError.PlexError, any>,
  input: { readonly nonce: string; readonly oldToken: string; readonly pad: number },
  context: string,
  extra: (capture: ReturnType<typeof makeCapture>) => void = () => {}
) => {
  const key = await Effect.runPromise(PlexJwt.generateKey)
  const run: Run = { nonce: input.nonce, pad: input.pad, seen: {} }
  respond = server(mode, run, key.kid)
  const capture = makeCapture()
  const exit = await runtime.runPromiseExit(capturing(program(key, run), capture))
  assert.isTrue(Exit.isFailure(exit), `${context}: expected a failure`)
  const error = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
  assert.isTrue(PlexError.isPlexError(error), `${context}: not one PlexError: ${String(exit)}`)
  assert.isTrue(expected[mode](error as PlexError.PlexError), `${context}: unexpected ${String(error)}`)
  extra(capture)
  assertNoSecret(renderExit(exit, capture), {
    "private key d": Redacted.value(key.privateJwk).d,
    nonce: input.nonce,
    "old token": input.oldToken,
    ...run.seen
  }, context)
}

const credentialsFor = (key: PlexJwt.DeviceKey, token: string, expiresAt: number) =>
  new PlexJwt.Credentials({
    clientIdentifier: CLIENT,
    key: key.privateJwk,
    kid: key.kid,
    token: Redacted.make(token),
    expiresAt: DateTime.unsafeMake(expiresAt)
  })

const options = { numRuns: 10, endOnFailure: true }

describe("JWT secrets never leak", () => {
  for (const mode of modes) {
    it(`refresh, ${mode}: no private key, device JWT, Plex JWT or nonce anywhere`, () =>
      fc.assert(
        fc.asyncProperty(runs, (input) =>
          check(
            mode,
            (key) => PlexJwt.refresh(credentialsFor(key, input.oldToken, Date.now())),
            input,
            `refresh / ${mode}`
          )),
        options
      ), 30_000)
  }

  for (const mode of ["422 echo", "500 echo", "transport error", "cross-origin redirect"] as const) {
    it(`PIN check with a device JWT, ${mode}: nothing leaks, and no http.client span records the URL`, () =>
      fc.assert(
        fc.asyncProperty(runs, (input) =>
          check(
            mode,
            (key) =>
              Effect.flatMap(
                PlexJwt.PlexJwt,
                (jwt) => PinLogin.waitForToken(1234, { deviceJwt: jwt.signDeviceJwt(key), timeout: "10 seconds" })
              ),
            input,
            `PIN check / ${mode}`,
            (capture) => {
              assert.isFalse(capture.spans.some((span) => span.name.startsWith("http.client")))
              assert.isTrue(capture.spans.some((span) => span.name === "PinLogin.checkPin"))
            }
          )),
        options
      ), 30_000)
  }

  it(
    "layerJwt: an expired JWT whose refresh fails fails the caller; a valid one is kept and the failure logged",
    () =>
      fc.assert(
        fc.asyncProperty(runs, fc.boolean(), async (input, stillValid) => {
          const key = await Effect.runPromise(PlexJwt.generateKey)
          const run: Run = { nonce: input.nonce, pad: input.pad, seen: {} }
          respond = server("422 echo", run, key.kid)
          const expiresAt = Date.now() + (stillValid ? 3600_000 : -3600_000)
          const program = Effect.gen(function*() {
            yield* PlexJwt.saveCredentials("main", credentialsFor(key, input.oldToken, expiresAt))
            return yield* (yield* PlexToken.PlexToken).get
          }).pipe(
            Effect.provide(PlexToken.layerJwt({ key: "main" }).pipe(Layer.provideMerge(KeyValueStore.layerMemory)))
          )
          const capture = makeCapture()
          const exit = await runtime.runPromiseExit(capturing(program, capture))
          const context = `layerJwt / still valid: ${stillValid}`
          if (stillValid) {
            assert.isTrue(Exit.isSuccess(exit), `${context}: ${String(exit)}`)
            assert.isTrue(capture.lines.some((line) => line.includes("refreshing the JWT failed")), context)
          } else {
            const error = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
            assert.isTrue(PlexError.isSignatureRejected(error), `${context}: ${String(exit)}`)
          }
          assert.isDefined(run.seen["device JWT"], `${context}: no device JWT was sent`)
          assertNoSecret(renderExit(exit, capture), {
            "private key d": Redacted.value(key.privateJwk).d,
            nonce: input.nonce,
            "old token": input.oldToken,
            ...run.seen
          }, context)
        }),
        options
      ),
    30_000
  )

  it("verify: a refused token shows in no error, log or span", () =>
    fc.assert(
      fc.asyncProperty(
        runs,
        fc.constantFrom("wrong aud", "tampered", "alg none", "garbage"),
        async (input, variant) => {
          const key = await Effect.runPromise(PlexJwt.generateKey)
          const good = await Effect.runPromise(signPlex(key.kid, ["plex.tv", CLIENT]))
          const [header, payload, signature] = good.split(".")
          const token = variant === "wrong aud"
            ? await Effect.runPromise(signPlex(key.kid, ["plex.tv", `other-${input.nonce}`]))
            : variant === "tampered"
            ? `${header}.${payload!.slice(0, -4)}AAAA.${signature}`
            : variant === "alg none"
            ? `eyJhbGciOiJub25lIn0.${payload}.`
            : `${input.nonce}.${input.oldToken}.${input.nonce}`
          respond = server("500 echo", { nonce: input.nonce, pad: 0, seen: {} }, key.kid)
          const capture = makeCapture()
          const exit = await runtime.runPromiseExit(capturing(PlexJwt.verify(token, key), capture))
          const error = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
          assert.isTrue(PlexError.isReason(error, "InvalidToken"), `${variant}: ${String(exit)}`)
          assertNoSecret(renderExit(exit, capture), {
            ...jwtSecrets("token", token),
            nonce: input.nonce,
            "old token": input.oldToken
          }, `verify / ${variant}`)
        }
      ),
      { numRuns: 12 }
    ), 30_000)

  it("stored credentials that do not decode: a Storage error that quotes none of the stored secrets", () =>
    fc.assert(
      fc.asyncProperty(runs, async (input) => {
        const stored = JSON.stringify({
          clientIdentifier: CLIENT,
          kid: 1,
          key: { d: input.nonce },
          token: input.oldToken
        })
        const capture = makeCapture()
        const exit = await Effect.runPromiseExit(capturing(
          Effect.flatMap(KeyValueStore.KeyValueStore, (kv) => kv.set("main", stored)).pipe(
            Effect.zipRight(PlexJwt.loadCredentials("main")),
            Effect.provide(KeyValueStore.layerMemory)
          ),
          capture
        ))
        const error = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
        assert.isTrue(PlexError.isReason(error, "Storage"), String(exit))
        assertNoSecret(renderExit(exit, capture), { d: input.nonce, token: input.oldToken }, "loadCredentials")
      }),
      options
    ), 30_000)

  it("DeviceKey and Credentials print without the private key or the token", () =>
    fc.assert(
      fc.asyncProperty(runs, async (input) => {
        const key = await Effect.runPromise(PlexJwt.generateKey)
        const credentials = credentialsFor(key, input.oldToken, Date.now())
        const secrets = { d: Redacted.value(key.privateJwk).d, token: input.oldToken }
        assertNoSecret(renderValue(key), secrets, "DeviceKey")
        assertNoSecret(renderValue(credentials), secrets, "Credentials")
        assertNoSecret(renderValue(credentials.deviceKey), secrets, "Credentials.deviceKey")
        assertNoSecret(renderValue({ nested: [credentials] }), secrets, "nested Credentials")
      }),
      options
    ))
})
