/**
 * The Plex Home part of the resources area: `GET /home/users` (v2 JSON, legacy XML), `POST
 * /home/users/:uuid/switch` (403 / code 1041 on a missing or wrong PIN; otherwise 201 with the
 * member's user and a fresh token of theirs, valid on plex.tv), and `addHomeUser`. A member is an
 * account of the core (so its tokens work on plex.tv and `/resources`), and receives a token of its
 * own on each of its admin's servers.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Service } from "../PlexFake.js"
import { userJson, userXml } from "./account.js"
import type { Incoming, Route } from "./area.js"
import { PlexFakeError } from "./errors.js"
import type { HomeRecord, MemberRecord, ResourcesState } from "./servers.js"
import type { FakeHomeUser } from "./serverTypes.js"
import type { AccountRecord, AreaContext, CoreState, Slice } from "./state.js"
import { addToken, findAccountByLogin, HEX, randomString, randomToken, validToken } from "./state.js"
import type { ErrorDetail } from "./wire.js"
import { notFoundDetail, plexTvBody, plexTvError, unauthenticated, XML_PROLOG, xmlAttrs } from "./wire.js"

/** The `Service` members of the Home part. */
export type HomeControls = Pick<Service, "addHomeUser">

const pinRequired: ErrorDetail = { code: 1041, message: "A valid PIN is required to perform this action", status: 403 }

/** The Home `account` belongs to (as admin or member); a Home of one for an account in none. */
const homeOf = (own: ResourcesState, accountId: number): HomeRecord =>
  own.homes.find((h) => h.adminId === accountId || h.members.some((m) => m.accountId === accountId)) ??
    { adminId: accountId, members: [] }

interface Entry {
  readonly account: AccountRecord
  readonly admin: boolean
  readonly member: MemberRecord | undefined
}

const entriesOf = (core: CoreState, home: HomeRecord): ReadonlyArray<Entry> => {
  const out: Array<Entry> = []
  const admin = core.accounts.find((a) => a.id === home.adminId)
  if (admin !== undefined) out.push({ account: admin, admin: true, member: undefined })
  for (const member of home.members) {
    const account = core.accounts.find((a) => a.id === member.accountId)
    if (account !== undefined) out.push({ account, admin: false, member })
  }
  return out
}

const userEntry = ({ account, admin, member }: Entry) => ({
  id: account.id,
  uuid: account.uuid,
  title: account.title,
  username: member === undefined ? account.username : member.username,
  email: member === undefined ? account.email : member.email,
  thumb: `https://plex.tv/users/${account.uuid}/avatar?c=${account.joinedAt}`,
  hasPassword: member === undefined || member.username !== null,
  restricted: member?.restricted ?? false,
  restrictionProfile: member?.restrictionProfile ?? null,
  updatedAt: account.joinedAt,
  admin,
  guest: false,
  protected: member?.pin !== undefined
})

