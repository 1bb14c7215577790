/**
 * The PIN area: plex.tv's PIN login (`POST /pins`, `GET /pins/:id`, `PUT /pins/link`), the PIN
 * bodies, and the approval controls (by hand, or automatically after a delay).
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { Service } from "../PlexFake.js"
import type { Area, Incoming, Route } from "./area.js"
import { header } from "./area.js"
import { PlexFakeError } from "./errors.js"
import { jsonObject, jwkTaken, signatureFailed } from "./jwt.js"
import * as Issuer from "./jwtIssuer.js"
import type { AreaContext, Slice } from "./state.js"
import { addToken, ensurePrimaryToken, randomString, randomToken, validToken } from "./state.js"
import type { ErrorDetail } from "./wire.js"
import { plexTvBody, plexTvError, unauthenticated, XML_PROLOG, xmlAttrs } from "./wire.js"

/** A PIN as the fake keeps it. `authToken` is set once the PIN is approved. */
export interface PinRecord {
  readonly id: number
  readonly code: string
  readonly product: string
  readonly clientIdentifier: string
  /** Epoch milliseconds. */
  readonly createdAt: number
  /** Epoch milliseconds. */
  readonly expiresAt: number
  readonly authToken: string | null
  /** A PIN created with a device key (`{ jwk }`): checked with a device JWT, and yields a Plex JWT. */
  readonly jwk?: Readonly<Record<string, string>> | undefined
  /** The Plex JWT issued for an approved PIN with a key, once a check asked for it. */
  readonly plexJwt?: string | undefined
}

/** The PIN area's own state. */
export interface PinState {
  readonly pins: HashMap.HashMap<number, PinRecord>
  readonly nextPinId: number
  /** Set by `autoApprovePins`; `accountToken` undefined means the first account's token. */
  readonly autoApprove: { readonly afterMillis: number; readonly accountToken: string | undefined } | undefined
}

/** The `Service` members the PIN area implements. */
export type PinControls = Pick<Service, "approvePin" | "autoApprovePins">

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

const missingProduct: ErrorDetail = { code: 1000, message: "X-Plex-Product is missing", status: 400 }
const pinNotFound: ErrorDetail = { code: 1020, message: "Code not found or expired", status: 404 }
const badJwk: ErrorDetail = { code: 1004, message: "jwk must be an Ed25519 public key with a kid", status: 400 }
const missingDeviceJwt: ErrorDetail = {
  code: 1004,
  message: "deviceJWT is required for a PIN created with a jwk",
  status: 400
}

// Codes are matched case-insensitively, as a user types them.
const findPinByCode = (pins: PinState["pins"], code: string): PinRecord | undefined => {
  const key = code.toUpperCase()
  for (const pin of HashMap.values(pins)) {
    if (pin.code.toUpperCase() === key) return pin
  }
  return undefined
}

// -------------------------------------------------------------------------------------------------
// Bodies
// -------------------------------------------------------------------------------------------------

const isoSeconds = (millis: number): string => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")

const location = {
  code: "US",
  european_union_member: false,
  continent_code: "NA",
  country: "United States",
  city: "Chicago",
  time_zone: "America/Chicago",
  postal_code: "60601",
  in_privacy_restricted_country: false,
  in_privacy_restricted_region: false,
  subdivisions: "Illinois",
  coordinates: "41.8500, -87.6500"
}

// A PIN with a key never shows the approving account's token, only the JWT issued for the key.
const tokenOf = (pin: PinRecord): string | null => pin.jwk === undefined ? pin.authToken : pin.plexJwt ?? null

const pinJson = (pin: PinRecord, nowMillis: number) => ({
  id: pin.id,
  code: pin.code,
  product: pin.product,
  trusted: false,
  qr: `https://plex.tv/api/v2/pins/qr/${pin.code}`,
  clientIdentifier: pin.clientIdentifier,
  location,
  expiresIn: Math.max(0, Math.ceil((pin.expiresAt - nowMillis) / 1000)),
  createdAt: isoSeconds(pin.createdAt),
  expiresAt: isoSeconds(pin.expiresAt),
  authToken: tokenOf(pin),
  newRegistration: tokenOf(pin) === null ? null : false
})

