/**
 * The resources-and-home area: plex.tv's `GET /resources` (each account's servers, owned, shared
 * and of its Home, with the token each server accepts from that account, plus one client device),
 * the Plex Home routes (`home.ts`), the fake servers themselves (`servers.ts`, each connection at an
 * origin of its own) and their controls.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Service } from "../PlexFake.js"
import type { Area, AreaEnv, Incoming, Route } from "./area.js"
import { PlexFakeError } from "./errors.js"
import * as Home from "./home.js"
import type { ConnectionRecord, ResourcesState, ServerRecord } from "./servers.js"
import { connectionApp, connectionWire, initialState, PMS_VERSION } from "./servers.js"
import type { FakeServer } from "./serverTypes.js"
import type { AccountRecord, AreaContext, CoreState } from "./state.js"
import { findAccountByLogin, HEX, randomString, randomToken, validToken } from "./state.js"
import { plexTvBody, plexTvError, unauthenticated, XML_PROLOG, xmlAttrs, type XmlScalar } from "./wire.js"

/** The `Service` members this area implements. */
export type ResourcesControls =
  & Pick<Service, "addServer" | "setConnectionBehaviour" | "serverRequests">
  & Home.HomeControls

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")

/** How `account` sees `server`, if it may use it: its token there, and the flags plex.tv reports. */
const relationOf = (
  own: ResourcesState,
  server: ServerRecord,
  account: AccountRecord
): { readonly token: string; readonly owned: boolean; readonly home: boolean } | undefined => {
  const token = server.tokens.find(([id]) => id === account.id)?.[1]
  if (token === undefined) return undefined
  if (server.ownerId === account.id) return { token, owned: true, home: false }
  const home = own.homes.some((h) => h.adminId === server.ownerId && h.members.some((m) => m.accountId === account.id))
  return { token, owned: false, home }
}

interface Device {
  readonly [attribute: string]: unknown
  readonly connections: ReadonlyArray<Record<string, XmlScalar>>
}

const serverDevice = (
  core: CoreState,
  server: ServerRecord,
  connections: ReadonlyArray<ConnectionRecord>,
  relation: NonNullable<ReturnType<typeof relationOf>>
): Device => {
  const owner = core.accounts.find((a) => a.id === server.ownerId)
  return {
    name: server.name,
    product: "Plex Media Server",
    productVersion: PMS_VERSION,
    platform: "Linux",
    platformVersion: "6.1.0",
    device: "PC",
    clientIdentifier: server.machineIdentifier,
    createdAt: iso(server.createdAt),
    lastSeenAt: iso(server.createdAt),
    provides: "server",
    ownerId: relation.owned ? null : server.ownerId,
    sourceTitle: relation.owned ? null : owner?.username ?? null,
    publicAddress: "127.0.0.1",
    accessToken: relation.token,
    owned: relation.owned,
    home: relation.home,
    synced: false,
    relay: connections.some((c) => c.relay),
    presence: true,
    httpsRequired: false,
    publicAddressMatches: true,
    dnsRebindingProtection: false,
    natLoopbackSupported: false,
    connections: connections.map((c) => ({ ...connectionWire(c), IPv6: false }))
  }
}

// Every account also sees the app it uses, so a caller has a client to filter out.
const clientDevice = (account: AccountRecord): Device => ({
  name: "Plex Web (Chrome)",
  product: "Plex Web",
  productVersion: "4.145.1",
  platform: "Chrome",
  platformVersion: "131.0",
  device: "Linux",
  clientIdentifier: `plex-web-${account.uuid}`,
  createdAt: iso(account.joinedAt),
  lastSeenAt: iso(account.joinedAt),
  provides: "client,player,pubsub-player",
  ownerId: null,
  sourceTitle: null,
  publicAddress: "127.0.0.1",
  accessToken: null,
  owned: true,
  home: false,
  synced: false,
  relay: false,
  presence: true,
  httpsRequired: false,
  publicAddressMatches: true,
  connections: []
})

// plex.tv's v2 XML: <resources><resource …><connections><connection …/></connections></resource>.
const devicesXml = (devices: ReadonlyArray<Device>): string =>
  `${XML_PROLOG}<resources>\n${
    devices.map(({ connections, ...attrs }) =>
      `<resource${xmlAttrs(Object.entries(attrs) as Array<[string, XmlScalar]>)}>\n  <connections>\n${
        connections.map((c) => `    <connection${xmlAttrs(Object.entries(c))}/>\n`).join("")
      }  </connections>\n</resource>\n`
    ).join("")
  }</resources>\n`

