/**
 * Run by unhandled-jwt.test.ts in a child Node process: one failing JWT operation, run with
 * `Effect.runPromise` and deliberately NOT caught, so Node prints the unhandled rejection as it
 * would in a user's script. The device's private key and the nonce come from the environment; the
 * transport is in-process and echoes every secret it sees (nothing touches the network).
 *
 *   PLEX_CHILD_CASE=refresh    the token exchange answers 422, echoing the device JWT and nonce
 *   PLEX_CHILD_CASE=verify     a Plex JWT for another audience, signed by a published key
 *   PLEX_CHILD_CASE=layer-jwt  getTokenDetails through PlexToken.layerJwt with an expired JWT whose
 *                              refresh fails as in `refresh`
 */
import { HttpClient, HttpClientResponse, KeyValueStore } from "@effect/platform"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { Authentication, PlexConfig, PlexJwt, PlexPolicy, PlexToken } from "../../src/index.js"

const which = process.env.PLEX_CHILD_CASE
const nonce = process.env.PLEX_CHILD_NONCE ?? ""
const privateJwk = JSON.parse(process.env.PLEX_CHILD_KEY ?? "{}") as PlexJwt.PrivateJwk
const kid = process.env.PLEX_CHILD_KID ?? ""
const CLIENT = "unhandled-jwt-child"

const key = new PlexJwt.DeviceKey({
  kid,
  publicJwk: { kty: "OKP", crv: "Ed25519", x: privateJwk.x, kid, use: "sig", alg: "EdDSA" },
  privateJwk: Redacted.make(privateJwk)
})

const plexKey = await generateKeyPair("EdDSA", { crv: "Ed25519" })
const plexJwk = { ...(await exportJWK(plexKey.publicKey)), kid: "plex-key", alg: "EdDSA", use: "sig" }

const json = (request: Parameters<Parameters<typeof HttpClient.make>[0]>[0], status: number, body: unknown) =>
  Effect.succeed(HttpClientResponse.fromWeb(
    request,
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
  ))

const client = HttpClient.make((request, url) => {
  if (url.pathname.endsWith("/auth/nonce")) return json(request, 200, { nonce })
  if (url.pathname.endsWith("/auth/keys")) return json(request, 200, { keys: [plexJwk] })
  const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
  return json(request, 422, { errors: [{ code: 1008, message: `refused ${body} for nonce ${nonce}`, status: 422 }] })
})

const base = Layer.mergeAll(
  Layer.succeed(HttpClient.HttpClient, client),
  PlexConfig.layer({
    clientIdentifier: CLIENT,
    clientsUrl: "http://127.0.0.1:9/api/v2",
    plexTvUrl: "http://127.0.0.1:9/api/v2"
  })
)
const jwtLayer = PlexJwt.layer.pipe(Layer.provide(base), Layer.provide(PlexPolicy.layerNoRetries))

const expired = new PlexJwt.Credentials({
  clientIdentifier: CLIENT,
  key: key.privateJwk,
  kid,
  token: Redacted.make(nonce),
  expiresAt: DateTime.unsafeMake(Date.now() - 60_000)
})

const program: Effect.Effect<unknown, unknown> = which === "refresh"
  ? PlexJwt.refresh(expired).pipe(Effect.provide(jwtLayer))
  : which === "verify"
  ? Effect.flatMap(
    Effect.promise(() =>
      new SignJWT({ thumbprint: kid, user: { id: 1, uuid: nonce }, nonce })
        .setProtectedHeader({ alg: "EdDSA", kid: "plex-key", typ: "JWT" })
        .setIssuer("plex.tv")
        .setAudience(["plex.tv", "someone-else"])
        .setIssuedAt()
        .setExpirationTime("1 hour")
        .sign(plexKey.privateKey)
    ),
    (jwt) => PlexJwt.verify(jwt, key)
  ).pipe(Effect.provide(jwtLayer))
  : Effect.gen(function*() {
    yield* PlexJwt.saveCredentials("main", expired)
    return yield* Authentication.getTokenDetails()
  }).pipe(
    Effect.provide(Authentication.layer.pipe(
      Layer.provide(PlexToken.layerJwt({ key: "main" })),
      Layer.provideMerge(KeyValueStore.layerMemory),
      Layer.provide(jwtLayer),
      Layer.provide(base)
    ))
  )

// Not awaited, not caught: Node reports the rejection and exits non-zero.
void Effect.runPromise(program).then(() => {
  process.stdout.write("unexpected success\n")
})
