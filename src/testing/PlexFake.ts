/**
 * A fake plex.tv + Plex Media Server for tests.
 *
 * One platform-agnostic `HttpApp` over in-memory state (accounts, passwords, 2FA codes, tokens,
 * transient tokens, PINs, sources) with fault controls. plex.tv routes live under `/api/v2` and the
 * Plex Media Server routes at the root, so one origin serves both:
 * `plexTvUrl = ${origin}/api/v2`, `serverUrl = ${origin}`.
 *
 * Run it over real HTTP on `127.0.0.1` with {@link layerServer}, or in-process (no socket) with
 * {@link layerClient}.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { untilAborted } from "../internal/abort.js"
import * as Bytes from "../internal/bytes.js"
import * as PlexConfig from "../PlexConfig.js"

// -------------------------------------------------------------------------------------------------
// Public models
// -------------------------------------------------------------------------------------------------

/**
 * An account known to the fake, as returned by {@link Service.addAccount}.
 *
 * `token` is the account's first token; sign-in returns it for as long as it stays valid.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeAccount {
  readonly id: number
  readonly uuid: string
  readonly login: string
  readonly username: string
  readonly email: string
  readonly token: string
}

/**
 * Options for {@link Service.addAccount}.
 *
 * - `login`, `password`: what `POST /api/v2/users/signin` must receive (the login also matches the
 *   username or email, case-insensitively).
 * - `twoFactorCode`: when set, sign-in needs `verificationCode` equal to it (answers 1029 / 1028).
 * - `username` (default: the login's part before `@`), `email` (default: the login if it holds `@`,
 *   else `<login>@example.com`), `title` (default: the username), `id`, `uuid`, `token` (default: a
 *   fresh random 20-char alphanumeric token).
 *
 * @since 0.1.0
 * @category models
 */
export interface AddAccountOptions {
  readonly login: string
  readonly password: string
  readonly twoFactorCode?: string | undefined
  readonly username?: string | undefined
  readonly email?: string | undefined
  readonly title?: string | undefined
  readonly id?: number | undefined
  readonly uuid?: string | undefined
  readonly token?: string | undefined
}

/**
 * One connection of a {@link FakeDevice}, as `GET /security/resources` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeConnection {
  readonly protocol: string
  readonly address: string
  readonly port: number
  readonly uri: string
  readonly local: boolean
  readonly relay?: boolean | undefined
}

/**
 * A device behind a source (`server://<machineId>` or `provider://<id>`), registered with
 * {@link Service.addSource}.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeDevice {
  readonly name: string
  readonly clientIdentifier: string
  readonly connections?: ReadonlyArray<FakeConnection> | undefined
}

/**
 * Restricts a fault control to requests whose path (e.g. `/api/v2/pins` or `/security/token`)
 * starts with `path`. Without a path, any request matches.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultFilter {
  readonly path?: string | undefined
}

/**
 * The response {@link Service.failNext} sends instead of the real one.
 *
 * - `status`: 200–599.
 * - `retryAfter`: sent as the `Retry-After` header (seconds, or an HTTP date string).
 * - `body` / `contentType`: the body to send. Without `body`, a 4xx gets a plex.tv error body
 *   (JSON when the request accepts JSON, else XML; 429 → code 1003 "API rate limit exceeded",
 *   401 → 1001, 404 → 1002, 400 → 1004, 422 → 1008) and any other status a short `text/plain`
 *   reason phrase. Without `contentType`, it is guessed from the body (`{`/`[` JSON, `<?xml`/`<errors`
 *   XML, other `<` HTML, else text).
 *
 * @since 0.1.0
 * @category models
 */
export interface FailResponse {
  readonly status: number
  readonly retryAfter?: number | string | undefined
  readonly body?: string | undefined
  readonly contentType?: string | undefined
}

/**
 * What {@link Service.corruptNext} does to a response.
 *
 * - `"malformed-json"`: 200, `application/json`, body `{"id": 1,`.
 * - `"truncated"`: the request is handled normally (state changes happen), then the body is cut to
 *   half its length; status and headers are kept and `Content-Length` matches the cut body.
 * - `"html"`: 200 `text/html` page (a proxy / captive-portal style page).
 * - `"xml-error"`: 200 `application/xml` with a plex.tv `<errors>` body.
 * - `"empty"`: 200 `application/json` with an empty body (`Content-Length: 0`).
 * - `{ _tag: "oversized", bytes, chunked }`: 200 `application/json` body of exactly `bytes` bytes
 *   (`{"padding":"xxx…"}`); with `Content-Length`, or streamed in chunks without it when `chunked`.
 *
 * @since 0.1.0
 * @category models
 */
export type CorruptionKind =
  | "malformed-json"
  | "truncated"
  | "html"
  | "xml-error"
  | "empty"
  | { readonly _tag: "oversized"; readonly bytes: number; readonly chunked?: boolean | undefined }

/**
 * A request as the fake received it (recorded before any fault applies, so retries are visible).
 *
 * - `path`: without the query string, e.g. `/api/v2/user`.
 * - `searchParams`: the query string (first value per name). A token here is a client bug: the
 *   fake only reads tokens from the `X-Plex-Token` header.
 * - `headers`: names lower-cased.
 * - `form`: the fields of an `application/x-www-form-urlencoded` body, when there was one.
 * - `time`: epoch milliseconds from effect's `Clock` when it arrived.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly searchParams: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly form?: Readonly<Record<string, string>>
  readonly time: number
}

/**
 * The failure of a control that was given something the fake does not know (e.g. an unknown PIN
 * or token in {@link Service.approvePin}).
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexFakeError extends Data.TaggedError("PlexFakeError")<{ readonly message: string }> {}

/**
 * The fake's controls and its `HttpApp`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Adds an account that can sign in and whose token is valid on plex.tv and the PMS routes.
   * Dies (a test bug) if the login, or the given token, is already taken.
   */
  readonly addAccount: (options: AddAccountOptions) => Effect.Effect<FakeAccount>
  /** Registers (or replaces) the device `GET /security/resources?source=<source>` answers with. */
  readonly addSource: (source: string, device: FakeDevice) => Effect.Effect<void>
  /** Mints a further valid token for the account with that login. Dies (a test bug) if there is none. */
  readonly issueToken: (login: string) => Effect.Effect<string>
  /** Makes a token (account or transient) invalid everywhere. Unknown tokens are ignored. */
  readonly revokeToken: (token: string) => Effect.Effect<void>
  /** Simulates a PMS restart: every transient token the PMS routes minted becomes invalid. */
  readonly restartServer: Effect.Effect<void>
  /** Whether a token (account or transient) is currently valid. */
  readonly isTokenValid: (token: string) => Effect.Effect<boolean>
  /**
   * Approves a PIN (by numeric id, or by code as a string) so that polling returns `accountToken`.
   * Fails with {@link PlexFakeError} if the PIN is unknown or expired, or the token is not a valid
   * account token.
   */
  readonly approvePin: (idOrCode: number | string, accountToken: string) => Effect.Effect<void, PlexFakeError>
  /**
   * When `after` is set, a PIN counts as approved once `after` has passed since its creation
   * (checked lazily when it is polled, with effect's `Clock`), with `accountToken` or else the first
   * account's token. `undefined` turns it off.
   */
  readonly autoApprovePins: (
    after: Duration.DurationInput | undefined,
    accountToken?: string | undefined
  ) => Effect.Effect<void>
  /** The next `n` matching requests get the given response instead of being handled. */
  readonly failNext: (n: number, response: FailResponse, filter?: FaultFilter | undefined) => Effect.Effect<void>
  /**
   * The next `n` matching requests wait `duration` (`Effect.sleep`, so `TestClock` drives it
   * in-process) before being handled. A delay combines with one fail/corrupt/drop fault.
   */
  readonly delayNext: (
    n: number,
    duration: Duration.DurationInput,
    filter?: FaultFilter | undefined
  ) => Effect.Effect<void>
  /** The next `n` matching requests get a corrupted response; see {@link CorruptionKind}. */
  readonly corruptNext: (n: number, kind: CorruptionKind, filter?: FaultFilter | undefined) => Effect.Effect<void>
  /**
   * The next `n` matching requests get no response: over HTTP the socket is destroyed; in-process
   * the client fails with `HttpClientError.RequestError` (reason `"Transport"`).
   */
  readonly dropNext: (n: number, filter?: FaultFilter | undefined) => Effect.Effect<void>
  /** Removes every pending fault and delay, and resets sign-in failure counters (code 1031). */
  readonly resetFaults: Effect.Effect<void>
  /** Every request received so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Forgets the recorded requests. */
  readonly clearRequests: Effect.Effect<void>
  /**
   * The fake as a platform-agnostic `HttpApp`, for serving it yourself. A dropped request
   * destroys `request.source.socket` where the platform exposes one (Node); elsewhere it dies, which
   * the platform answers with a 500.
   */
  readonly app: HttpApp.Default
}

