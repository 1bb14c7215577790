/**
 * The fake Plex Media Servers of the resources area: their state, and the `HttpApp` each of their
 * connections is served with (at an origin of its own, see `host.ts`). A fake server answers
 * `/identity` to anyone (as a real one does), and `/`, `/security/token` and `/security/resources`
 * only with a token of its own: the one it gave its owner, each account it is shared with and each
 * member of its owner's Home, or a transient token it minted. It never accepts an account token.
 * Every request is recorded with the token it carried and how it ended (answered, or aborted by the
 * client).
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import type { ConnectionBehaviour, FakeServerRequest } from "./serverTypes.js"
import type { AreaContext } from "./state.js"
import { randomUuid } from "./state.js"
import { escapeXml, pmsBody, pmsError, XML_PROLOG, xmlAttrs } from "./wire.js"

/** A fake server as the area keeps it. */
export interface ServerRecord {
  readonly name: string
  readonly machineIdentifier: string
  readonly ownerId: number
  /** The token this server accepts from each account that may use it, by account id. */
  readonly tokens: ReadonlyArray<readonly [number, string]>
  /** Accounts it is shared with (outside the owner's Home). */
  readonly sharedWith: ReadonlyArray<number>
  /** Transient tokens it minted, with the account each stands for. */
  readonly transient: ReadonlyArray<readonly [string, number]>
  /** Epoch seconds. */
  readonly createdAt: number
}

/** One connection: served at `uri` (an origin of its own), behaving as `behaviour`. */
export interface ConnectionRecord {
  readonly id: number
  readonly machineIdentifier: string
  readonly uri: string
  readonly local: boolean
  readonly relay: boolean
  readonly behaviour: ConnectionBehaviour
}

/** A connection as `/security/resources` and `/resources` describe it, from where it is served. */
export const connectionWire = (c: Pick<ConnectionRecord, "uri" | "local" | "relay">) => {
  const url = new URL(c.uri)
  return {
    protocol: url.protocol.slice(0, -1),
    address: url.hostname,
    port: Number(url.port === "" ? 80 : url.port),
    uri: c.uri,
    local: c.local,
    relay: c.relay
  }
}

/** A member of a Plex Home (the admin is the Home's `adminId`, not a member). */
export interface MemberRecord {
  readonly accountId: number
  readonly pin: string | undefined
  readonly restricted: boolean
  readonly restrictionProfile: string | null
  readonly username: string | null
  readonly email: string | null
}

/** A Plex Home: its admin's account id and its members. */
export interface HomeRecord {
  readonly adminId: number
  readonly members: ReadonlyArray<MemberRecord>
}

/** The resources area's own state. */
export interface ResourcesState {
  readonly servers: ReadonlyArray<ServerRecord>
  readonly connections: ReadonlyArray<ConnectionRecord>
  readonly homes: ReadonlyArray<HomeRecord>
  readonly requests: ReadonlyArray<FakeServerRequest>
  readonly nextConnection: number
}

/** A fresh area state. */
export const initialState: ResourcesState = {
  servers: [],
  connections: [],
  homes: [],
  requests: [],
  nextConnection: 1
}

/** The account a token stands for on this server, if it is one of the server's own. */
export const tokenAccount = (server: ServerRecord, token: string | undefined): number | undefined => {
  if (token === undefined) return undefined
  return server.tokens.find(([, t]) => t === token)?.[0] ?? server.transient.find(([t]) => t === token)?.[1]
}

/** The version every fake server reports. */
export const PMS_VERSION = "1.41.3.9314-a0bfb8370"

// What answers on a "wrong-server" connection: some other server on that address.
const otherServer = (machineIdentifier: string) => `0ther${machineIdentifier.slice(5)}`

const identityBody = (json: boolean, machineIdentifier: string) =>
  pmsBody(
    json,
    { MediaContainer: { size: 0, claimed: true, machineIdentifier, version: PMS_VERSION } },
    `${XML_PROLOG}<MediaContainer${
      xmlAttrs([["size", 0], ["claimed", true], ["machineIdentifier", machineIdentifier], ["version", PMS_VERSION]])
    }>\n</MediaContainer>\n`
  )

const rootBody = (json: boolean, server: ServerRecord) =>
  pmsBody(
    json,
    {
      MediaContainer: {
        size: 0,
        friendlyName: server.name,
        machineIdentifier: server.machineIdentifier,
        version: PMS_VERSION
      }
    },
    `${XML_PROLOG}<MediaContainer${
      xmlAttrs([["size", 0], ["friendlyName", server.name], ["machineIdentifier", server.machineIdentifier], [
        "version",
        PMS_VERSION
      ]])
    }>\n</MediaContainer>\n`
  )

