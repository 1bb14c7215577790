/**
 * How the fake issues Plex JWTs, shared by the jwt area (`/auth/*`) and the PIN area (a PIN created
 * with a device key yields one): its own Ed25519 signing keys (made on first use, newest first),
 * device JWT verification against a device's JWK, and minting a JWT for a device's account. The
 * issuing state is core state (`CoreState.jwt`) because both areas need it. All JOSE work goes
 * through `jose`; times come from Effect's `Clock`, so `TestClock` drives expiry.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import type { JWK, JWTPayload } from "jose"
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from "jose"
import type { AccountRecord, AreaContext, DeviceRecord, SigningKey } from "./state.js"
import { randomUuid } from "./state.js"

/** A new signing key. */
export const generateSigningKey: Effect.Effect<SigningKey> = Effect.promise(async () => {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" })
  const { crv, kty, x } = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint({ kty: kty!, crv: crv!, x: x! })
  return { kid, publicJwk: { kty: kty!, crv: crv!, x: x!, kid, alg: "EdDSA", use: "sig" }, privateKey }
})

/** The signing keys, newest (the one that signs) first; the first is made on first use. */
export const signingKeys = <S>(ctx: AreaContext<S>): Effect.Effect<ReadonlyArray<SigningKey>> =>
  Effect.flatMap(
    ctx.get,
    ({ core }) =>
      core.jwt.signingKeys.length > 0 ? Effect.succeed(core.jwt.signingKeys) : Effect.flatMap(
        generateSigningKey,
        (key) =>
          ctx.modify((s) =>
            s.core.jwt.signingKeys.length > 0
              ? [s.core.jwt.signingKeys, s] as const
              : [[key], { ...s, core: { ...s.core, jwt: { ...s.core.jwt, signingKeys: [key] } } }] as const
          )
      )
  )

/** Whether `u` is an Ed25519 public JWK with a `kid`, as a PIN or `/auth/jwk` must carry. */
export const readJwk = (u: unknown): Readonly<Record<string, string>> | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const { crv, kid, kty, x } = u as Record<string, unknown>
  return kty === "OKP" && crv === "Ed25519" && typeof x === "string" && x.length === 43 &&
      typeof kid === "string" && kid !== ""
    ? { kty, crv, x, kid }
    : undefined
}

/**
 * Verifies a device JWT against the device's JWK: `alg` EdDSA, the signature, `aud` plex.tv,
 * `iss` the client identifier, `exp` not past. Right: the payload; left: why it was refused.
 */
export const verifyDeviceJwt = (
  token: string,
  jwk: Readonly<Record<string, string>>,
  clientIdentifier: string,
  nowMillis: number
): Effect.Effect<Either.Either<JWTPayload, string>> =>
  Effect.promise(async () => {
    try {
      const key = await importJWK({ ...jwk } as JWK, "EdDSA")
      const { payload } = await jwtVerify(token, key, {
        algorithms: ["EdDSA"],
        audience: "plex.tv",
        issuer: clientIdentifier,
        requiredClaims: ["exp"],
        currentDate: new Date(nowMillis)
      })
      return Either.right(payload)
    } catch (error) {
      const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined
      return Either.left(typeof code === "string" ? code : "invalid")
    }
  })

const userClaim = (account: AccountRecord, scope: string | undefined) => {
  const scopes = new Set((scope ?? "").split(",").map((s) => s.trim()))
  return {
    id: account.id,
    uuid: account.uuid,
    ...(scopes.has("username") ? { username: account.username } : {}),
    ...(scopes.has("email") ? { email: account.email } : {}),
    ...(scopes.has("friendly_name") ? { friendly_name: account.title } : {}),
    ...(scopes.has("restricted") ? { restricted: false } : {}),
    ...(scopes.has("anonymous") ? { anonymous: false } : {}),
    ...(scopes.has("joinedAt") ? { joinedAt: account.joinedAt } : {})
  }
}

/**
 * Issues a Plex JWT for the device (registering it, for a PIN), valid for the configured lifetime
 * from `nowMillis`, signed with the newest key: a valid token of the device's account until then,
 * 498 after. The device's legacy token (the one `/auth/jwk` was called with) ends, as on plex.tv.
 * `undefined` when the account no longer exists.
 */
export const issue = <S>(
  ctx: AreaContext<S>,
  device: DeviceRecord,
  claims: { readonly nonce: string | undefined; readonly scope: string | undefined },
  nowMillis: number
): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const [signing] = yield* signingKeys(ctx)
    const { core } = yield* ctx.get
    const account = core.accounts.find((a) => a.id === device.accountId)
    if (account === undefined || signing === undefined) return undefined
    const iat = Math.floor(nowMillis / 1000)
    const exp = Math.floor((nowMillis + core.jwt.lifetimeMillis) / 1000)
    const jti = yield* randomUuid
    const token = yield* Effect.promise(() =>
      new SignJWT({
        ...(claims.nonce === undefined ? {} : { nonce: claims.nonce }),
        thumbprint: device.kid,
        user: userClaim(account, claims.scope)
      })
        .setProtectedHeader({ kid: signing.kid, typ: "JWT", alg: "EdDSA" })
        .setIssuer("plex.tv")
        .setAudience(["plex.tv", device.clientIdentifier])
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(signing.privateKey as Parameters<SignJWT["sign"]>[0])
    )
    yield* ctx.update((s) => {
      const legacy = device.legacyToken
      const legacyRecord = legacy === undefined ? undefined : HashMap.get(s.core.tokens, legacy)
      const endLegacy = legacyRecord !== undefined && legacyRecord._tag === "Some" &&
        legacyRecord.value.jwtExpiresAt === undefined && !legacyRecord.value.transient
      const tokens = HashMap.set(endLegacy ? HashMap.remove(s.core.tokens, legacy!) : s.core.tokens, token, {
        accountId: account.id,
        transient: false,
        jwtExpiresAt: exp * 1000
      })
      const devices = HashMap.set(s.core.jwt.devices, device.kid, { ...device, legacyToken: undefined })
      return { ...s, core: { ...s.core, tokens, jwt: { ...s.core.jwt, devices } } }
    })
    return token
  })
