/**
 * The models of `Resources`, declared once as tables (see `model.ts`), and the decoders the request
 * path uses for `GET /resources` (a JSON array, the v2 XML `<resources>` list, or the legacy
 * `<MediaContainer><Device>` document) and for a server's `GET /identity`. `Resources.ts`
 * re-exports the classes.
 * Public models (the decoders and endpoints here are internal).
 *
 * @since 0.2.0
 */
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as M from "./model.js"

// --- kinds of our own -----------------------------------------------------------------------------

/** `provides`: a comma list on the wire (`"client,player,pubsub-player"`), a list here. */
const commaList: M.Kind<ReadonlyArray<string>> = {
  type: Schema.Array(Schema.String),
  read: (u) => {
    if (typeof u === "string") return u.split(",").map((s) => s.trim()).filter((s) => s !== "")
    if (Array.isArray(u) && u.every((s) => typeof s === "string")) return u as ReadonlyArray<string>
    return M.Invalid
  },
  write: (list) => list.join(","),
  nested: false
}

/**
 * A resource's `accessToken`: `null` for client devices (and `""` in XML), so "no token" is a value
 * here, not an error.
 */
const optionalSecret: M.Kind<Option.Option<Redacted.Redacted<string>>> = {
  type: Schema.OptionFromSelf(Schema.RedactedFromSelf(Schema.String)),
  read: (u) =>
    u === null || u === ""
      ? Option.none()
      : typeof u === "string"
      ? Option.some(Redacted.make(u))
      : M.Invalid,
  write: (o) => Option.match(o, { onNone: () => null, onSome: Redacted.value }),
  nested: false
}

// --- ResourceConnection ---------------------------------------------------------------------------

const connectionFields = { ...M.connectionFields, IPv6: M.withDefault(M.flag, () => false) }

/**
 * One way to reach a resource: `uri` is the base URL to call (an `https` one is usually a
 * `*.plex.direct` name), `address`/`port` the bare host. `local` is on the LAN of the resource,
 * `relay` goes through Plex's relay (bandwidth-limited: a last resort). `relay` and `IPv6` default
 * to `false` (the legacy XML carries neither). Essential fields: `protocol`, `address`, `port`,
 * `uri`; a connection missing one is dropped from its resource's list (and counted).
 *
 * @since 0.2.0
 * @category models
 */
export class ResourceConnection extends Schema.Class<ResourceConnection>("ResourceConnection")(
  M.schemaFields(connectionFields)
) {}

const connection = M.classOf(connectionFields, (props) => new ResourceConnection(props, true))

// --- PlexResource ---------------------------------------------------------------------------------

const resourceFields = {
  name: M.required(M.text),
  clientIdentifier: M.required(M.text),
  product: M.withDefault(M.text, () => ""),
  productVersion: M.optional(M.nullableText),
  platform: M.optional(M.nullableText),
  platformVersion: M.optional(M.nullableText),
  device: M.optional(M.nullableText),
  provides: M.withDefault(commaList, () => []),
  owned: M.withDefault(M.flag, () => false),
  home: M.withDefault(M.flag, () => false),
  synced: M.optional(M.flag),
  presence: M.withDefault(M.flag, () => false),
  httpsRequired: M.withDefault(M.flag, () => false),
  publicAddressMatches: M.withDefault(M.flag, () => false),
  relay: M.withDefault(M.flag, () => false),
  dnsRebindingProtection: M.optional(M.flag),
  natLoopbackSupported: M.optional(M.flag),
  publicAddress: M.optional(M.nullableText),
  ownerId: M.optional(M.nullableNum),
  sourceTitle: M.optional(M.nullableText),
  createdAt: M.optional(M.date),
  lastSeenAt: M.optional(M.date),
  accessToken: M.withDefault(optionalSecret, () => Option.none()),
  connections: M.withDefault(M.list(connection), () => [])
}

/**
 * A device of the account, from `GET /resources`: a Plex Media Server (`provides` holds `"server"`)
 * or a client (a player, Plex Web…). For a server, `clientIdentifier` is its `machineIdentifier`,
 * and `accessToken` is the token **that server** accepts from this account: for a server the account
 * owns it is usually the account token, for a shared server a token of its own (the account token
 * there makes the server treat the caller as a guest). Client devices have no `accessToken`
 * (`Option.none()`). `owned` is false for shared servers, `home` true for a Plex Home's servers,
 * `presence` is "online", `ownerId`/`sourceTitle` name the owner of a shared server.
 *
 * Essential fields: `name` and `clientIdentifier`; a resource missing one is dropped from the list
 * (and counted, see `Resources.ResourceList`). Flags read booleans, 0/1 and "0"/"1" and default to
 * `false`; `provides` is split from its comma list; `createdAt`/`lastSeenAt` read ISO-8601 (v2) or
 * epoch seconds (legacy XML); an entry without `connections` (seen in real data) has none.
 *
 * @since 0.2.0
 * @category models
 */