/**
 * The fake's service: controls (accounts, tokens, PINs, sources, faults) and its `HttpApp`.
 *
 * Provided by {@link layer}, {@link layerServer} and {@link layerClient}.
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexFake extends Context.Tag("effect-plex/testing/PlexFake")<PlexFake, Service>() {}

/**
 * The base URLs to point the SDK at.
 *
 * - `url`: the origin, e.g. `http://127.0.0.1:41234` (or {@link inProcessOrigin}).
 * - `plexTvUrl`: `${url}/api/v2`.
 * - `serverUrl`: `${url}` (the PMS routes sit at the root).
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeUrls {
  readonly url: string
  readonly plexTvUrl: string
  readonly serverUrl: string
}

/**
 * Where the fake can be reached: provided by {@link layerServer} (loopback address) and
 * {@link layerClient} ({@link inProcessOrigin}).
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexFakeServer extends Context.Tag("effect-plex/testing/PlexFakeServer")<PlexFakeServer, FakeUrls>() {}

/**
 * The origin the in-process client of {@link layerClient} answers for. Configure the SDK with
 * `plexTvUrl: "http://plex.fake/api/v2"` and `serverUrl: "http://plex.fake"`. Requests to any other
 * origin fail with a `"Transport"` `RequestError`; nothing ever reaches the network.
 *
 * @since 0.1.0
 * @category constants
 */
export const inProcessOrigin = "http://plex.fake"

// -------------------------------------------------------------------------------------------------
// Wire constants
// -------------------------------------------------------------------------------------------------

const PLEX_TV_PREFIX = "/api/v2"
const JSON_CT = "application/json; charset=utf-8"
const XML_CT = "application/xml; charset=utf-8"
const PMS_JSON_CT = "application/json"
const PMS_XML_CT = "text/xml;charset=utf-8"
const XML_PROLOG = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
const HEX = "0123456789abcdef"
const SIGN_IN_FAILURES_BEFORE_THROTTLE = 5
const REMEMBER_SECONDS = 14 * 24 * 60 * 60

interface ErrorDetail {
  readonly code: number
  readonly message: string
  readonly status: number
}

const missingClientIdentifier: ErrorDetail = { code: 1000, message: "X-Plex-Client-Identifier is missing", status: 400 }
const missingProduct: ErrorDetail = { code: 1000, message: "X-Plex-Product is missing", status: 400 }
const unauthenticated: ErrorDetail = { code: 1001, message: "User could not be authenticated", status: 401 }
const notFoundDetail: ErrorDetail = {
  code: 1002,
  message: "The requested resource or endpoint could not be found",
  status: 404
}
const pinNotFound: ErrorDetail = { code: 1020, message: "Code not found or expired", status: 404 }
const invalidVerificationCode: ErrorDetail = { code: 1028, message: "Invalid verification code", status: 401 }
const verificationCodeRequired: ErrorDetail = {
  code: 1029,
  message: "Please enter the verification code",
  status: 401
}
const signInThrottled: ErrorDetail = {
  code: 1031,
  message:
    "User could not be authenticated. This IP appears to be having trouble signing in to an account (detected repeated failures)",
  status: 401
}

