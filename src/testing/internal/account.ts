/**
 * The account area: plex.tv sign-in (with 2FA and the repeated-failure throttle), `GET /user`,
 * `GET /ping` and sign-out, the user bodies they answer with, and the account and token controls.
 * Accounts and tokens themselves are core state (every area checks tokens); this area owns only
 * the sign-in failure counters.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { FakeAccount, Service } from "../PlexFake.js"
import type { Area, Incoming, Route } from "./area.js"
import { PlexFakeError } from "./errors.js"
import type { AccountRecord, AreaContext, Slice } from "./state.js"
import {
  addToken,
  ensurePrimaryToken,
  findAccountByLogin,
  HEX,
  randomString,
  randomToken,
  validToken
} from "./state.js"
import type { ErrorDetail } from "./wire.js"
import { plexTvBody, plexTvError, unauthenticated, XML_PROLOG, xmlAttrs } from "./wire.js"

/** The account area's own state: failed sign-ins per lower-cased login, since the last success. */
export interface AccountState {
  readonly signInFailures: HashMap.HashMap<string, number>
}

/** The `Service` members the account area implements. */
export type AccountControls = Pick<Service, "addAccount" | "issueToken" | "revokeToken" | "isTokenValid">

const SIGN_IN_FAILURES_BEFORE_THROTTLE = 5
const REMEMBER_SECONDS = 14 * 24 * 60 * 60

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

// -------------------------------------------------------------------------------------------------
// Bodies
// -------------------------------------------------------------------------------------------------

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

/** The user object plex.tv answers sign-in and `GET /user` with, for `token`. */
export const userJson = (account: AccountRecord, token: string, nowMillis: number) => {
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

/** {@link userJson} as plex.tv's XML `<user>` document. */
export const userXml = (account: AccountRecord, token: string, nowMillis: number): string => {
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

const userBody = (req: Incoming, status: number, account: AccountRecord, token: string, now: number) =>
  plexTvBody(req.json, status, userJson(account, token, now), userXml(account, token, now))

// -------------------------------------------------------------------------------------------------
// Routes
// -------------------------------------------------------------------------------------------------

type SignInResult =
  | { readonly _tag: "Error"; readonly detail: ErrorDetail }
  | { readonly _tag: "Ok"; readonly account: AccountRecord; readonly token: string }

const routes = (ctx: AreaContext<AccountState>): ReadonlyArray<Route> => {
  const signIn = (req: Incoming) =>
    Effect.gen(function*() {
      const login = req.form?.["login"] ?? ""
      const password = req.form?.["password"] ?? ""
      const code = req.form?.["verificationCode"] ?? ""
      const fresh = yield* randomToken
      const now = yield* Clock.currentTimeMillis
      const result = yield* ctx.modify((s): readonly [SignInResult, Slice<AccountState>] => {
        const key = login.toLowerCase()
        const failures = Option.getOrElse(HashMap.get(s.own.signInFailures, key), () => 0)
        // Only a wrong password or code counts; past the limit a failure answers 1031 instead, while
        // the right credentials still succeed and clear the count.
        const fail = (detail: ErrorDetail) =>
          [
            { _tag: "Error", detail: failures >= SIGN_IN_FAILURES_BEFORE_THROTTLE ? signInThrottled : detail },
            { ...s, own: { signInFailures: HashMap.set(s.own.signInFailures, key, failures + 1) } }
          ] as const
        if (login === "" || password === "") return [{ _tag: "Error", detail: unauthenticated }, s]
        const account = findAccountByLogin(s.core, login)
        if (account === undefined || account.password !== password) return fail(unauthenticated)
        if (account.twoFactorCode !== undefined) {
          if (code === "") return [{ _tag: "Error", detail: verificationCodeRequired }, s]
          if (code !== account.twoFactorCode) return fail(invalidVerificationCode)
        }
        const [token, core] = ensurePrimaryToken(s.core, account, fresh)
        const current = core.accounts.find((a) => a.id === account.id)!
        return [
          { _tag: "Ok", account: current, token },
          { core, own: { signInFailures: HashMap.remove(s.own.signInFailures, key) } }
        ]
      })
      if (result._tag === "Error") return plexTvError(req.json, result.detail)
      return userBody(req, 201, result.account, result.token, now)
    })

  const getUser = (req: Incoming) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const account = validToken((yield* ctx.get).core, req.token, false)
      if (account === undefined) return plexTvError(req.json, unauthenticated)
      return userBody(req, 200, account, req.token!, now)
    })

  const ping = (req: Incoming) =>
    Effect.map(ctx.get, (s) =>
      validToken(s.core, req.token, false) === undefined ?
        plexTvError(req.json, unauthenticated) :
        plexTvBody(req.json, 200, { pong: true }, `${XML_PROLOG}<pong>true</pong>\n`))

  const signOut = (req: Incoming) =>
    Effect.map(
      ctx.modify((s) =>
        validToken(s.core, req.token, false) === undefined ?
          [false, s] as const :
          [true, { ...s, core: { ...s.core, tokens: HashMap.remove(s.core.tokens, req.token!) } }] as const
      ),
      (ok) => ok ? HttpServerResponse.empty({ status: 204 }) : plexTvError(req.json, unauthenticated)
    )

  return [
    { host: "plexTv", method: "POST", path: "/users/signin", handle: signIn },
    { host: "plexTv", method: "GET", path: "/user", handle: getUser },
    { host: "plexTv", method: "GET", path: "/ping", handle: ping },
    { host: "plexTv", method: "DELETE", path: "/users/signout", handle: signOut }
  ]
}