export class PlexResource extends Schema.Class<PlexResource>("PlexResource")(M.schemaFields(resourceFields)) {
  /**
   * A Plex Media Server: `provides` holds `server`, or the product is "Plex Media Server" (real
   * data has shown a working server whose `provides` had gone stale).
   */
  get isServer(): boolean {
    return this.provides.includes("server") || this.product === "Plex Media Server"
  }
}

const resourceKind = M.classOf(resourceFields, (props) => new PlexResource(props, true))

// The legacy document names the list `Connection` (one element or several).
const legacyDevice: M.Kind<PlexResource> = {
  ...resourceKind,
  read: (u, issues, path) => {
    if (typeof u === "object" && u !== null && !Array.isArray(u)) {
      const o = u as Record<string, unknown>
      if (o.connections === undefined && o.Connection !== undefined) {
        const { Connection, ...rest } = o
        return resourceKind.read({ ...rest, connections: Connection }, issues, path)
      }
    }
    return resourceKind.read(u, issues, path)
  }
}

const resourceList = M.list(legacyDevice)

/**
 * What `listResources` returns: the resources that decoded, and `dropped`, how many entries were
 * left out because a field they cannot do without was missing or unreadable (the operation's span
 * also records it, as `plex.decode.dropped`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ResourceList extends ReadonlyArray<PlexResource> {
  readonly dropped: number
}

const withDropped = (list: ReadonlyArray<PlexResource>, dropped: number): ResourceList =>
  // Not enumerable: the list compares and prints like the plain array it is.
  Object.defineProperty([...list], "dropped", { value: dropped, enumerable: false }) as unknown as ResourceList

/**
 * `GET /resources` in all three forms: a JSON array; v2 XML, whose `<resources>` list the XML reader
 * already turns into an array; legacy XML `<MediaContainer><Device>…</MediaContainer>` (no `Device`:
 * no resources).
 *
 * @internal
 */
export const resourcesDecoder: M.Decoder<ResourceList> = {
  _tag: "Decoder",
  decode: (body, issues) => {
    let entries: unknown = body
    if (typeof body === "object" && body !== null && !Array.isArray(body)) {
      const container = body as Record<string, unknown>
      entries = container.Device ?? container.resource ?? []
      if (!Array.isArray(entries)) entries = [entries]
    }
    if (!Array.isArray(entries)) {
      issues.failure = "the body is neither a list of resources nor a MediaContainer of devices"
      return M.Invalid
    }
    const list = resourceList.read(entries, issues, "")
    if (list === M.Invalid || list === M.Absent) {
      issues.failure ??= "the body is not a list of resources"
      return M.Invalid
    }
    return withDropped(list, entries.length - list.length)
  }
}

// --- identity ---------------------------------------------------------------------------------------

const identityFields = {
  machineIdentifier: M.required(M.text),
  version: M.optional(M.text),
  claimed: M.optional(M.flag)
}

/**
 * A Plex Media Server's `GET /identity`: which server answered (`machineIdentifier`). It needs no
 * token and answers even a wrong one, so it tells "is this the right server", not "does my token
 * work".
 *
 * @internal
 */
export type Identity = M.Type<typeof identityFields>

/** @internal */
export const identityDecoder: M.Decoder<Identity> = M.decoder(M.struct(identityFields), "MediaContainer")

// --- ServerConnection -------------------------------------------------------------------------------

/**
 * A server reached: the `resource`, the `connection` that answered as that server, its `uri` (the
 * base URL for PMS operations), the server's own access `token`, and `latency`, how long its
 * `/identity` probe took.
 *
 * @since 0.2.0
 * @category models
 */
export class ServerConnection extends Schema.Class<ServerConnection>("ServerConnection")({
  resource: PlexResource,
  connection: ResourceConnection,
  uri: Schema.String,
  token: Schema.Redacted(Schema.String),
  latency: Schema.DurationFromMillis
}) {}