const reasonPhrases: Record<number, string> = {
  200: "OK",
  201: "Created",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

const reasonPhrase = (status: number): string => reasonPhrases[status] ?? `HTTP ${status}`

const defaultErrorDetail = (status: number): ErrorDetail => {
  switch (status) {
    case 429:
      return { code: 1003, message: "API rate limit exceeded", status }
    case 401:
      return { ...unauthenticated, status }
    case 404:
      return { ...notFoundDetail, status }
    case 422:
      return {
        code: 1008,
        message: "The server could not perform the action required with the entity provided",
        status
      }
    default:
      return {
        code: 1004,
        message: status === 400 ?
          "The request was malformed, missed a required parameter or was otherwise invalid" :
          reasonPhrase(status),
        status
      }
  }
}

const pmsHtml = (status: number): string => {
  if (status === 401) {
    return "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
  }
  const phrase = reasonPhrase(status)
  return `<html><head><title>${phrase}</title></head><body><h1>${status} ${phrase}</h1></body></html>`
}

const htmlPage = "<!DOCTYPE html>\n<html><head><title>Plex</title></head>" +
  "<body><h1>Service temporarily unavailable</h1><p>Please try again later.</p></body></html>\n"

const escapeXml = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

type XmlScalar = string | number | boolean | null | undefined

const xmlAttrs = (attrs: ReadonlyArray<readonly [string, XmlScalar]>): string =>
  attrs.map(([name, value]) => {
    const text = value === null || value === undefined ? "" : typeof value === "boolean" ? (value ? "1" : "0") : value
    return ` ${name}="${escapeXml(String(text))}"`
  }).join("")

const xmlErrorBody = (detail: ErrorDetail): string =>
  `${XML_PROLOG}<errors>\n  <error${
    xmlAttrs([["code", detail.code], ["message", detail.message], ["status", detail.status]])
  }/>\n</errors>\n`

const jsonErrorBody = (detail: ErrorDetail): string => JSON.stringify({ errors: [detail] })

// -------------------------------------------------------------------------------------------------
// State
// -------------------------------------------------------------------------------------------------

interface AccountRecord {
  readonly id: number
  readonly uuid: string
  readonly login: string
  readonly username: string
  readonly email: string
  readonly title: string
  readonly password: string
  readonly twoFactorCode: string | undefined
  readonly token: string
  readonly joinedAt: number
}

interface TokenRecord {
  readonly accountId: number
  readonly transient: boolean
}

interface PinRecord {
  readonly id: number
  readonly code: string
  readonly product: string
  readonly clientIdentifier: string
  readonly createdAt: number
  readonly expiresAt: number
  readonly authToken: string | null
}

type Outcome =
  | { readonly _tag: "Fail"; readonly response: FailResponse }
  | { readonly _tag: "Corrupt"; readonly kind: CorruptionKind }
  | { readonly _tag: "Drop" }

interface FaultEntry<A> {
  readonly value: A
  readonly remaining: number
  readonly path: string | undefined
}

interface State {
  readonly accounts: ReadonlyArray<AccountRecord>
  readonly tokens: HashMap.HashMap<string, TokenRecord>
  readonly pins: HashMap.HashMap<number, PinRecord>
  readonly nextPinId: number
  readonly nextAccountId: number
  readonly sources: HashMap.HashMap<string, FakeDevice>
  readonly signInFailures: HashMap.HashMap<string, number>
  readonly autoApprove: { readonly afterMillis: number; readonly accountToken: string | undefined } | undefined
  readonly delays: ReadonlyArray<FaultEntry<Duration.Duration>>
  readonly outcomes: ReadonlyArray<FaultEntry<Outcome>>
  readonly requests: Chunk.Chunk<RecordedRequest>
}

const initialState: State = {
  accounts: [],
  tokens: HashMap.empty(),
  pins: HashMap.empty(),
  nextPinId: 1_000_000_001,
  nextAccountId: 10_000_001,
  sources: HashMap.empty(),
  signInFailures: HashMap.empty(),
  autoApprove: undefined,
  delays: [],
  outcomes: [],
  requests: Chunk.empty()
}

const takeFault = <A>(
  entries: ReadonlyArray<FaultEntry<A>>,
  path: string
): readonly [A | undefined, ReadonlyArray<FaultEntry<A>>] => {
  const index = entries.findIndex((entry) => entry.path === undefined || path.startsWith(entry.path))
  if (index === -1) return [undefined, entries]
  const entry = entries[index]!
  const rest = entries.slice()
  if (entry.remaining <= 1) {
    rest.splice(index, 1)
  } else {
    rest[index] = { ...entry, remaining: entry.remaining - 1 }
  }
  return [entry.value, rest]
}

const validToken = (state: State, token: string | undefined, allowTransient: boolean): AccountRecord | undefined => {
  if (token === undefined || token === "") return undefined
  const record = Option.getOrUndefined(HashMap.get(state.tokens, token))
  if (record === undefined || (record.transient && !allowTransient)) return undefined
  return state.accounts.find((account) => account.id === record.accountId)
}

const findAccountByLogin = (state: State, login: string): AccountRecord | undefined => {
  const key = login.toLowerCase()
  return state.accounts.find((account) =>
    account.login.toLowerCase() === key || account.username.toLowerCase() === key ||
    account.email.toLowerCase() === key
  )
}

/** The account's primary token, minting `fresh` as the new primary if it was revoked. */
const ensurePrimaryToken = (
  state: State,
  account: AccountRecord,
  fresh: string
): readonly [string, State] => {
  if (HashMap.has(state.tokens, account.token)) return [account.token, state]
  const updated = { ...account, token: fresh }
  return [fresh, {
    ...state,
    accounts: state.accounts.map((a) => a.id === account.id ? updated : a),
    tokens: HashMap.set(state.tokens, fresh, { accountId: account.id, transient: false })
  }]
}

const addToken = (state: State, token: string, accountId: number, transient: boolean): State => ({
  ...state,
  tokens: HashMap.set(state.tokens, token, { accountId, transient })
})

const findPinByCode = (state: State, code: string): PinRecord | undefined => {
  const key = code.toUpperCase()
  for (const pin of HashMap.values(state.pins)) {
    if (pin.code.toUpperCase() === key) return pin
  }
  return undefined
}

// -------------------------------------------------------------------------------------------------
// Randomness (effect's Random, so tests can seed it)
// -------------------------------------------------------------------------------------------------

const randomString = (alphabet: string, length: number): Effect.Effect<string> =>
  Effect.map(
    Effect.replicateEffect(Random.nextIntBetween(0, alphabet.length), length),
    (indexes) => indexes.map((i) => alphabet[i]).join("")
  )

const randomToken = randomString(ALNUM, 20)

const randomUuid: Effect.Effect<string> = Effect.map(
  randomString(HEX, 32),
  (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`
)

// -------------------------------------------------------------------------------------------------
// Bodies
// -------------------------------------------------------------------------------------------------

const isoSeconds = (millis: number): string => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")

const subscriptionFeatures = [
  "guided-upgrade",
  "increase-password-complexity",
  "companions_sonos",
  "federated-auth",
  "home",
  "livetv",
  "two-factor-authentication",
  "web_server_dashboard"
]

const services = [
  {
    identifier: "epg",
    endpoint: "https://epg.provider.plex.tv",
    token: "d2h7zUjKgT5oLwQ3cQ6d",
    secret: null,
    status: "online"
  },
  {
    identifier: "metadata",
    endpoint: "https://metadata.provider.plex.tv",
    token: "h5z3rQxLhJ2lRyB4gN7v",
    secret: null,
    status: "online"
  },
  {
    identifier: "community",
    endpoint: "https://community.plex.tv",
    token: null,
    secret: null,
    status: "online"
  }
]

const profile = {
  autoSelectAudio: true,
  defaultAudioLanguage: "en",
  defaultSubtitleLanguage: "en",
  autoSelectSubtitle: 1,
  defaultSubtitleAccessibility: 0,
  defaultSubtitleForced: 0,
  watchedIndicator: 1,
  mediaReviewsVisibility: 0
}

const userJson = (account: AccountRecord, token: string, nowMillis: number) => {
  const twoFactorEnabled = account.twoFactorCode !== undefined
  return {
    id: account.id,
    uuid: account.uuid,
    username: account.username,
    title: account.title,
    email: account.email,
    friendlyName: "",
    locale: null,
    confirmed: true,
    joinedAt: account.joinedAt,
    emailOnlyAuth: false,
    hasPassword: true,
    protected: false,
    thumb: `https://plex.tv/users/${account.uuid}/avatar?c=${account.joinedAt}`,
    authToken: token,
    mailingListStatus: "unsubscribed",
    mailingListActive: false,
    scrobbleTypes: "",
    country: "US",
    subscription: {
      active: false,
      subscribedAt: null,
      status: "Inactive",
      paymentService: null,
      plan: null,
      features: subscriptionFeatures
    },
    subscriptionDescription: null,
    restricted: false,
    anonymous: false,
    home: false,
    guest: false,
    homeSize: 1,
    homeAdmin: false,
    maxHomeSize: 15,
    rememberExpiresAt: Math.floor(nowMillis / 1000) + REMEMBER_SECONDS,
    profile,
    entitlements: [],
    subscriptions: [],
    pastSubscriptions: [
      {
        id: null,
        mode: null,
        renewsAt: null,
        endsAt: account.joinedAt + 30 * 24 * 60 * 60,
        billing: { paymentMethodId: null, internalPaymentMethod: {} },
        canceled: false,
        gracePeriod: false,
        onHold: false,
        canReactivate: false,
        canUpgrade: false,
        canDowngrade: false,
        canConvert: false,
        type: "plexpass",
        transfer: null,
        state: "ended"
      }
    ],
    trials: [],
    services,
    adsConsent: null,
    adsConsentSetAt: null,
    adsConsentReminderAt: null,
    experimentalFeatures: false,
    twoFactorEnabled,
    backupCodesCreated: twoFactorEnabled,
    attributionPartner: null
  }
}

const userXml = (account: AccountRecord, token: string, nowMillis: number): string => {
  const u = userJson(account, token, nowMillis)
  const attrs = xmlAttrs([
    ["id", u.id],
    ["uuid", u.uuid],
    ["username", u.username],
    ["title", u.title],
    ["email", u.email],
    ["friendlyName", u.friendlyName],
    ["locale", u.locale],
    ["confirmed", u.confirmed],
    ["joinedAt", u.joinedAt],
    ["emailOnlyAuth", u.emailOnlyAuth],
    ["hasPassword", u.hasPassword],
    ["protected", u.protected],
    ["thumb", u.thumb],
    ["authToken", u.authToken],
    ["mailingListStatus", u.mailingListStatus],
    ["mailingListActive", u.mailingListActive],
    ["scrobbleTypes", u.scrobbleTypes],
    ["country", u.country],
    ["subscriptionDescription", u.subscriptionDescription],
    ["restricted", u.restricted],
    ["anonymous", u.anonymous],
    ["home", u.home],
    ["guest", u.guest],
    ["homeSize", u.homeSize],
    ["homeAdmin", u.homeAdmin],
    ["maxHomeSize", u.maxHomeSize],
    ["rememberExpiresAt", u.rememberExpiresAt],
    ["adsConsent", u.adsConsent],
    ["adsConsentSetAt", u.adsConsentSetAt],
    ["adsConsentReminderAt", u.adsConsentReminderAt],
    ["experimentalFeatures", u.experimentalFeatures],
    ["twoFactorEnabled", u.twoFactorEnabled],
    ["backupCodesCreated", u.backupCodesCreated]
  ])
  const s = u.subscription
  const features = s.features.map((id) => `      <feature${xmlAttrs([["id", id]])}/>\n`).join("")
  const profileAttrs = xmlAttrs(Object.entries(u.profile))
  const serviceLines = u.services.map((service) =>
    `    <service${
      xmlAttrs([
        ["identifier", service.identifier],
        ["endpoint", service.endpoint],
        ["token", service.token],
        ["secret", service.secret],
        ["status", service.status]
      ])
    }/>\n`
  ).join("")
  return `${XML_PROLOG}<user${attrs}>\n` +
    `  <subscription${
      xmlAttrs([
        ["active", s.active],
        ["subscribedAt", s.subscribedAt],
        ["status", s.status],
        ["paymentService", s.paymentService],
        ["plan", s.plan]
      ])
    }>\n    <features>\n${features}    </features>\n  </subscription>\n` +
    `  <profile${profileAttrs}/>\n` +
    `  <entitlements>\n  </entitlements>\n  <roles>\n  </roles>\n  <subscriptions>\n  </subscriptions>\n` +
    `  <services>\n${serviceLines}  </services>\n</user>\n`
}

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
  authToken: pin.authToken,
  newRegistration: pin.authToken === null ? null : false
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

const deviceJson = (device: FakeDevice, accessToken: string) => ({
  MediaContainer: {
    size: 1,
    Device: {
      name: device.name,
      clientIdentifier: device.clientIdentifier,
      accessToken,
      Connection: (device.connections ?? []).map((c) => ({
        protocol: c.protocol,
        address: c.address,
        uri: c.uri,
        port: c.port,
        local: c.local,
        ...(c.relay === undefined ? {} : { relay: c.relay })
      }))
    }
  }
})

const deviceXml = (device: FakeDevice, accessToken: string): string => {
  const connections = (device.connections ?? []).map((c) =>
    `\t\t<Connection${
      xmlAttrs([
        ["protocol", c.protocol],
        ["address", c.address],
        ["uri", c.uri],
        ["port", c.port],
        ["local", c.local],
        ...(c.relay === undefined ? [] : [["relay", c.relay] as const])
      ])
    } />\n`
  ).join("")
  return `${XML_PROLOG}<MediaContainer size="1">\n\t<Device${
    xmlAttrs([["name", device.name], ["clientIdentifier", device.clientIdentifier], ["accessToken", accessToken]])
  }>\n${connections}\t</Device>\n</MediaContainer>\n`
}

/** `bytes` bytes of `{"padding":"xxx…"}`, or the slice `[from, to)` of it. */
const jsonishBytes = (total: number, from: number, to: number): Uint8Array => {
  const prefix = "{\"padding\":\""
  const suffix = "\"}"
  const out = new Uint8Array(to - from).fill(0x78)
  if (total < prefix.length + suffix.length) return out
  for (let i = from; i < Math.min(to, prefix.length); i++) out[i - from] = prefix.charCodeAt(i)
  const suffixStart = total - suffix.length
  for (let i = Math.max(from, suffixStart); i < to; i++) out[i - from] = suffix.charCodeAt(i - suffixStart)
  return out
}

const OVERSIZED_CHUNK = 64 * 1024

// -------------------------------------------------------------------------------------------------
// Responses
// -------------------------------------------------------------------------------------------------

const plexTvError = (json: boolean, detail: ErrorDetail, headers?: Record<string, string>) =>
  HttpServerResponse.text(json ? jsonErrorBody(detail) : xmlErrorBody(detail), {
    status: detail.status,
    contentType: json ? JSON_CT : XML_CT,
    ...(headers === undefined ? {} : { headers })
  })

const pmsError = (status: number) => HttpServerResponse.text(pmsHtml(status), { status, contentType: "text/html" })

const guessContentType = (body: string): string => {
  const start = body.trimStart()
  if (start.startsWith("{") || start.startsWith("[")) return JSON_CT
  if (start.startsWith("<?xml") || start.startsWith("<errors")) return XML_CT
  if (start.startsWith("<")) return "text/html; charset=utf-8"
  return "text/plain; charset=utf-8"
}

const failResponse = (spec: FailResponse, json: boolean): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = spec.retryAfter === undefined
    ? {}
    : { "retry-after": String(spec.retryAfter) }
  const status = spec.status
  if (status === 204 || status === 205 || status === 304) {
    return HttpServerResponse.empty({ status, headers })
  }
  if (spec.body !== undefined) {
    return HttpServerResponse.text(spec.body, {
      status,
      headers,
      contentType: spec.contentType ?? guessContentType(spec.body)
    })
  }
  if (status >= 400 && status < 500) {
    return plexTvError(json, defaultErrorDetail(status), headers)
  }
  return HttpServerResponse.text(reasonPhrase(status), {
    status,
    headers,
    contentType: spec.contentType ?? "text/plain; charset=utf-8"
  })
}