// -------------------------------------------------------------------------------------------------
// Controls
// -------------------------------------------------------------------------------------------------

const controls = (ctx: AreaContext<AccountState>): AccountControls => ({
  addAccount: (options) =>
    Effect.gen(function*() {
      const joinedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const token = options.token ?? (yield* randomToken)
      const uuid = options.uuid ?? (yield* randomString(HEX, 16))
      const result = yield* ctx.modify((s): readonly [FakeAccount | PlexFakeError, Slice<AccountState>] => {
        if (findAccountByLogin(s.core, options.login) !== undefined) {
          const message = `PlexFake.addAccount: login ${JSON.stringify(options.login)} is already taken`
          return [new PlexFakeError({ message }), s]
        }
        if (HashMap.has(s.core.tokens, token)) {
          return [new PlexFakeError({ message: "PlexFake.addAccount: that token is already in use" }), s]
        }
        const at = options.login.indexOf("@")
        const username = options.username ?? (at > 0 ? options.login.slice(0, at) : options.login)
        const account: AccountRecord = {
          id: options.id ?? s.core.nextAccountId,
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
        const core = addToken(s.core, token, account.id, false)
        return [
          { id: account.id, uuid, login: account.login, username, email: account.email, token },
          {
            ...s,
            core: {
              ...core,
              accounts: [...core.accounts, account],
              nextAccountId: Math.max(core.nextAccountId, account.id) + 1
            }
          }
        ]
      })
      return result instanceof PlexFakeError ? yield* result : result
    }),
  issueToken: (login) =>
    Effect.flatMap(randomToken, (token) =>
      Effect.flatMap(
        ctx.modify((s) => {
          const account = findAccountByLogin(s.core, login)
          return account === undefined ?
            [false, s] as const :
            [true, { ...s, core: addToken(s.core, token, account.id, false) }] as const
        }),
        (ok) => ok ? Effect.succeed(token) : Effect.dieMessage(`PlexFake.issueToken: no account with login ${login}`)
      )),
  revokeToken: (token) =>
    ctx.update((s) => ({ ...s, core: { ...s.core, tokens: HashMap.remove(s.core.tokens, token) } })),
  isTokenValid: (token) => Effect.map(ctx.get, (s) => HashMap.has(s.core.tokens, token))
})

/** Sign-in, the user routes, and the account and token controls. */
export const area: Area<AccountState, AccountControls> = {
  name: "account",
  initial: Effect.succeed({ signInFailures: HashMap.empty() }),
  // The throttle is a fault a test provokes, so resetFaults clears it with the others.
  onResetFaults: () => ({ signInFailures: HashMap.empty() }),
  routes,
  controls
}
