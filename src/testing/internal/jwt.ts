/**
 * The JWT area: clients.plex.tv's device auth (`GET /auth/keys`, `GET /auth/nonce`,
 * `POST /auth/jwk`, `POST /auth/token`), the 498 plex.tv answers for an expired Plex JWT, and the
 * controls (rotate the signing key, set the JWT lifetime and the nonce rate limit). Signing keys and
 * registered devices are core state (`jwtIssuer.ts`), since a PIN created with a key yields a JWT
 * too; this area keeps the nonces and the rate limit's log.
 *
 * No real bodies of Plex's JWT errors are known, so the ones here are plausible plex.tv error
 * bodies with the documented statuses: 422 for a refused device JWT or a key registered by another
 * device, 429 for too many nonces, 498 for an expired JWT.
 *
 * @internal
 */
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { decodeProtectedHeader } from "jose"
import type { Service } from "../PlexFake.js"
import type { Area, Host, Incoming, Route } from "./area.js"
import * as Issuer from "./jwtIssuer.js"
import type { AreaContext, CoreState, DeviceRecord, Slice } from "./state.js"
import { randomUuid, validToken } from "./state.js"
import type { ErrorDetail } from "./wire.js"
import { plexTvBody, plexTvError, pmsError, unauthenticated } from "./wire.js"

/** The jwt area's own state: live nonces, and when each client identifier asked for one lately. */
export interface JwtState {
  readonly nonces: HashMap.HashMap<string, { readonly clientIdentifier: string; readonly createdAt: number }>
  readonly nonceLog: HashMap.HashMap<string, ReadonlyArray<number>>
  readonly nonceLimit: { readonly requests: number; readonly windowMillis: number }
}

/** The `Service` members the jwt area implements. */
export type JwtControls = Pick<Service, "rotateJwtKey" | "setJwtLifetime" | "setNonceRateLimit">

const NONCE_MILLIS = 5 * 60 * 1000

const detail = (status: number, code: number, message: string): ErrorDetail => ({ code, message, status })

/** @internal */
export const signatureFailed = detail(422, 1008, "Signature verification failed")
/** @internal */
export const jwkTaken = detail(422, 1008, "JWK already registered by another device")
const staleNonce = detail(422, 1008, "Signature verification failed: the nonce is unknown, used or expired")
const badJwk = detail(400, 1004, "jwk must be an Ed25519 public key (kty OKP, crv Ed25519, x, kid)")
const missingJwt = detail(400, 1004, "jwt is required")
const tooManyNonces = detail(429, 1003, "API rate limit exceeded")
const tokenExpired = detail(498, 1001, "Token expired")

/** The JSON body's object, if the request sent one. */
export const jsonObject = (req: Incoming): Record<string, unknown> =>
  typeof req.body === "object" && req.body !== null && !Array.isArray(req.body)
    ? req.body as Record<string, unknown>
    : {}

/**
 * What the app answers before routing a request that carries a Plex JWT: plex.tv answers 498 once
 * it has expired; a Plex Media Server answers 401 to any (as servers have been seen doing).
 * `undefined`: route it as usual.
 */
export const gate = (
  core: CoreState,
  req: Incoming,
  host: Host,
  nowMillis: number
): HttpServerResponse.HttpServerResponse | undefined => {
  if (req.token === undefined) return undefined
  const record = Option.getOrUndefined(HashMap.get(core.tokens, req.token))
  if (record?.jwtExpiresAt === undefined) return undefined
  if (host === "pms") return pmsError(401)
  return nowMillis >= record.jwtExpiresAt ? plexTvError(req.json, tokenExpired) : undefined
}

const json = (status: number, body: unknown) => plexTvBody(true, status, body, JSON.stringify(body))