const corruptResponse = (
  kind: Exclude<CorruptionKind, "truncated">
): HttpServerResponse.HttpServerResponse => {
  if (typeof kind === "object") {
    const bytes = Math.max(0, Math.floor(kind.bytes))
    if (kind.chunked === true) {
      const chunks = Stream.unfold(0, (offset) =>
        offset >= bytes ?
          Option.none() :
          Option.some(
            [jsonishBytes(bytes, offset, Math.min(bytes, offset + OVERSIZED_CHUNK)), offset + OVERSIZED_CHUNK] as const
          ))
      return HttpServerResponse.stream(chunks, { status: 200, contentType: JSON_CT })
    }
    return HttpServerResponse.uint8Array(jsonishBytes(bytes, 0, bytes), {
      status: 200,
      contentType: JSON_CT,
      headers: { "content-length": String(bytes) }
    })
  }
  switch (kind) {
    case "malformed-json":
      return HttpServerResponse.text("{\"id\": 1,", { status: 200, contentType: JSON_CT })
    case "html":
      return HttpServerResponse.text(htmlPage, { status: 200, contentType: "text/html; charset=utf-8" })
    case "xml-error":
      return HttpServerResponse.text(xmlErrorBody(unauthenticated), { status: 200, contentType: XML_CT })
    case "empty":
      return HttpServerResponse.uint8Array(new Uint8Array(0), {
        status: 200,
        contentType: JSON_CT,
        headers: { "content-length": "0" }
      })
  }
}

