/**
 * JWT test support: a stand-in for Plex's signing key (sign any token the tests need, good or
 * broken, with jose), the claims Plex puts in its JWTs, and `PlexJwt` over the recording test
 * client of test/unit/helpers.ts.
 */
import { Clock, Effect, Layer } from "effect"
import { PlexConfig, PlexJwt, PlexPolicy } from "effect-plex"
import type { JWK, JWTPayload } from "jose"
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose"
import type { TestClient } from "../unit/helpers.js"

export const CLIENT = "jwt-unit-client"
export const CLIENTS_URL = "http://127.0.0.1:9/api/v2"

/** A signing key as Plex would hold one: its public JWK (as `/auth/keys` lists it) and a signer. */
export interface PlexKey {
  readonly kid: string
  readonly publicJwk: JWK
  readonly sign: (payload: JWTPayload, header?: Record<string, unknown>) => Effect.Effect<string>
}

export const makePlexKey = (kid?: string): Effect.Effect<PlexKey> =>
  Effect.promise(async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" })
    const jwk = await exportJWK(publicKey)
    const id = kid ?? await calculateJwkThumbprint(jwk)
    return {
      kid: id,
      publicJwk: { ...jwk, kid: id, alg: "EdDSA", use: "sig" },
      sign: (payload, header) =>
        Effect.promise(() =>
          new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid: id, typ: "JWT", ...header }).sign(privateKey)
        )
    }
  })

/** The claims of a Plex JWT for `deviceKid`, issued now (on the test's Clock), valid 7 days. */
export const plexClaims = (deviceKid: string, overrides: JWTPayload = {}): Effect.Effect<JWTPayload> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const iat = Math.floor(now / 1000)
    return {
      iss: "plex.tv",
      aud: ["plex.tv", CLIENT],
      thumbprint: deviceKid,
      nonce: "7c415b56-8f48-488a-98ab-847ef4460442",
      user: { id: 10000001, uuid: "7b4af7a9f26254bd", username: "ada", email: "ada@example.com", friendly_name: null },
      iat,
      exp: iat + 7 * 24 * 3600,
      ...overrides
    }
  })

/** `PlexJwt` over the test client (no retries), its clients.plex.tv base on an unused loopback port. */
export const jwtLayer = (client: TestClient, options?: PlexJwt.Options) =>
  (options === undefined ? PlexJwt.layer : PlexJwt.layerWith(options)).pipe(
    Layer.provide(client.layer),
    Layer.provide(
      Layer.orDie(PlexConfig.layer({ clientIdentifier: CLIENT, product: "jwt tests", clientsUrl: CLIENTS_URL }))
    ),
    Layer.provide(PlexPolicy.layer({ maxAttempts: 1 }))
  )

/** 2026-01-01T00:00:00Z: tests set the TestClock here, so tokens carry realistic times. */
export const START = Date.UTC(2026, 0, 1)