const pinXml = (pin: PinRecord, nowMillis: number): string => {
  const p = pinJson(pin, nowMillis)
  return `${XML_PROLOG}<pin${
    xmlAttrs([
      ["id", p.id],
      ["code", p.code],
      ["product", p.product],
      ["trusted", p.trusted],
      ["qr", p.qr],
      ["clientIdentifier", p.clientIdentifier],
      ["expiresIn", p.expiresIn],
      ["createdAt", p.createdAt],
      ["expiresAt", p.expiresAt],
      ["authToken", p.authToken],
      ["newRegistration", p.newRegistration]
    ])
  }>\n  <location${xmlAttrs(Object.entries(location))}/>\n</pin>\n`
}

const pinBody = (req: Incoming, status: number, pin: PinRecord, now: number) =>
  plexTvBody(req.json, status, pinJson(pin, now), pinXml(pin, now))

// -------------------------------------------------------------------------------------------------
// Routes
// -------------------------------------------------------------------------------------------------

const routes = (ctx: AreaContext<PinState>): ReadonlyArray<Route> => {
  const createPin = (req: Incoming) =>
    Effect.gen(function*() {
      const product = header(req.headers, "x-plex-product")
      if (product === undefined) return plexTvError(req.json, missingProduct)
      const body = jsonObject(req)
      const strongParam = (req.query.get("strong") ?? req.form?.["strong"] ?? "").toLowerCase()
      const strong = strongParam === "true" || strongParam === "1" || body["strong"] === true
      // clients.plex.tv: a PIN with a device key, in a JSON body.
      const jwk = body["jwk"] === undefined ? undefined : Issuer.readJwk(body["jwk"])
      if (body["jwk"] !== undefined && jwk === undefined) return plexTvError(req.json, badJwk)
      if (jwk !== undefined) {
        const taken = Option.getOrUndefined(HashMap.get((yield* ctx.get).core.jwt.devices, jwk.kid!))
        if (taken !== undefined && taken.clientIdentifier !== req.clientIdentifier) {
          return plexTvError(req.json, jwkTaken)
        }
      }
      const now = yield* Clock.currentTimeMillis
      let code = ""
      do {
        code = strong ? yield* randomString(LOWER_ALNUM, 25) : yield* randomString(UPPER_ALNUM, 4)
      } while (findPinByCode((yield* ctx.get).own.pins, code) !== undefined)
      const pin = yield* ctx.modify((s) => {
        const pin: PinRecord = {
          id: s.own.nextPinId,
          code,
          product,
          // The app runs a plex.tv handler only when the request has a client identifier.
          clientIdentifier: req.clientIdentifier!,
          createdAt: now,
          expiresAt: now + (strong ? 1800 : 900) * 1000,
          authToken: null,
          ...(jwk === undefined ? {} : { jwk })
        }
        const own = { ...s.own, nextPinId: s.own.nextPinId + 1, pins: HashMap.set(s.own.pins, pin.id, pin) }
        return [pin, { ...s, own }] as const
      })
      return pinBody(req, 201, pin, now)
    })

  // Auto-approval is decided here, lazily, so that TestClock alone drives it in-process.
  const pollPin = (req: Incoming, params: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const id = Number(params[0])
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* randomToken
      const pin = yield* ctx.modify((s): readonly [PinRecord | undefined, Slice<PinState>] => {
        const pin = Option.getOrUndefined(HashMap.get(s.own.pins, id))
        if (pin === undefined || pin.clientIdentifier !== req.clientIdentifier || now >= pin.expiresAt) {
          return [undefined, s]
        }
        const auto = s.own.autoApprove
        if (pin.authToken !== null || auto === undefined || now - pin.createdAt < auto.afterMillis) return [pin, s]
        let token = auto.accountToken
        let core = s.core
        if (token === undefined) {
          const first = s.core.accounts[0]
          if (first === undefined) return [pin, s]
          ;[token, core] = ensurePrimaryToken(s.core, first, fresh)
        }
        const approved = { ...pin, authToken: token }
        return [approved, { core, own: { ...s.own, pins: HashMap.set(s.own.pins, id, approved) } }]
      })
      if (pin === undefined) return plexTvError(req.json, pinNotFound)
      if (pin.jwk === undefined) return pinBody(req, 200, pin, now)
      return yield* pollKeyPin(req, pin, now)
    })

  // A PIN with a key: the check must carry a device JWT signed with that key; once approved it
  // yields a Plex JWT for the key, issued (and the key registered) on the first such check.
  const pollKeyPin = (req: Incoming, pin: PinRecord, now: number) =>
    Effect.gen(function*() {
      const deviceJwt = req.query.get("deviceJWT")
      if (deviceJwt === null || deviceJwt === "") return plexTvError(req.json, missingDeviceJwt)
      const verified = yield* Issuer.verifyDeviceJwt(deviceJwt, pin.jwk!, pin.clientIdentifier, now)
      if (Either.isLeft(verified)) return plexTvError(req.json, signatureFailed)
      if (pin.authToken === null || pin.plexJwt !== undefined) return pinBody(req, 200, pin, now)
      const account = validToken((yield* ctx.get).core, pin.authToken, false)
      if (account === undefined) return pinBody(req, 200, { ...pin, authToken: null }, now)
      const { nonce, scope } = verified.right
      const issued = yield* Issuer.issue(ctx, {
        kid: pin.jwk!["kid"]!,
        clientIdentifier: pin.clientIdentifier,
        jwk: pin.jwk!,
        accountId: account.id,
        legacyToken: undefined
      }, {
        nonce: typeof nonce === "string" ? nonce : undefined,
        scope: typeof scope === "string" ? scope : undefined
      }, now)
      // Two checks at once: the first JWT stored wins, and both answer it.
      const answered = yield* ctx.modify((s): readonly [PinRecord, Slice<PinState>] => {
        const current = Option.getOrElse(HashMap.get(s.own.pins, pin.id), () => pin)
        if (current.plexJwt !== undefined || issued === undefined) return [current, s]
        const updated = { ...current, plexJwt: issued }
        return [updated, { ...s, own: { ...s.own, pins: HashMap.set(s.own.pins, pin.id, updated) } }]
      })
      return pinBody(req, 200, answered, now)
    })

  const linkPin = (req: Incoming) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* randomToken
      const code = req.form?.["code"] ?? req.query.get("code") ?? ""
      const outcome = yield* ctx.modify((s): readonly [ErrorDetail | undefined, Slice<PinState>] => {
        const account = validToken(s.core, req.token, false)
        if (account === undefined) return [unauthenticated, s]
        const pin = findPinByCode(s.own.pins, code)
        if (pin === undefined || now >= pin.expiresAt) return [pinNotFound, s]
        return [undefined, {
          core: addToken(s.core, fresh, account.id, false),
          own: { ...s.own, pins: HashMap.set(s.own.pins, pin.id, { ...pin, authToken: fresh }) }
        }]
      })
      return outcome === undefined ? HttpServerResponse.empty({ status: 204 }) : plexTvError(req.json, outcome)
    })

  return [
    { host: "plexTv", method: "POST", path: "/pins", handle: createPin },
    { host: "plexTv", method: "PUT", path: "/pins/link", handle: linkPin },
    { host: "plexTv", method: "GET", path: /^\/pins\/(\d+)$/, handle: pollPin }
  ]
}

