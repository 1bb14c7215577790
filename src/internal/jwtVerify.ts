/**
 * Verifying a Plex JWT: Plex's signing keys (`GET /auth/keys`) held in Effect's `Cache`, fetched
 * again when a token names a key the cache does not hold (Plex rotates them), the signature and
 * registered claims checked by `jose`, and Plex's own rules checked here. Every failure is a
 * `PlexSdkError` with reason `InvalidToken` whose detail starts with the check that failed and
 * never quotes the token.
 *
 * @internal
 */
import * as Cache from "effect/Cache"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type { CryptoKey, JWK, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from "jose"
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose"
import * as PlexError from "../PlexError.js"
import type { Expected, PlexJwtClaims } from "./jwtModel.js"
import { claimsDecoder } from "./jwtModel.js"
import * as M from "./model.js"

/** Plex's issuer, and the audience every Plex JWT carries besides the client identifier. */
const PLEX = "plex.tv"

/** A token may be issued up to this far ahead of our clock. */
const SKEW_SECONDS = 60

/** A token naming an unknown key fetches the keys again at most this often. */
const REFETCH_MILLIS = 1000

/**
 * A signing key as `/auth/keys` lists it: what verifying an EdDSA signature needs. Unreadable
 * entries are dropped (counted on the span), the rest kept.
 *
 * @internal
 */
export const signingKeys = M.decoder(
  M.struct({
    keys: M.required(M.list(M.struct({
      kty: M.required(M.text),
      crv: M.optional(M.text),
      x: M.optional(M.text),
      kid: M.optional(M.text),
      alg: M.optional(M.text),
      use: M.optional(M.text)
    })))
  })
)

interface KeySet {
  readonly kids: ReadonlySet<string>
  readonly fetchedAt: number
  readonly resolve: JWTVerifyGetKey
}

const invalid = (detail: string) =>
  Effect.fail(new PlexError.PlexSdkError({ operation: "verify", reason: "InvalidToken", detail }))

// Header values come from whoever made the token: named only when they are short and plain.
const named = (value: unknown): string =>
  typeof value === "string" && /^[A-Za-z0-9+._-]{1,20}$/.test(value) ? JSON.stringify(value) : "an unexpected value"

const claimDetail = (claim: string, reason: string): string => {
  if (reason === "missing") return `${claim}: the token has no ${claim} claim`
  switch (claim) {
    case "iss":
      return "iss: the issuer is not plex.tv"
    case "aud":
      return "aud: the audience does not include this client identifier"
    default:
      return `${claim}: the claim is not valid`
  }
}

/** What failed, from jose's error code (its messages are not ours to pass on). */
const detailOf = (error: unknown): string => {
  if (!(error instanceof errors.JOSEError)) return "signature: the token does not verify against Plex's keys"
  switch (error.code) {
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "alg: the token is not signed with EdDSA"
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "key: the token names a signing key that Plex does not publish (GET /auth/keys)"
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "signature: the token does not verify against Plex's keys"
    case "ERR_JWT_EXPIRED":
      return "exp: the token has expired"
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const failed = error as errors.JWTClaimValidationFailed
      return claimDetail(failed.claim, failed.reason)
    }
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return "format: the token is not a well-formed signed JWT"
    default:
      return `signature: the token does not verify (${error.code})`
  }
}

/**
 * jose's verification against every key that fits the header: the key set hands back all of them
 * (`ERR_JWKS_MULTIPLE_MATCHING_KEYS`, an async iterable) when more than one does, e.g. for a token
 * without a `kid`; the first whose signature verifies wins.
 */
const verifyEach = async (token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions) => {
  try {
    return await jwtVerify(token, keys, options)
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error
    for await (const key of error as unknown as AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(token, key, options)
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner
      }
    }
    throw new errors.JWSSignatureVerificationFailed()
  }
}

/** Plex's rules beyond what jose checks; `undefined` when they hold. */
const plexRules = (payload: JWTPayload, expected: Expected, clientIdentifier: string, nowSeconds: number) => {
  const aud = typeof payload.aud === "string" ? [payload.aud] : payload.aud ?? []
  if (!aud.includes(PLEX)) return "aud: the audience does not include plex.tv"
  if (!aud.includes(clientIdentifier)) return "aud: the audience does not include this client identifier"
  if (payload["thumbprint"] !== expected.kid) return "thumbprint: the token was issued for another device key"
  const { exp, iat } = payload
  if (typeof iat !== "number" || typeof exp !== "number") return "iat: the token has no numeric iat and exp"
  if (!(exp > iat)) return "exp: the token expires before it was issued"
  if (iat > nowSeconds + SKEW_SECONDS) return `iat: the token was issued more than ${SKEW_SECONDS} s in the future`
  return undefined
}

