/**
 * The HomeUsers operations as endpoints of the one request path, and the `HomeUser` model
 * (re-exported by `HomeUsers.ts`).
 * Public models (the decoders and endpoints here are internal).
 *
 * @since 0.2.0
 */
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { kinds, type PlexUser } from "../Models.js"
import * as M from "./model.js"
import * as Request from "./request.js"

const module = "HomeUsers"

const homeUserFields = {
  id: M.required(M.num),
  uuid: M.required(M.text),
  title: M.withDefault(M.text, () => ""),
  username: M.optional(M.nullableText),
  email: M.optional(M.nullableText),
  friendlyName: M.optional(M.nullableText),
  thumb: M.optional(M.text),
  hasPassword: M.optional(M.flag),
  admin: M.withDefault(M.flag, () => false),
  guest: M.withDefault(M.flag, () => false),
  restricted: M.withDefault(M.flag, () => false),
  restrictionProfile: M.optional(M.nullableText),
  protected: M.withDefault(M.flag, () => false),
  home: M.optional(M.flag),
  updatedAt: M.optional(M.date)
}

/**
 * A member of the Plex Home, from `GET /home/users`: `admin` for the Home's owner, `restricted`
 * (with its `restrictionProfile`, e.g. `"little_kid"`) for a managed user, `protected` when the
 * member has a PIN (switching to them needs it). Managed users have no `username` or `email`
 * (`null` in JSON, `""` in the legacy XML). Essential fields: `id` and `uuid` (`switchHomeUser`
 * takes the `uuid`); a member missing one is dropped from the list and counted on the span.
 * Flags read booleans, 0/1 and "0"/"1" and default to `false`.
 *
 * @since 0.2.0
 * @category models
 */
export class HomeUser extends Schema.Class<HomeUser>("HomeUser")(M.schemaFields(homeUserFields)) {}

const members = M.list(M.classOf(homeUserFields, (props) => new HomeUser(props, true)))

// v2 JSON `{ …, users: [...] }`, legacy XML `<MediaContainer …><User …/></MediaContainer>`, and the
// bare array one client reports having seen.
const homeUsersDecoder: M.Decoder<ReadonlyArray<HomeUser>> = {
  _tag: "Decoder",
  decode: (body, issues) => {
    let entries: unknown = body
    if (typeof body === "object" && body !== null && !Array.isArray(body)) {
      const home = body as Record<string, unknown>
      entries = home.users ?? home.User ?? []
    }
    const list = members.read(entries, issues, "users")
    if (list === M.Invalid || list === M.Absent) {
      issues.failure ??= "the body holds no list of home users"
      return M.Invalid
    }
    return list
  }
}

/** The input of `switchHomeUser`, with the PIN already `Redacted`. @internal */
export interface SwitchInput {
  readonly uuid: string
  readonly pin: Redacted.Redacted<string> | undefined
}

/** @internal */
export const endpoints = {
  listHomeUsers: Request.endpoint<void, ReadonlyArray<HomeUser>>({
    module,
    operation: "listHomeUsers",
    host: "plexTv",
    method: "GET",
    path: () => "/home/users",
    token: "required",
    idempotent: true,
    success: homeUsersDecoder
  }),
  switchHomeUser: Request.endpoint<SwitchInput, PlexUser>({
    module,
    operation: "switchHomeUser",
    host: "plexTv",
    method: "POST",
    path: (input) => `/home/users/${encodeURIComponent(input.uuid)}/switch`,
    token: "required",
    // It mints a token for the member: never sent twice.
    idempotent: false,
    validate: (input) =>
      typeof input.uuid !== "string" || input.uuid.trim() === ""
        ? "uuid must not be empty (the member's uuid from listHomeUsers)"
        : input.pin !== undefined && Redacted.value(input.pin) === ""
        ? "pin must not be empty when given"
        : undefined,
    // The PIN travels in the query, as Plex's own apps send it; as a Redacted value it is scrubbed
    // from errors and keeps the URL-recording http.client span off.
    query: (input) => ({ pin: input.pin }),
    success: M.decoder(kinds.user)
  })
}