const routes = (ctx: AreaContext<JwtState>): ReadonlyArray<Route> => {
  const keys = () =>
    Effect.map(Issuer.signingKeys(ctx), (signing) => json(200, { keys: signing.map((key) => key.publicJwk) }))

  const nonce = (req: Incoming) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* randomUuid
      const client = req.clientIdentifier!
      const retryAfter = yield* ctx.modify((s): readonly [number | undefined, Slice<JwtState>] => {
        const { requests, windowMillis } = s.own.nonceLimit
        const recent = Option.getOrElse(HashMap.get(s.own.nonceLog, client), () => [])
          .filter((at) => now - at < windowMillis)
        if (recent.length >= requests) {
          return [Math.max(1, Math.ceil((recent[0]! + windowMillis - now) / 1000)), s]
        }
        const nonces = HashMap.filter(s.own.nonces, (n) => now - n.createdAt < NONCE_MILLIS)
        return [undefined, {
          ...s,
          own: {
            ...s.own,
            nonces: HashMap.set(nonces, fresh, { clientIdentifier: client, createdAt: now }),
            nonceLog: HashMap.set(s.own.nonceLog, client, [...recent, now])
          }
        }]
      })
      return retryAfter === undefined
        ? json(200, { nonce: fresh })
        : plexTvError(req.json, tooManyNonces, { "retry-after": String(retryAfter) })
    })

  const registerJwk = (req: Incoming) =>
    Effect.gen(function*() {
      const jwk = Issuer.readJwk(jsonObject(req)["jwk"])
      const outcome = yield* ctx.modify((s): readonly [ErrorDetail | undefined, Slice<JwtState>] => {
        const account = validToken(s.core, req.token, false)
        if (account === undefined) return [unauthenticated, s]
        if (jwk === undefined) return [badJwk, s]
        const taken = Option.getOrUndefined(HashMap.get(s.core.jwt.devices, jwk.kid!))
        if (taken !== undefined && taken.clientIdentifier !== req.clientIdentifier) return [jwkTaken, s]
        const device: DeviceRecord = {
          kid: jwk.kid!,
          clientIdentifier: req.clientIdentifier!,
          jwk,
          accountId: account.id,
          legacyToken: req.token
        }
        const devices = HashMap.set(s.core.jwt.devices, device.kid, device)
        return [undefined, { ...s, core: { ...s.core, jwt: { ...s.core.jwt, devices } } }]
      })
      return outcome === undefined ? json(201, {}) : plexTvError(req.json, outcome)
    })

  const exchange = (req: Incoming) =>
    Effect.gen(function*() {
      const jwt = jsonObject(req)["jwt"]
      if (typeof jwt !== "string" || jwt === "") return plexTvError(req.json, missingJwt)
      const now = yield* Clock.currentTimeMillis
      let kid: unknown
      try {
        kid = decodeProtectedHeader(jwt).kid
      } catch {
        return plexTvError(req.json, signatureFailed)
      }
      const device = typeof kid === "string"
        ? Option.getOrUndefined(HashMap.get((yield* ctx.get).core.jwt.devices, kid))
        : undefined
      if (device === undefined || device.clientIdentifier !== req.clientIdentifier) {
        return plexTvError(req.json, signatureFailed)
      }
      const verified = yield* Issuer.verifyDeviceJwt(jwt, device.jwk, device.clientIdentifier, now)
      if (Either.isLeft(verified)) return plexTvError(req.json, signatureFailed)
      const payload = verified.right
      const sent = typeof payload["nonce"] === "string" ? payload["nonce"] : undefined
      // A nonce counts once, for the client identifier it was issued to, for 5 minutes.
      const used = yield* ctx.modify((s): readonly [boolean, Slice<JwtState>] => {
        const known = sent === undefined ? undefined : Option.getOrUndefined(HashMap.get(s.own.nonces, sent))
        if (known === undefined || known.clientIdentifier !== req.clientIdentifier) return [false, s]
        const nonces = HashMap.remove(s.own.nonces, sent!)
        return [now - known.createdAt < NONCE_MILLIS, { ...s, own: { ...s.own, nonces } }]
      })
      if (!used) return plexTvError(req.json, staleNonce)
      const scope = typeof payload["scope"] === "string" ? payload["scope"] : undefined
      const token = yield* Issuer.issue(ctx, device, { nonce: sent, scope }, now)
      return token === undefined ? plexTvError(req.json, unauthenticated) : json(200, { auth_token: token })
    })

  return [
    { host: "plexTv", method: "GET", path: "/auth/keys", handle: keys },
    { host: "plexTv", method: "GET", path: "/auth/nonce", handle: nonce },
    { host: "plexTv", method: "POST", path: "/auth/jwk", handle: registerJwk },
    { host: "plexTv", method: "POST", path: "/auth/token", handle: exchange }
  ]
}

const controls = (ctx: AreaContext<JwtState>): JwtControls => ({
  rotateJwtKey: (options) =>
    Effect.gen(function*() {
      yield* Issuer.signingKeys(ctx)
      const key = yield* Issuer.generateSigningKey
      yield* ctx.update((s) => ({
        ...s,
        core: {
          ...s.core,
          jwt: {
            ...s.core.jwt,
            signingKeys: options?.retire === true ? [key] : [key, ...s.core.jwt.signingKeys]
          }
        }
      }))
      return key.kid
    }),
  setJwtLifetime: (lifetime) =>
    ctx.update((s) => ({
      ...s,
      core: { ...s.core, jwt: { ...s.core.jwt, lifetimeMillis: Duration.toMillis(Duration.decode(lifetime)) } }
    })),
  setNonceRateLimit: (requests, per) =>
    ctx.update((s) => ({
      ...s,
      own: { ...s.own, nonceLimit: { requests, windowMillis: Duration.toMillis(Duration.decode(per)) } }
    }))
})

/** JWT device auth and its controls. */
export const area: Area<JwtState, JwtControls> = {
  name: "jwt",
  initial: Effect.succeed({
    nonces: HashMap.empty(),
    nonceLog: HashMap.empty(),
    nonceLimit: { requests: 20, windowMillis: 60_000 }
  }),
  // The rate limit is a fault a test provokes, so resetFaults forgets who asked for nonces lately.
  onResetFaults: (s) => ({ ...s, nonceLog: HashMap.empty() }),
  routes,
  controls
}
