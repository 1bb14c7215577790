/**
 * `PlexJwt.verify` against keys served by the recording test client: a good token gives typed
 * claims, and every check the issue lists refuses its own broken token with a typed `InvalidToken`
 * that names the check and never quotes the token. Keys are cached, fetched again for an unknown
 * `kid` (at most once a second), and a failed fetch is not kept. Runs on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, TestClock } from "effect"
import { PlexError, PlexJwt } from "effect-plex"
import { base64url, SignJWT, UnsecuredJWT } from "jose"
import { expectFailure, fixtureJson, makeTestClient, reply } from "../unit/helpers.js"
import { CLIENT, jwtLayer, makePlexKey, plexClaims, type PlexKey, START } from "./support.js"

const DEVICE_KID = "d".repeat(64)

interface Setup {
  readonly plex: PlexKey
  readonly verify: (jwt: string) => Effect.Effect<PlexJwt.PlexJwtClaims, PlexError.PlexError>
  /** Requests for the keys so far. */
  readonly keyFetches: () => number
  /** What `/auth/keys` answers from now on. */
  readonly publish: (keys: ReadonlyArray<PlexKey>) => void
  readonly failKeys: (on: boolean) => void
}

const setup = Effect.gen(function*() {
  yield* TestClock.setTime(START)
  const plex = yield* makePlexKey()
  let published: ReadonlyArray<PlexKey> = [plex]
  let failing = false
  const client = makeTestClient((request) =>
    failing
      ? reply.json(503, { errors: [{ code: 1004, message: "down", status: 503 }] })
      : request.url.endsWith("/auth/keys")
      ? reply.json(200, { keys: published.map((k) => k.publicJwk) })
      : reply.status(404)
  )
  const service = yield* Effect.provide(PlexJwt.PlexJwt, jwtLayer(client))
  return {
    plex,
    verify: (jwt: string) => service.verify(Redacted.make(jwt), { kid: DEVICE_KID }),
    keyFetches: () => client.requests.filter((r) => r.url.endsWith("/auth/keys")).length,
    publish: (keys) => void (published = keys),
    failKeys: (on) => void (failing = on)
  } satisfies Setup
})

/** Fails unless `self` fails with InvalidToken whose detail starts with `check`, and quotes no token part. */
const refused = (self: Effect.Effect<unknown, PlexError.PlexError>, check: string, token: string) =>
  Effect.map(expectFailure(self), (error) => {
    assert.isTrue(PlexError.isReason(error, "InvalidToken"), `expected InvalidToken, got ${String(error)}`)
    assert.strictEqual(error.operation, "verify")
    const detail = (error as PlexError.PlexSdkError).detail
    assert.isTrue(detail.startsWith(`${check}:`), `the detail names ${check}: ${detail}`)
    const rendered = `${String(error)} ${JSON.stringify(error)} ${error.message}`
    for (const part of token.split(".").filter((p) => p.length >= 8)) {
      assert.notInclude(rendered, part.slice(0, 16), "the error quotes the token")
    }
    return detail
  })

const signedBy = (key: PlexKey, overrides: Record<string, unknown> = {}, header?: Record<string, unknown>) =>
  Effect.flatMap(plexClaims(DEVICE_KID, overrides), (claims) => key.sign(claims, header))