// -------------------------------------------------------------------------------------------------
// Controls
// -------------------------------------------------------------------------------------------------

const controls = (ctx: AreaContext<PinState>): PinControls => ({
  approvePin: (idOrCode, accountToken) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) =>
        Effect.flatten(ctx.modify((s): readonly [Effect.Effect<void, PlexFakeError>, Slice<PinState>] => {
          const pin = typeof idOrCode === "number" ?
            Option.getOrUndefined(HashMap.get(s.own.pins, idOrCode)) :
            findPinByCode(s.own.pins, idOrCode)
          if (pin === undefined || now >= pin.expiresAt) {
            return [
              Effect.fail(new PlexFakeError({ message: `PlexFake.approvePin: no live PIN ${String(idOrCode)}` })),
              s
            ]
          }
          if (validToken(s.core, accountToken, false) === undefined) {
            return [
              Effect.fail(
                new PlexFakeError({ message: "PlexFake.approvePin: the token is not a valid account token" })
              ),
              s
            ]
          }
          const own = { ...s.own, pins: HashMap.set(s.own.pins, pin.id, { ...pin, authToken: accountToken }) }
          return [Effect.void, { ...s, own }]
        }))
    ),
  autoApprovePins: (after, accountToken) =>
    ctx.update((s) => ({
      ...s,
      own: {
        ...s.own,
        autoApprove: after === undefined ?
          undefined :
          { afterMillis: Duration.toMillis(Duration.decode(after)), accountToken }
      }
    }))
})

/** PIN login and its approval controls. */
export const area: Area<PinState, PinControls> = {
  name: "pins",
  initial: Effect.succeed({ pins: HashMap.empty(), nextPinId: 1_000_000_001, autoApprove: undefined }),
  routes,
  controls
}