/**
 * A verifier over `fetchKeys` (the `getSigningKeys` operation), its keys cached for `keysTtl`.
 *
 * @internal
 */
export const makeVerifier = (
  fetchKeys: Effect.Effect<ReadonlyArray<JWK>, PlexError.PlexError>,
  clientIdentifier: string,
  keysTtl: Duration.Duration
) =>
  Effect.gen(function*() {
    // Each fetch forced by an unknown kid is a new generation: callers that saw the same stale set
    // move on to the same next one, so a burst of them makes one request (the Cache's single flight).
    const generation = yield* Ref.make(0)
    const cache = yield* Cache.makeWith({
      capacity: 2,
      lookup: (_generation: number) =>
        Effect.flatMap(fetchKeys, (keys) =>
          Effect.map(Clock.currentTimeMillis, (fetchedAt): KeySet => ({
            kids: new Set(keys.flatMap((key) => typeof key.kid === "string" ? [key.kid] : [])),
            fetchedAt,
            resolve: createLocalJWKSet({ keys: keys as Array<JWK> })
          }))),
      // A failure is never kept (see `keysOf`); a success for the TTL.
      timeToLive: Exit.match({ onFailure: () => Duration.zero, onSuccess: () => keysTtl })
    })

    // A held set is read without a fiber; a fetch is disconnected, so that a caller that times out
    // does not interrupt the fetch other callers wait on.
    const keysOf = (gen: number) =>
      Effect.flatMap(cache.getOption(gen), (held) =>
        held._tag === "Some"
          ? Effect.succeed(held.value)
          : Effect.disconnect(cache.get(gen)).pipe(Effect.tapError(() => cache.invalidate(gen))))

    const keysFor = (kid: string | undefined): Effect.Effect<KeySet, PlexError.PlexError> =>
      Effect.gen(function*() {
        const gen = yield* Ref.get(generation)
        const set = yield* keysOf(gen)
        if (kid === undefined || set.kids.has(kid)) return set
        if ((yield* Clock.currentTimeMillis) - set.fetchedAt < REFETCH_MILLIS) return set
        const next = yield* Ref.modify(generation, (g) => g === gen ? [g + 1, g + 1] : [g, g])
        return yield* keysOf(next)
      })

    return (jwt: string | Redacted.Redacted<string>, expected: Expected): Effect.Effect<
      PlexJwtClaims,
      PlexError.PlexError
    > =>
      Effect.suspend(() => {
        const token = Redacted.isRedacted(jwt) ? Redacted.value(jwt) : jwt
        const audience = expected.clientIdentifier ?? clientIdentifier
        let header: ReturnType<typeof decodeProtectedHeader>
        try {
          header = decodeProtectedHeader(token)
        } catch {
          return invalid("format: the token is not a well-formed signed JWT")
        }
        if (header.alg !== "EdDSA") return invalid(`alg: the token is signed with ${named(header.alg)}, not EdDSA`)
        return Effect.flatMap(keysFor(typeof header.kid === "string" ? header.kid : undefined), (set) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.tryPromise({
              try: () =>
                verifyEach(token, set.resolve, {
                  algorithms: ["EdDSA"],
                  issuer: PLEX,
                  audience,
                  requiredClaims: ["iat", "exp", "thumbprint", "user"],
                  currentDate: new Date(now)
                }),
              catch: detailOf
            }).pipe(
              Effect.matchEffect({
                onFailure: invalid,
                onSuccess: ({ payload }) => {
                  const broken = plexRules(payload, expected, audience, Math.floor(now / 1000))
                  if (broken !== undefined) return invalid(broken)
                  const issues = M.makeIssues()
                  const claims = claimsDecoder.decode(payload, issues)
                  return claims === M.Invalid ? invalid(`claims: ${issues.failure}`) : Effect.succeed(claims)
                }
              })
            )))
      }).pipe(Effect.withSpan("PlexJwt.verify", { kind: "internal", captureStackTrace: false }))
  })