const truncate = (response: HttpServerResponse.HttpServerResponse): HttpServerResponse.HttpServerResponse => {
  const body = response.body
  if (body._tag !== "Uint8Array" || body.body.length === 0) return response
  const cut = body.body.slice(0, Math.floor(body.body.length / 2))
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (name !== "content-length" && name !== "content-type") headers[name] = value
  }
  headers["content-length"] = String(cut.length)
  return HttpServerResponse.uint8Array(cut, { status: response.status, headers, contentType: body.contentType })
}

/** The internal marker a runner turns into a dropped connection. */
const droppedConnection = HttpServerResponse.empty({ status: 599 })

// -------------------------------------------------------------------------------------------------
// The app
// -------------------------------------------------------------------------------------------------

interface Incoming {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: Readonly<Record<string, string>>
  readonly form: Readonly<Record<string, string>> | undefined
  readonly json: boolean
  readonly clientIdentifier: string | undefined
  readonly token: string | undefined
}

const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  const value = headers[name]
  return value === undefined || value === "" ? undefined : value
}

/** First value per name, as own properties (safe for names like `__proto__`). */
const firstValues = (params: URLSearchParams): Record<string, string> => {
  const seen = new Set<string>()
  const entries: Array<[string, string]> = []
  for (const [name, value] of params) {
    if (!seen.has(name)) {
      seen.add(name)
      entries.push([name, value])
    }
  }
  return Object.fromEntries(entries)
}

const readIncoming = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Incoming> =>
  Effect.gen(function*() {
    const url = new URL(request.url, inProcessOrigin)
    const headers: Record<string, string> = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value])
    )
    const contentType = headers["content-type"] ?? ""
    let form: Record<string, string> | undefined
    if (contentType.includes("application/x-www-form-urlencoded")) {
      const text = yield* Effect.orElseSucceed(request.text, () => "")
      form = firstValues(new URLSearchParams(text))
    }
    const path = url.pathname.length > 1 && url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname
    return {
      method: request.method.toUpperCase(),
      path,
      query: url.searchParams,
      headers,
      form,
      json: (headers["accept"] ?? "").toLowerCase().includes("application/json"),
      clientIdentifier: header(headers, "x-plex-client-identifier"),
      token: header(headers, "x-plex-token")
    }
  })

