/**
 * The Plex Media Server area: transient tokens (`/security/token`), source connection information
 * (`GET /security/resources?source=…`) and the device bodies it answers with, and the source and
 * restart controls. The transient tokens it mints are core tokens marked transient, so revoking
 * and checking them works like any other token.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { FakeDevice, Service } from "../PlexFake.js"
import type { Area, Incoming, Route } from "./area.js"
import type { AreaContext } from "./state.js"
import { addToken, randomUuid, validToken } from "./state.js"
import { escapeXml, pmsBody, pmsError, XML_PROLOG, xmlAttrs } from "./wire.js"

/** The PMS area's own state: the device each source answers with. */
export interface PmsState {
  readonly sources: HashMap.HashMap<string, FakeDevice>
}

/** The `Service` members the PMS area implements. */
export type PmsControls = Pick<Service, "addSource" | "restartServer">

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

const routes = (ctx: AreaContext<PmsState>): ReadonlyArray<Route> => {
  const mintTransient = (accountId: number) =>
    Effect.flatMap(randomUuid, (uuid) => {
      const token = `transient-${uuid}`
      return Effect.as(ctx.update((s) => ({ ...s, core: addToken(s.core, token, accountId, true) })), token)
    })

  const transientToken = (req: Incoming) =>
    Effect.gen(function*() {
      const account = validToken((yield* ctx.get).core, req.token, true)
      if (account === undefined) return pmsError(401)
      if (req.query.get("type") !== "delegation" || req.query.get("scope") !== "all") return pmsError(400)
      const token = yield* mintTransient(account.id)
      return pmsBody(
        req.json,
        { MediaContainer: { size: 0, token } },
        `${XML_PROLOG}<MediaContainer size="0" token="${escapeXml(token)}"></MediaContainer>\n`
      )
    })

  const sourceResources = (req: Incoming) =>
    Effect.gen(function*() {
      const s = yield* ctx.get
      const account = validToken(s.core, req.token, true)
      if (account === undefined) return pmsError(401)
      const source = req.query.get("source")
      if (source === null || source === "") return pmsError(400)
      const device = Option.getOrUndefined(HashMap.get(s.own.sources, source))
      if (device === undefined) return pmsError(404)
      // The device's access token is a fresh transient token, so a restart revokes it too.
      const token = yield* mintTransient(account.id)
      return pmsBody(req.json, deviceJson(device, token), deviceXml(device, token))
    })

  return [
    { host: "pms", method: "*", path: "/security/token", handle: transientToken },
    { host: "pms", method: ["GET", "HEAD"], path: "/security/resources", handle: sourceResources }
  ]
}

const controls = (ctx: AreaContext<PmsState>): PmsControls => ({
  addSource: (source, device) =>
    ctx.update((s) => ({ ...s, own: { sources: HashMap.set(s.own.sources, source, device) } })),
  restartServer: ctx.update((s) => ({
    ...s,
    core: { ...s.core, tokens: HashMap.filter(s.core.tokens, (record) => !record.transient) }
  }))
})

/** The PMS routes and their controls. */
export const area: Area<PmsState, PmsControls> = {
  name: "pms",
  initial: Effect.succeed({ sources: HashMap.empty() }),
  routes,
  controls
}