/** Routes of the Home part. */
export const routes = (ctx: AreaContext<ResourcesState>): ReadonlyArray<Route> => {
  const list = (req: Incoming) =>
    Effect.map(ctx.get, ({ core, own }) => {
      const account = validToken(core, req.token, false)
      if (account === undefined) return plexTvError(req.json, unauthenticated)
      const home = homeOf(own, account.id)
      const users = entriesOf(core, home).map(userEntry)
      const body = {
        id: home.adminId,
        name: `${users[0]?.title ?? "my"}'s home`,
        guestUserID: 0,
        guestUserUUID: "",
        guestEnabled: false,
        subscription: false,
        users
      }
      // The legacy XML form, the only XML body on record for this call.
      const xml = `${XML_PROLOG}<MediaContainer${
        xmlAttrs([["friendlyName", "myPlex"], ["identifier", "com.plexapp.plugins.myplex"], ["size", users.length]])
      }>\n${users.map((u) => `  <User${xmlAttrs(Object.entries(u))}/>\n`).join("")}</MediaContainer>\n`
      return plexTvBody(req.json, 200, body, xml)
    })

  const switchUser = (req: Incoming, params: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const fresh = yield* randomToken
      const now = yield* Clock.currentTimeMillis
      const uuid = decodeURIComponent(params[0] ?? "")
      const pin = req.query.get("pin") ?? undefined
      const result = yield* ctx.modify((s): readonly [ErrorDetail | Entry, Slice<ResourcesState>] => {
        const caller = validToken(s.core, req.token, false)
        if (caller === undefined) return [unauthenticated, s]
        const target = entriesOf(s.core, homeOf(s.own, caller.id)).find((e) => e.account.uuid === uuid)
        if (target === undefined) return [notFoundDetail, s]
        if (target.member?.pin !== undefined && pin !== target.member.pin) return [pinRequired, s]
        return [target, { ...s, core: addToken(s.core, fresh, target.account.id, false) }]
      })
      if (!("account" in result)) return plexTvError(req.json, result)
      const user = {
        ...userJson(result.account, fresh, now),
        home: true,
        homeAdmin: result.admin,
        restricted: result.member?.restricted ?? false,
        protected: result.member?.pin !== undefined
      }
      return plexTvBody(req.json, 201, user, userXml(result.account, fresh, now))
    })

  return [
    { host: "plexTv", method: "GET", path: "/home/users", handle: list },
    { host: "plexTv", method: "POST", path: /^\/home\/users\/([^/]+)\/switch$/, handle: switchUser }
  ]
}

/** Controls of the Home part. */
export const controls = (ctx: AreaContext<ResourcesState>): HomeControls => ({
  addHomeUser: (adminLogin, options) =>
    Effect.gen(function*() {
      const uuid = options.uuid ?? (yield* randomString(HEX, 16))
      const token = yield* randomToken
      const password = yield* randomToken
      const joinedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const { own } = yield* ctx.get
      const serverTokens = yield* Effect.forEach(own.servers, () => randomToken)
      const result = yield* ctx.modify((s): readonly [FakeHomeUser | PlexFakeError, Slice<ResourcesState>] => {
        const admin = findAccountByLogin(s.core, adminLogin)
        if (admin === undefined) {
          return [new PlexFakeError({ message: `PlexFake.addHomeUser: no account with login ${adminLogin}` }), s]
        }
        if (s.core.accounts.some((a) => a.uuid === uuid)) {
          return [new PlexFakeError({ message: "PlexFake.addHomeUser: that uuid is taken" }), s]
        }
        const account: AccountRecord = {
          id: s.core.nextAccountId,
          uuid,
          login: `home-${uuid}@plex.fake`,
          username: options.username ?? "",
          email: options.email ?? "",
          title: options.title,
          password,
          twoFactorCode: undefined,
          token,
          joinedAt
        }
        const member: MemberRecord = {
          accountId: account.id,
          pin: options.pin,
          restricted: options.restricted ?? false,
          restrictionProfile: options.restrictionProfile ?? null,
          username: options.username ?? null,
          email: options.email ?? null
        }
        const core = addToken(s.core, token, account.id, false)
        const home = s.own.homes.find((h) => h.adminId === admin.id)
        const homes = home === undefined
          ? [...s.own.homes, { adminId: admin.id, members: [member] }]
          : s.own.homes.map((h) => h === home ? { ...h, members: [...h.members, member] } : h)
        // The member gets a token of its own on each of its admin's servers.
        const servers = s.own.servers.map((server, i) =>
          server.ownerId === admin.id
            ? { ...server, tokens: [...server.tokens, [account.id, serverTokens[i] ?? `${token}${i}`] as const] }
            : server
        )
        return [
          { id: account.id, uuid, title: options.title, protected: options.pin !== undefined },
          {
            core: { ...core, accounts: [...core.accounts, account], nextAccountId: core.nextAccountId + 1 },
            own: { ...s.own, homes, servers }
          }
        ]
      })
      return result instanceof PlexFakeError ? yield* result : result
    })
})