const makeApp = (state: Ref.Ref<State>): HttpApp.Default => {
  const plexTvJson = (req: Incoming, status: number, json: unknown, xml: string) =>
    HttpServerResponse.text(req.json ? JSON.stringify(json) : xml, {
      status,
      contentType: req.json ? JSON_CT : XML_CT
    })

  const pmsBody = (req: Incoming, json: unknown, xml: string) =>
    HttpServerResponse.text(req.json ? JSON.stringify(json) : xml, {
      status: 200,
      contentType: req.json ? PMS_JSON_CT : PMS_XML_CT
    })

  const signIn = (req: Incoming) =>
    Effect.gen(function*() {
      const login = req.form?.["login"] ?? ""
      const password = req.form?.["password"] ?? ""
      const code = req.form?.["verificationCode"] ?? ""
      const fresh = yield* randomToken
      const now = yield* Clock.currentTimeMillis
      const result = yield* Ref.modify(
        state,
        (s): readonly [
          { readonly _tag: "Error"; readonly detail: ErrorDetail } | {
            readonly _tag: "Ok"
            readonly account: AccountRecord
            readonly token: string
          },
          State
        ] => {
          const key = login.toLowerCase()
          const failures = Option.getOrElse(HashMap.get(s.signInFailures, key), () => 0)
          const fail = (detail: ErrorDetail) =>
            [
              { _tag: "Error", detail: failures >= SIGN_IN_FAILURES_BEFORE_THROTTLE ? signInThrottled : detail },
              { ...s, signInFailures: HashMap.set(s.signInFailures, key, failures + 1) }
            ] as const
          if (login === "" || password === "") return [{ _tag: "Error", detail: unauthenticated }, s]
          const account = findAccountByLogin(s, login)
          if (account === undefined || account.password !== password) return fail(unauthenticated)
          if (account.twoFactorCode !== undefined) {
            if (code === "") return [{ _tag: "Error", detail: verificationCodeRequired }, s]
            if (code !== account.twoFactorCode) return fail(invalidVerificationCode)
          }
          const [token, next] = ensurePrimaryToken(s, account, fresh)
          const current = next.accounts.find((a) => a.id === account.id)!
          return [
            { _tag: "Ok", account: current, token },
            { ...next, signInFailures: HashMap.remove(next.signInFailures, key) }
          ]
        }
      )
      if (result._tag === "Error") return plexTvError(req.json, result.detail)
      return plexTvJson(
        req,
        201,
        userJson(result.account, result.token, now),
        userXml(result.account, result.token, now)
      )
    })

  const getUser = (req: Incoming) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const account = validToken(yield* Ref.get(state), req.token, false)
      if (account === undefined) return plexTvError(req.json, unauthenticated)
      return plexTvJson(req, 200, userJson(account, req.token!, now), userXml(account, req.token!, now))
    })

  const ping = (req: Incoming) =>
    Effect.map(Ref.get(state), (s) =>
      validToken(s, req.token, false) === undefined ?
        plexTvError(req.json, unauthenticated) :
        plexTvJson(req, 200, { pong: true }, `${XML_PROLOG}<pong>true</pong>\n`))

  const signOut = (req: Incoming) =>
    Effect.map(
      Ref.modify(state, (s) =>
        validToken(s, req.token, false) === undefined ?
          [false, s] as const :
          [true, { ...s, tokens: HashMap.remove(s.tokens, req.token!) }] as const),
      (ok) => ok ? HttpServerResponse.empty({ status: 204 }) : plexTvError(req.json, unauthenticated)
    )

  const createPin = (req: Incoming) =>
    Effect.gen(function*() {
      const product = header(req.headers, "x-plex-product")
      if (product === undefined) return plexTvError(req.json, missingProduct)
      const strongParam = (req.query.get("strong") ?? req.form?.["strong"] ?? "").toLowerCase()
      const strong = strongParam === "true" || strongParam === "1"
      const now = yield* Clock.currentTimeMillis
      let code = ""
      do {
        code = strong ? yield* randomString(LOWER_ALNUM, 25) : yield* randomString(UPPER_ALNUM, 4)
      } while (findPinByCode(yield* Ref.get(state), code) !== undefined)
      const pin = yield* Ref.modify(state, (s) => {
        const pin: PinRecord = {
          id: s.nextPinId,
          code,
          product,
          clientIdentifier: req.clientIdentifier!,
          createdAt: now,
          expiresAt: now + (strong ? 1800 : 900) * 1000,
          authToken: null
        }
        return [pin, { ...s, nextPinId: s.nextPinId + 1, pins: HashMap.set(s.pins, pin.id, pin) }] as const
      })
      return plexTvJson(req, 201, pinJson(pin, now), pinXml(pin, now))
    })

  const pollPin = (req: Incoming, id: number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* randomToken
      const pin = yield* Ref.modify(state, (s): readonly [PinRecord | undefined, State] => {
        const pin = Option.getOrUndefined(HashMap.get(s.pins, id))
        if (pin === undefined || pin.clientIdentifier !== req.clientIdentifier || now >= pin.expiresAt) {
          return [undefined, s]
        }
        const auto = s.autoApprove
        if (pin.authToken !== null || auto === undefined || now - pin.createdAt < auto.afterMillis) return [pin, s]
        let token = auto.accountToken
        let next = s
        if (token === undefined) {
          const first = s.accounts[0]
          if (first === undefined) return [pin, s]
          ;[token, next] = ensurePrimaryToken(s, first, fresh)
        }
        const approved = { ...pin, authToken: token }
        return [approved, { ...next, pins: HashMap.set(next.pins, id, approved) }]
      })
      if (pin === undefined) return plexTvError(req.json, pinNotFound)
      return plexTvJson(req, 200, pinJson(pin, now), pinXml(pin, now))
    })

  const linkPin = (req: Incoming) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* randomToken
      const code = req.form?.["code"] ?? req.query.get("code") ?? ""
      const outcome = yield* Ref.modify(state, (s): readonly [ErrorDetail | undefined, State] => {
        const account = validToken(s, req.token, false)
        if (account === undefined) return [unauthenticated, s]
        const pin = findPinByCode(s, code)
        if (pin === undefined || now >= pin.expiresAt) return [pinNotFound, s]
        const withToken = addToken(s, fresh, account.id, false)
        return [undefined, { ...withToken, pins: HashMap.set(s.pins, pin.id, { ...pin, authToken: fresh }) }]
      })
      return outcome === undefined ? HttpServerResponse.empty({ status: 204 }) : plexTvError(req.json, outcome)
    })

  const plexTv = (req: Incoming): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const sub = req.path.slice(PLEX_TV_PREFIX.length)
    let handler: Effect.Effect<HttpServerResponse.HttpServerResponse> | undefined
    switch (`${req.method} ${sub}`) {
      case "POST /users/signin":
        handler = signIn(req)
        break
      case "GET /user":
        handler = getUser(req)
        break
      case "GET /ping":
        handler = ping(req)
        break
      case "DELETE /users/signout":
        handler = signOut(req)
        break
      case "POST /pins":
        handler = createPin(req)
        break
      case "PUT /pins/link":
        handler = linkPin(req)
        break
      default: {
        const match = req.method === "GET" ? /^\/pins\/(\d+)$/.exec(sub) : null
        if (match !== null) handler = pollPin(req, Number(match[1]))
      }
    }
    if (handler === undefined) return Effect.succeed(plexTvError(req.json, notFoundDetail))
    if (req.clientIdentifier === undefined) return Effect.succeed(plexTvError(req.json, missingClientIdentifier))
    return handler
  }

  const mintTransient = (accountId: number) =>
    Effect.flatMap(randomUuid, (uuid) => {
      const token = `transient-${uuid}`
      return Effect.as(Ref.update(state, (s) => addToken(s, token, accountId, true)), token)
    })

  const transientToken = (req: Incoming) =>
    Effect.gen(function*() {
      const account = validToken(yield* Ref.get(state), req.token, true)
      if (account === undefined) return pmsError(401)
      if (req.query.get("type") !== "delegation" || req.query.get("scope") !== "all") return pmsError(400)
      const token = yield* mintTransient(account.id)
      return pmsBody(
        req,
        { MediaContainer: { size: 0, token } },
        `${XML_PROLOG}<MediaContainer size="0" token="${escapeXml(token)}"></MediaContainer>\n`
      )
    })

  const sourceResources = (req: Incoming) =>
    Effect.gen(function*() {
      const s = yield* Ref.get(state)
      const account = validToken(s, req.token, true)
      if (account === undefined) return pmsError(401)
      const source = req.query.get("source")
      if (source === null || source === "") return pmsError(400)
      const device = Option.getOrUndefined(HashMap.get(s.sources, source))
      if (device === undefined) return pmsError(404)
      const token = yield* mintTransient(account.id)
      return pmsBody(req, deviceJson(device, token), deviceXml(device, token))
    })

  const pms = (req: Incoming): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    if (req.path === "/security/token") return transientToken(req)
    if (req.path === "/security/resources" && (req.method === "GET" || req.method === "HEAD")) {
      return sourceResources(req)
    }
    return Effect.succeed(pmsError(404))
  }

  const route = (req: Incoming) =>
    req.path === PLEX_TV_PREFIX || req.path.startsWith(`${PLEX_TV_PREFIX}/`) ? plexTv(req) : pms(req)

  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const req = yield* readIncoming(request)
    const time = yield* Clock.currentTimeMillis
    const recorded: RecordedRequest = {
      method: req.method,
      path: req.path,
      searchParams: firstValues(req.query),
      headers: req.headers,
      ...(req.form === undefined ? {} : { form: req.form }),
      time
    }
    const [delay, outcome] = yield* Ref.modify(state, (s) => {
      const [delay, delays] = takeFault(s.delays, req.path)
      const [outcome, outcomes] = takeFault(s.outcomes, req.path)
      return [[delay, outcome] as const, { ...s, delays, outcomes, requests: Chunk.append(s.requests, recorded) }]
    })
    // interruptible: the server runs handlers uninterruptibly, but a client that gave up should not keep
    // a long delay alive
    if (delay !== undefined) yield* Effect.interruptible(Effect.sleep(delay))
    if (outcome !== undefined) {
      switch (outcome._tag) {
        case "Drop":
          return droppedConnection
        case "Fail":
          return failResponse(outcome.response, req.json)
        case "Corrupt":
          if (outcome.kind !== "truncated") return corruptResponse(outcome.kind)
          return truncate(yield* route(req))
      }
    }
    return yield* route(req)
  })
}