const deviceBody = (
  json: boolean,
  server: ServerRecord,
  connections: ReadonlyArray<ConnectionRecord>,
  token: string
) => {
  const parts = connections.map(connectionWire)
  const xmlConnections = parts.map((p) => `\t\t<Connection${xmlAttrs(Object.entries(p))} />\n`).join("")
  return pmsBody(
    json,
    {
      MediaContainer: {
        size: 1,
        Device: { name: server.name, clientIdentifier: server.machineIdentifier, accessToken: token, Connection: parts }
      }
    },
    `${XML_PROLOG}<MediaContainer size="1">\n\t<Device${
      xmlAttrs([["name", server.name], ["clientIdentifier", server.machineIdentifier], ["accessToken", token]])
    }>\n${xmlConnections}\t</Device>\n</MediaContainer>\n`
  )
}

/**
 * The app of one connection. It reads the connection's state when a request arrives; a connection
 * that no longer exists (after `reset`) answers 404.
 */
export const connectionApp = (ctx: AreaContext<ResourcesState>, connectionId: number): HttpApp.Default =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://pms.fake")
    const path = url.pathname.length > 1 && url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname
    const token = request.headers["x-plex-token"] || undefined
    const json = (request.headers["accept"] ?? "").toLowerCase().includes("application/json")
    const method = request.method.toUpperCase()

    const found = yield* ctx.modify((s) => {
      const connection = s.own.connections.find((c) => c.id === connectionId)
      const server = connection && s.own.servers.find((r) => r.machineIdentifier === connection.machineIdentifier)
      if (connection === undefined || server === undefined) return [undefined, s] as const
      const entry: FakeServerRequest = {
        server: server.name,
        uri: connection.uri,
        method,
        path,
        token,
        outcome: "pending"
      }
      const index = s.own.requests.length
      return [{ connection, index }, { ...s, own: { ...s.own, requests: [...s.own.requests, entry] } }] as const
    })
    if (found === undefined) return pmsError(404)
    const { connection, index } = found
    const settle = (outcome: FakeServerRequest["outcome"]) =>
      ctx.update((s) => {
        const entry = s.own.requests[index]
        if (entry === undefined || entry.uri !== connection.uri) return s
        const requests = s.own.requests.slice()
        requests[index] = { ...entry, outcome }
        return { ...s, own: { ...s.own, requests } }
      })

    const answer = Effect.gen(function*() {
      if (typeof connection.behaviour === "object") yield* Effect.sleep(connection.behaviour.slow)
      const s = yield* ctx.get
      const server = s.own.servers.find((r) => r.machineIdentifier === connection.machineIdentifier)
      if (server === undefined) return pmsError(404)
      const wrong = connection.behaviour === "wrong-server"
      if (path === "/identity") {
        return identityBody(json, wrong ? otherServer(server.machineIdentifier) : server.machineIdentifier)
      }
      const accountId = wrong ? undefined : tokenAccount(server, token)
      const known = path === "/" || path === "/security/token" || path === "/security/resources"
      if (!known) return pmsError(404)
      if (accountId === undefined) return pmsError(401)
      if (path === "/") return rootBody(json, server)
      if (path === "/security/token") {
        if (url.searchParams.get("type") !== "delegation" || url.searchParams.get("scope") !== "all") {
          return pmsError(400)
        }
      } else if (url.searchParams.get("source") !== `server://${server.machineIdentifier}`) {
        return pmsError(url.searchParams.get("source") ? 404 : 400)
      }
      const minted = `transient-${yield* randomUuid}`
      yield* ctx.update((state) => ({
        ...state,
        own: {
          ...state.own,
          servers: state.own.servers.map((r) =>
            r.machineIdentifier === server.machineIdentifier
              ? { ...r, transient: [...r.transient, [minted, accountId] as const] }
              : r
          )
        }
      }))
      if (path === "/security/resources") {
        const connections = s.own.connections.filter((c) => c.machineIdentifier === server.machineIdentifier)
        return deviceBody(json, server, connections, minted)
      }
      return pmsBody(
        json,
        { MediaContainer: { size: 0, token: minted } },
        `${XML_PROLOG}<MediaContainer size="0" token="${escapeXml(minted)}"></MediaContainer>\n`
      )
    })
    // Interruptible: a client that gives up (a losing probe) ends a slow answer, and it is recorded.
    return yield* answer.pipe(
      Effect.interruptible,
      Effect.onInterrupt(() => settle("aborted")),
      Effect.tap(() => settle("answered"))
    )
  })