describe("PlexJwt.verify", () => {
  it.effect("accepts a token Plex signed and returns its typed claims", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const claims = yield* s.verify(yield* signedBy(s.plex))
      assert.instanceOf(claims, PlexJwt.PlexJwtClaims)
      assert.instanceOf(claims.user, PlexJwt.PlexJwtUser)
      assert.strictEqual(claims.user.id, 10000001)
      assert.strictEqual(claims.user.uuid, "7b4af7a9f26254bd")
      assert.strictEqual(claims.user.username, "ada")
      assert.strictEqual(claims.user.friendlyName, null)
      assert.deepStrictEqual(claims.aud, ["plex.tv", CLIENT])
      assert.strictEqual(claims.thumbprint, DEVICE_KID)
      assert.strictEqual(claims.exp - claims.iat, 7 * 24 * 3600)
      assert.strictEqual(claims.expiresAt.epochMillis, START + 7 * 24 * 3600 * 1000)
    }))

  it.effect("keeps the keys: ten verifications fetch them once", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const token = yield* signedBy(s.plex)
      yield* Effect.forEach(Array.from({ length: 10 }), () => s.verify(token), { concurrency: 5 })
      assert.strictEqual(s.keyFetches(), 1)
    }))

  it.effect("refuses a wrong aud: another client identifier, or no plex.tv", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const other = yield* signedBy(s.plex, { aud: ["plex.tv", "another-client"] })
      yield* refused(s.verify(other), "aud", other)
      const noPlex = yield* signedBy(s.plex, { aud: [CLIENT] })
      assert.include(yield* refused(s.verify(noPlex), "aud", noPlex), "plex.tv")
    }))

  it.effect("refuses a wrong iss", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const token = yield* signedBy(s.plex, { iss: "evil.example" })
      yield* refused(s.verify(token), "iss", token)
    }))

  it.effect("refuses an expired token, by the test's clock", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const token = yield* signedBy(s.plex)
      yield* s.verify(token)
      yield* TestClock.adjust("7 days")
      yield* refused(s.verify(token), "exp", token)
    }))

  it.effect("refuses a token whose thumbprint is not the device key's kid", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const token = yield* signedBy(s.plex, { thumbprint: "e".repeat(64) })
      yield* refused(s.verify(token), "thumbprint", token)
    }))

  it.effect("refuses alg none", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const token = new UnsecuredJWT(yield* plexClaims(DEVICE_KID)).encode()
      yield* refused(s.verify(token), "alg", token)
    }))

  it.effect("refuses an HS256 token signed with Plex's public key as the secret", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const secret = base64url.decode(s.plex.publicJwk.x!)
      const claims = yield* plexClaims(DEVICE_KID)
      const token = yield* Effect.promise(() =>
        new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: s.plex.kid, typ: "JWT" }).sign(secret)
      )
      yield* refused(s.verify(token), "alg", token)
      // The same with the whole JWK as the secret, and an RS256 header on an EdDSA signature.
      const jwkSecret = new TextEncoder().encode(JSON.stringify(s.plex.publicJwk))
      const token2 = yield* Effect.promise(() =>
        new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: s.plex.kid }).sign(jwkSecret)
      )
      yield* refused(s.verify(token2), "alg", token2)
      const [, payload, signature] = (yield* signedBy(s.plex)).split(".")
      const rs = `${base64url.encode(JSON.stringify({ alg: "RS256", kid: s.plex.kid }))}.${payload}.${signature}`
      yield* refused(s.verify(rs), "alg", rs)
    }))

  it.effect("refuses a tampered payload", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const [header, payload, signature] = (yield* signedBy(s.plex)).split(".")
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)))
      claims.user.id = 1
      const token = `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`
      yield* refused(s.verify(token), "signature", token)
    }))

  it.effect("refuses a token signed by another key that claims Plex's kid", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const impostor = yield* makePlexKey(s.plex.kid)
      const token = yield* signedBy(impostor)
      yield* refused(s.verify(token), "signature", token)
    }))

  it.effect("refuses an unknown key after fetching the keys again once, and not again within a second", () =>
    Effect.gen(function*() {
      const s = yield* setup
      yield* s.verify(yield* signedBy(s.plex))
      assert.strictEqual(s.keyFetches(), 1)
      yield* TestClock.adjust("2 seconds")
      const stranger = yield* makePlexKey()
      const token = yield* signedBy(stranger)
      yield* refused(s.verify(token), "key", token)
      assert.strictEqual(s.keyFetches(), 2)
      yield* refused(s.verify(token), "key", token)
      assert.strictEqual(s.keyFetches(), 2)
    }))

  it.effect("after Plex rotates its keys, tokens from the new key and from the old, still published, verify", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const old = yield* signedBy(s.plex)
      yield* s.verify(old)
      const next = yield* makePlexKey()
      s.publish([next, s.plex])
      yield* TestClock.adjust("2 seconds")
      const fresh = yield* signedBy(next)
      const claims = yield* s.verify(fresh)
      assert.strictEqual(claims.user.uuid, "7b4af7a9f26254bd")
      assert.strictEqual(s.keyFetches(), 2)
      yield* s.verify(old)
      // Once Plex stops publishing the old key, its tokens fail as soon as the cache is renewed.
      s.publish([next])
      yield* TestClock.adjust("2 hours")
      yield* refused(s.verify(old), "key", old)
    }))

  it.effect("tries every key for a token without a kid", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const second = yield* makePlexKey()
      s.publish([s.plex, second])
      const claims = yield* plexClaims(DEVICE_KID)
      // No kid in the header: the second key is found by trying both.
      const token = yield* second.sign(claims, { kid: undefined })
      assert.strictEqual((yield* s.verify(token)).thumbprint, DEVICE_KID)
    }))

  it.effect("refuses a token with no exp, one that expires before it was issued, and one from the future", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const noExp = yield* signedBy(s.plex, { exp: undefined })
      assert.include(yield* refused(s.verify(noExp), "exp", noExp), "no exp claim")
      const now = Math.floor(START / 1000)
      const backwards = yield* signedBy(s.plex, { iat: now + 30, exp: now + 20 })
      yield* refused(s.verify(backwards), "exp", backwards)
      const future = yield* signedBy(s.plex, { iat: now + 120 })
      yield* refused(s.verify(future), "iat", future)
      // Within 60 s of skew is fine.
      yield* s.verify(yield* signedBy(s.plex, { iat: now + 30 }))
    }))

  it.effect("refuses a token without a user, or whose user has no uuid", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const noUser = yield* signedBy(s.plex, { user: undefined })
      yield* refused(s.verify(noUser), "user", noUser)
      const noUuid = yield* signedBy(s.plex, { user: { id: 1 } })
      assert.include(yield* refused(s.verify(noUuid), "claims", noUuid), "user")
    }))

  it.effect("refuses what is not a signed JWT, the truncated example of Plex's docs included", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const truncated: string = fixtureJson("post-auth-token.2xx.official-docs.json").auth_token
      for (const token of ["", "not-a-jwt", "a.b.c", truncated]) {
        yield* refused(s.verify(token), "format", token)
      }
      // Nothing was worth fetching the keys for.
      assert.strictEqual(s.keyFetches(), 0)
    }))

  it.effect("a failing /auth/keys is the request's typed error, and is not kept", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const token = yield* signedBy(s.plex)
      s.failKeys(true)
      const error = yield* expectFailure(s.verify(token))
      assert.isTrue(PlexError.isReason(error, "StatusCode"))
      assert.strictEqual((error as PlexError.PlexSdkError).operation, "getSigningKeys")
      s.failKeys(false)
      yield* s.verify(token)
      assert.strictEqual(s.keyFetches(), 2)
    }))
})