// -------------------------------------------------------------------------------------------------
// Service
// -------------------------------------------------------------------------------------------------

const rawApps = new WeakMap<Service, HttpApp.Default>()

const socketOf = (source: unknown): { destroy: () => void } | undefined => {
  if (typeof source !== "object" || source === null || !("socket" in source)) return undefined
  const socket = (source as { socket: unknown }).socket
  return typeof socket === "object" && socket !== null && "destroy" in socket &&
      typeof (socket as { destroy: unknown }).destroy === "function" ?
    socket as { destroy: () => void } :
    undefined
}

const checkCount = (name: string, n: number) =>
  Number.isInteger(n) && n >= 0 ?
    Effect.void :
    Effect.dieMessage(`PlexFake.${name}: n must be a non-negative integer, got ${n}`)

/**
 * Builds a fresh fake (empty state) and its `HttpApp`. Prefer {@link layer}, {@link layerServer}
 * or {@link layerClient}; use this to build your own layer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.gen(function*() {
  const state = yield* Ref.make(initialState)
  const raw = makeApp(state)

  const addFault = <A>(
    name: string,
    n: number,
    filter: FaultFilter | undefined,
    f: (s: State, entry: FaultEntry<A>) => State,
    value: A
  ) =>
    Effect.zipRight(
      checkCount(name, n),
      n === 0 ? Effect.void : Ref.update(state, (s) => f(s, { value, remaining: n, path: filter?.path }))
    )

  const addOutcome = (name: string, n: number, outcome: Outcome, filter: FaultFilter | undefined) =>
    addFault<Outcome>(name, n, filter, (s, entry) => ({ ...s, outcomes: [...s.outcomes, entry] }), outcome)

  const service: Service = {
    addAccount: (options) =>
      Effect.gen(function*() {
        const joinedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const token = options.token ?? (yield* randomToken)
        const uuid = options.uuid ?? (yield* randomString(HEX, 16))
        const result = yield* Ref.modify(state, (s): readonly [FakeAccount | string, State] => {
          if (findAccountByLogin(s, options.login) !== undefined) {
            return [`PlexFake.addAccount: login ${JSON.stringify(options.login)} is already taken`, s]
          }
          if (HashMap.has(s.tokens, token)) return ["PlexFake.addAccount: that token is already in use", s]
          const at = options.login.indexOf("@")
          const username = options.username ?? (at > 0 ? options.login.slice(0, at) : options.login)
          const account: AccountRecord = {
            id: options.id ?? s.nextAccountId,
            uuid,
            login: options.login,
            username,
            email: options.email ?? (at > 0 ? options.login : `${options.login}@example.com`),
            title: options.title ?? username,
            password: options.password,
            twoFactorCode: options.twoFactorCode,
            token,
            joinedAt
          }
          return [
            {
              id: account.id,
              uuid: account.uuid,
              login: account.login,
              username: account.username,
              email: account.email,
              token
            },
            {
              ...addToken(s, token, account.id, false),
              accounts: [...s.accounts, account],
              nextAccountId: Math.max(s.nextAccountId, account.id) + 1
            }
          ]
        })
        return typeof result === "string" ? yield* Effect.dieMessage(result) : result
      }),
    addSource: (source, device) =>
      Ref.update(state, (s) => ({ ...s, sources: HashMap.set(s.sources, source, device) })),
    issueToken: (login) =>
      Effect.flatMap(randomToken, (token) =>
        Effect.flatMap(
          Ref.modify(state, (s) => {
            const account = findAccountByLogin(s, login)
            return account === undefined ? [false, s] as const : [true, addToken(s, token, account.id, false)] as const
          }),
          (ok) => ok ? Effect.succeed(token) : Effect.dieMessage(`PlexFake.issueToken: no account with login ${login}`)
        )),
    revokeToken: (token) => Ref.update(state, (s) => ({ ...s, tokens: HashMap.remove(s.tokens, token) })),
    restartServer: Ref.update(
      state,
      (s) => ({ ...s, tokens: HashMap.filter(s.tokens, (record) => !record.transient) })
    ),
    isTokenValid: (token) => Effect.map(Ref.get(state), (s) => HashMap.has(s.tokens, token)),
    approvePin: (idOrCode, accountToken) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) =>
          Effect.flatten(Ref.modify(state, (s): readonly [Effect.Effect<void, PlexFakeError>, State] => {
            const pin = typeof idOrCode === "number" ?
              Option.getOrUndefined(HashMap.get(s.pins, idOrCode)) :
              findPinByCode(s, idOrCode)
            if (pin === undefined || now >= pin.expiresAt) {
              return [
                Effect.fail(new PlexFakeError({ message: `PlexFake.approvePin: no live PIN ${String(idOrCode)}` })),
                s
              ]
            }
            if (validToken(s, accountToken, false) === undefined) {
              return [
                Effect.fail(
                  new PlexFakeError({ message: "PlexFake.approvePin: the token is not a valid account token" })
                ),
                s
              ]
            }
            return [Effect.void, { ...s, pins: HashMap.set(s.pins, pin.id, { ...pin, authToken: accountToken }) }]
          }))
      ),
    autoApprovePins: (after, accountToken) =>
      Ref.update(state, (s) => ({
        ...s,
        autoApprove: after === undefined ?
          undefined :
          { afterMillis: Duration.toMillis(Duration.decode(after)), accountToken }
      })),
    failNext: (n, response, filter) =>
      Number.isInteger(response.status) && response.status >= 200 && response.status <= 599 ?
        addOutcome("failNext", n, { _tag: "Fail", response }, filter) :
        Effect.dieMessage(`PlexFake.failNext: status must be 200-599, got ${response.status}`),
    delayNext: (n, duration, filter) =>
      addFault(
        "delayNext",
        n,
        filter,
        (s, entry) => ({ ...s, delays: [...s.delays, entry] }),
        Duration.decode(duration)
      ),
    corruptNext: (n, kind, filter) => addOutcome("corruptNext", n, { _tag: "Corrupt", kind }, filter),
    dropNext: (n, filter) => addOutcome("dropNext", n, { _tag: "Drop" }, filter),
    resetFaults: Ref.update(state, (s) => ({ ...s, delays: [], outcomes: [], signInFailures: HashMap.empty() })),
    requests: Effect.map(Ref.get(state), (s) => Chunk.toReadonlyArray(s.requests)),
    clearRequests: Ref.update(state, (s) => ({ ...s, requests: Chunk.empty() })),
    app: Effect.flatMap(raw, (response) => {
      if (response !== droppedConnection) return Effect.succeed(response)
      return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const socket = socketOf(request.source)
        if (socket === undefined) {
          return Effect.dieMessage("PlexFake.dropNext: this platform exposes no socket to drop")
        }
        socket.destroy()
        return Effect.succeed(response)
      })
    })
  }
  rawApps.set(service, raw)
  return service
})

/**
 * The fake's state and `HttpApp` only (no server, no client). Serve `app` yourself, or use
 * {@link layerServer} / {@link layerClient}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PlexFake> = Layer.effect(PlexFake, make)

const urlsFor = (origin: string): FakeUrls => ({
  url: origin,
  plexTvUrl: `${origin}${PLEX_TV_PREFIX}`,
  serverUrl: origin
})

/**
 * Serves the fake over real HTTP on `127.0.0.1` (never other interfaces) on a free port, for
 * the lifetime of the layer, and provides its URLs as {@link PlexFakeServer}.
 *
 * Node only: it loads `@effect/platform-node` (and `node:http`) on build, so import this module
 * freely elsewhere and use {@link layerClient} there. Fails with `ServeError` if it cannot listen.
 * Server-side sleeps use the server's (live) clock.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer: Layer.Layer<PlexFake | PlexFakeServer, ServeError> = Layer.unwrapEffect(
  Effect.map(
    Effect.promise(() =>
      Promise.all([
        import("node:http"),
        import("@effect/platform-node/NodeHttpServer"),
        import("@effect/platform-node/NodeHttpServerRequest")
      ])
    ),
    ([Http, NodeHttpServer, NodeHttpServerRequest]) => {
      const serve = Layer.unwrapEffect(Effect.map(PlexFake, (fake) => {
        const raw = rawApps.get(fake) ?? fake.app
        const app: HttpApp.Default = Effect.flatMap(raw, (response) =>
          response !== droppedConnection ?
            Effect.succeed(response) :
            Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
              NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
              return response
            }))
        return HttpServer.serve(app)
      }))
      const urls = Layer.effect(
        PlexFakeServer,
        HttpServer.addressWith((address) =>
          address._tag === "TcpAddress" ?
            Effect.succeed(urlsFor(`http://${address.hostname}:${address.port}`)) :
            Effect.dieMessage("PlexFake.layerServer: expected a TCP address")
        )
      )
      return Layer.mergeAll(serve, urls).pipe(
        Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
        Layer.provideMerge(layer)
      )
    }
  )
)

const webBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<unknown, HttpClientError.RequestError> => {
  const body: HttpBody.HttpBody = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(undefined)
    case "Raw":
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "FormData":
      return Effect.succeed(body.formData)
    case "Stream":
      return Effect.mapError(
        Effect.map(Stream.runCollect(body.stream), (chunks) => Bytes.concat(Chunk.toReadonlyArray(chunks))),
        (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })
      )
  }
}

const makeInProcessClient = (raw: HttpApp.Default): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) => {
    if (url.origin !== inProcessOrigin) {
      return Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: `PlexFake in-process client only answers ${inProcessOrigin}, not ${url.origin}`
        })
      )
    }
    return Effect.gen(function*() {
      const body = yield* webBody(request)
      // Headers and Request throw on what no transport could send (a CR in a value, a GET with a
      // body); a real client fails such a request, so this one does too.
      const webRequest = yield* Effect.try({
        try: () => {
          const headers = new globalThis.Headers()
          for (const [name, value] of Object.entries(request.headers)) {
            if (name !== "content-length") headers.set(name, value)
          }
          return new Request(url, { method: request.method, headers, body: body as any })
        },
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
      })
      // Raced against the signal: a delayed answer (delayNext) ends when the request is aborted.
      const response = yield* Effect.raceFirst(
        Effect.provideService(raw, HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(webRequest)),
        untilAborted(request, signal)
      )
      if (response === droppedConnection) {
        return yield* new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: new Error("socket hang up"),
          description: "PlexFake dropped the connection (dropNext)"
        })
      }
      const runtime = yield* Effect.runtime<never>()
      return HttpClientResponse.fromWeb(
        request,
        HttpServerResponse.toWeb(response, { withoutBody: request.method === "HEAD", runtime })
      )
    })
  })

/**
 * Runs the fake in-process: provides {@link PlexFake} and an `HttpClient` that hands each request
 * to the fake's `HttpApp` directly (no socket, no network), plus {@link PlexFakeServer} with
 * {@link inProcessOrigin}. Point the SDK at `http://plex.fake/api/v2` and `http://plex.fake`;
 * requests to any other origin fail with a `"Transport"` `RequestError`.
 *
 * The fake runs on the calling fiber's services, so `TestClock` drives PIN expiry, auto-approval
 * and `delayNext` in `it.effect` tests. Like a real transport it honours the request's
 * `AbortSignal`: an aborted request (an SDK attempt timeout on the live clock, an interrupted
 * fiber) fails with a `"Transport"` `RequestError`, as does a dropped one.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: Layer.Layer<PlexFake | PlexFakeServer | HttpClient.HttpClient> = Layer.mergeAll(
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(PlexFake, (fake) => makeInProcessClient(rawApps.get(fake) ?? fake.app))
  ),
  Layer.succeed(PlexFakeServer, urlsFor(inProcessOrigin))
).pipe(Layer.provideMerge(layer))

/**
 * A `PlexConfig` pointing at the running fake (plex.tv, clients.plex.tv and PMS URLs from
 * {@link PlexFakeServer}), with a test client identifier unless you give one. Provide it to
 * `Authentication.layer` and friends together with {@link layerServer} or {@link layerClient}.
 * Fails with a `ConfigError` for options `PlexConfig.make` refuses.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Partial<Omit<PlexConfig.Options, "plexTvUrl" | "serverUrl" | "clientsUrl">>
): Layer.Layer<PlexConfig.PlexConfig, ConfigError.ConfigError, PlexFakeServer> =>
  Layer.effect(
    PlexConfig.PlexConfig,
    Effect.flatMap(PlexFakeServer, (urls) =>
      PlexConfig.make({
        clientIdentifier: "effect-plex-fake-client",
        product: "effect-plex tests",
        ...options,
        plexTvUrl: urls.plexTvUrl,
        // The fake answers the clients.plex.tv API under the same prefix as plex.tv's.
        clientsUrl: urls.plexTvUrl,
        serverUrl: urls.serverUrl
      }))
  )