const routes = (ctx: AreaContext<ResourcesState>): ReadonlyArray<Route> => {
  const resources = (req: Incoming) =>
    Effect.map(ctx.get, ({ core, own }) => {
      const account = validToken(core, req.token, false)
      if (account === undefined) return plexTvError(req.json, unauthenticated)
      const withRelay = req.query.get("includeRelay") === "1"
      const devices: Array<Device> = [clientDevice(account)]
      for (const server of own.servers) {
        const relation = relationOf(own, server, account)
        if (relation === undefined) continue
        const connections = own.connections.filter((c) =>
          c.machineIdentifier === server.machineIdentifier && (withRelay || !c.relay)
        )
        devices.push(serverDevice(core, server, connections, relation))
      }
      return plexTvBody(req.json, 200, devices, devicesXml(devices))
    })
  return [{ host: "plexTv", method: "GET", path: "/resources", handle: resources }, ...Home.routes(ctx)]
}

const fakeError = (message: string) => new PlexFakeError({ message: `PlexFake.${message}` })

const controls = (ctx: AreaContext<ResourcesState>, env: AreaEnv): ResourcesControls => ({
  addServer: (options) =>
    Effect.gen(function*() {
      const { core, own } = yield* ctx.get
      const owner = findAccountByLogin(core, options.owner)
      if (owner === undefined) return yield* fakeError(`addServer: no account with login ${options.owner}`)
      const shared: Array<AccountRecord> = []
      for (const login of options.sharedWith ?? []) {
        const account = findAccountByLogin(core, login)
        if (account === undefined) return yield* fakeError(`addServer: no account with login ${login}`)
        shared.push(account)
      }
      const machineIdentifier = options.machineIdentifier ?? (yield* randomString(HEX, 40))
      if (own.servers.some((s) => s.machineIdentifier === machineIdentifier)) {
        return yield* fakeError("addServer: that machineIdentifier is taken")
      }
      const members = own.homes.find((h) => h.adminId === owner.id)?.members ?? []
      const ownerToken = options.accessToken ?? (yield* randomToken)
      const others = yield* Effect.forEach([...shared, ...members], () => randomToken)
      const tokens: Array<readonly [number, string]> = [
        [owner.id, ownerToken],
        ...shared.map((a, i) => [a.id, others[i]] as const),
        ...members.map((m, i) => [m.accountId, others[shared.length + i]] as const)
      ]
      const createdAt = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const connections: Array<ConnectionRecord> = []
      for (const spec of options.connections) {
        const behaviour = spec.behaviour ?? "healthy"
        const id = yield* ctx.modify((
          s
        ) => [s.own.nextConnection, { ...s, own: { ...s.own, nextConnection: s.own.nextConnection + 1 } }])
        const uri = yield* env.host.open(connectionApp(ctx, id), behaviour === "refused")
        connections.push({
          id,
          machineIdentifier,
          uri,
          local: spec.local ?? false,
          relay: spec.relay ?? false,
          behaviour
        })
      }
      const server: ServerRecord = {
        name: options.name,
        machineIdentifier,
        ownerId: owner.id,
        tokens,
        sharedWith: shared.map((a) => a.id),
        transient: [],
        createdAt
      }
      yield* ctx.update((s) => ({
        ...s,
        own: { ...s.own, servers: [...s.own.servers, server], connections: [...s.own.connections, ...connections] }
      }))
      const result: FakeServer = {
        name: server.name,
        machineIdentifier,
        accessToken: ownerToken,
        sharedTokens: Object.fromEntries(shared.map((a, i) => [a.login, others[i]])),
        connections: connections.map(({ behaviour, local, relay, uri }) => ({ uri, local, relay, behaviour }))
      }
      return result
    }),
  setConnectionBehaviour: (uri, behaviour) =>
    Effect.gen(function*() {
      const found = yield* ctx.modify((s) => {
        const connection = s.own.connections.find((c) => c.uri === uri)
        if (connection === undefined) return [false, s] as const
        const connections = s.own.connections.map((c) => c.uri === uri ? { ...c, behaviour } : c)
        return [true, { ...s, own: { ...s.own, connections } }] as const
      })
      if (!found) return yield* fakeError(`setConnectionBehaviour: no fake server connection at ${uri}`)
      yield* env.host.setRefusing(uri, behaviour === "refused")
    }),
  serverRequests: Effect.map(ctx.get, (s) => s.own.requests),
  ...Home.controls(ctx)
})

/** Resources, Plex Home and the fake servers. */
export const area: Area<ResourcesState, ResourcesControls> = {
  name: "resources",
  initial: Effect.succeed(initialState),
  routes,
  controls
}
