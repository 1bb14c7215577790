/**
 * The PIN model and its states, shared by `PinLogin` (which re-exports them) and its internals.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as M from "./model.js"

/**
 * What a PIN id must be, for `createPin` answers and `checkPin` alike: a positive safe integer.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isPinId = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u > 0

const pinId: M.Kind<number> = {
  ...M.num,
  read: (u, issues, path) => {
    const value = M.num.read(u, issues, path)
    return typeof value === "number" && !isPinId(value) ? M.Invalid : value
  }
}

// An approved PIN's token. XML renders a missing token as "", JSON as null: both mean "not yet".
const pinToken: M.Kind<Redacted.Redacted<string>> = {
  ...M.secret,
  read: (u, issues, path) => u === null || u === "" ? M.Absent : M.secret.read(u, issues, path)
}

const pinFields = {
  id: M.required(pinId),
  code: M.required(M.text),
  product: M.optional(M.nullableText),
  trusted: M.optional(M.flag),
  qr: M.optional(M.nullableText),
  clientIdentifier: M.optional(M.nullableText),
  expiresIn: M.optional(M.nullableNum),
  createdAt: M.optional(M.date),
  expiresAt: M.optional(M.date),
  authToken: M.optional(pinToken),
  newRegistration: M.optional(M.nullableFlag)
}

/**
 * A plex.tv PIN, from `POST /pins` and `GET /pins/{id}`. `authToken` is absent until a user approves
 * the PIN, then holds the account token (or, for a PIN created with a device key, the Plex JWT) as
 * `Redacted`. `expiresAt` is when plex.tv forgets the PIN (about 15 minutes for a 4-character code,
 * 30 for a strong one); `qr` is a QR image of the `plex.tv/link` URL. Decoding is lenient (see
 * `Models`): `id` (a positive integer, {@link isPinId}) and `code` are required, anything else
 * unreadable is dropped.
 *
 * @since 0.1.0
 * @category models
 */
export class Pin extends Schema.Class<Pin>("Pin")(M.schemaFields(pinFields)) {
  /** `true` once a user has approved the PIN and `authToken` holds the token. */
  get isApproved(): boolean {
    return this.authToken !== undefined
  }

  /** `true` for a short (4-character) code that a user can type at `https://plex.tv/link`. */
  get isShortCode(): boolean {
    return this.code.length < 10
  }
}

/** The single-pass decoder of a PIN body. @internal */
export const pin = M.decoder(M.classOf(pinFields, (props) => new Pin(props, true)))

/**
 * What a PIN is doing, as `pinStates` reports it after each check:
 *
 * - `Waiting { secondsLeft }`: not approved yet; `secondsLeft` counts down to the end of the wait
 *   (the earlier of the timeout and the PIN's expiry; `Infinity` when neither is known).
 * - `Approved { token }`: the account token, as `Redacted`. The stream ends.
 * - `Expired`: plex.tv no longer knows the PIN (HTTP 404 / code 1020) or its `expiresAt` passed.
 *   The stream ends.
 *
 * @since 0.1.0
 * @category models
 */
export type PinState = Data.TaggedEnum<{
  Waiting: { readonly secondsLeft: number }
  Approved: { readonly token: Redacted.Redacted<string> }
  Expired: Record<never, never>
}>

/**
 * Constructors, `$is` and `$match` for {@link PinState}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const PinState = Data.taggedEnum<PinState>()
