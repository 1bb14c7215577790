/**
 * The data the SDK decodes and sends, as `Schema.Class`es.
 *
 * Decoding is lenient where real Plex data differ from the spec, under one rule: a model fails only
 * when a field it cannot do without is absent or unreadable. Every other field is tolerant: flags
 * accept booleans, 0/1 and "0"/"1"; numbers accept numeric strings; dates accept epoch seconds, ISO
 * strings and "YYYY-MM-DD HH:MM:SS UTC"; single children may be an object or an array; and a value
 * of the wrong type (the spec's own `/user` example sends `"entitlements": "[]"`) is **dropped**:
 * the field is absent (a list loses only the unreadable element), the rest of the model decodes as
 * usual, and the operation's span records how many values were dropped and where
 * (`plex.decode.dropped`, `plex.decode.dropped_fields`: paths only, never values).
 *
 * Fields each model cannot do without:
 *
 * - `PlexUser`: `id` and `uuid` (they identify the account), `authToken` (the operations that return
 *   a user exist to return it), and a name: `username` or `title`, at least one non-empty (managed
 *   users have an empty `username`; the other one is then `""`). `email` is `""` when plex.tv sent
 *   none (managed users) or an unreadable one.
 * - `TransientToken`: `token`.
 * - `SourceDevice`: `name`, `clientIdentifier`; `SourceConnection`: `protocol`, `address`, `port`,
 *   `uri` (without them there is nothing to connect to; a connection lacking one is dropped from
 *   its device's list).
 *
 * Every token-like value (`authToken`, transient tokens, `accessToken`, service tokens and secrets)
 * decodes as `Redacted`, so it cannot leak through logs or `JSON.stringify`.
 * `Schema.decodeUnknown(PlexUser)` applies the same rule; the operations use an equivalent
 * single-pass decoder that also counts what it dropped.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as M from "./internal/model.js"

// --- user ---------------------------------------------------------------------------------------

// The fields real `subscriptions[]` items share with `pastSubscriptions[]` items.
const billingPeriodFields = {
  id: M.optional(M.id),
  mode: M.optional(M.nullableText),
  type: M.optional(M.nullableText),
  state: M.optional(M.nullableText),
  renewsAt: M.optional(M.date),
  endsAt: M.optional(M.date)
}

const subscription = M.struct({
  active: M.optional(M.flag),
  subscribedAt: M.optional(M.date),
  status: M.optional(M.nullableText),
  paymentService: M.optional(M.nullableText),
  plan: M.optional(M.nullableText),
  features: M.optional(M.textList),
  ...billingPeriodFields
})

/**
 * An entry of `subscription` / `subscriptions[]`. Real `subscriptions[]` items have a different shape
 * from `subscription` (`{id, mode, renewsAt, endsAt, type, transfer, state}`), so both shapes' fields
 * are here, all optional.
 *
 * @since 0.1.0
 * @category models
 */
export const Subscription: Schema.Schema<Subscription, unknown> = M.schemaOf(subscription)

/**
 * The decoded type of {@link Subscription}.
 *
 * @since 0.1.0
 * @category models
 */
export type Subscription = typeof subscription.type.Type

const pastSubscription = M.struct({
  ...billingPeriodFields,
  canceled: M.optional(M.flag),
  gracePeriod: M.optional(M.flag),
  onHold: M.optional(M.flag),
  canReactivate: M.optional(M.flag),
  canUpgrade: M.optional(M.flag),
  canDowngrade: M.optional(M.flag),
  canConvert: M.optional(M.flag),
  transfer: M.optional(M.nullableText)
})

/**
 * An item of `pastSubscriptions[]` (sign-in responses and `/user`).
 *
 * @since 0.1.0
 * @category models
 */
export const PastSubscription: Schema.Schema<PastSubscription, unknown> = M.schemaOf(pastSubscription)

/**
 * The decoded type of {@link PastSubscription}.
 *
 * @since 0.1.0
 * @category models
 */
export type PastSubscription = typeof pastSubscription.type.Type

const userProfile = M.struct({
  autoSelectAudio: M.optional(M.flag),
  defaultAudioLanguage: M.optional(M.nullableText),
  defaultAudioAccessibility: M.optional(M.nullableNum),
  defaultAudioLanguages: M.optional(M.nullable(M.textList)),
  defaultSubtitleLanguage: M.optional(M.nullableText),
  defaultSubtitleLanguages: M.optional(M.nullable(M.textList)),
  autoSelectSubtitle: M.optional(M.nullableNum),
  defaultSubtitleAccessibility: M.optional(M.nullableNum),
  defaultSubtitleForced: M.optional(M.nullableNum),
  watchedIndicator: M.optional(M.nullableNum),
  mediaReviewsVisibility: M.optional(M.nullableNum),
  mediaReviewsLanguages: M.optional(M.nullable(M.textList))
})

/**
 * The user's playback profile. The spec's enums run 0..3; older accounts omit several fields.
 *
 * @since 0.1.0
 * @category models
 */
export const UserProfile: Schema.Schema<UserProfile, unknown> = M.schemaOf(userProfile)

/**
 * The decoded type of {@link UserProfile}.
 *
 * @since 0.1.0
 * @category models
 */
export type UserProfile = typeof userProfile.type.Type

const userService = M.struct({
  identifier: M.required(M.text),
  endpoint: M.required(M.text),
  token: M.optional(M.nullableSecret),
  secret: M.optional(M.nullableSecret),
  status: M.optional(M.nullableText)
})

/**
 * A third-party service entry of the user (`services[]`). Real data often omit `token` and `secret`;
 * an entry without `identifier` or `endpoint` is dropped from the list.
 *
 * @since 0.1.0
 * @category models
 */
export const UserService: Schema.Schema<UserService, unknown> = M.schemaOf(userService)

/**
 * The decoded type of {@link UserService}.
 *
 * @since 0.1.0
 * @category models
 */
export type UserService = typeof userService.type.Type

const userFields = {
  id: M.required(M.num),
  uuid: M.required(M.text),
  username: M.withDefault(M.text, () => ""),
  title: M.withDefault(M.text, () => ""),
  email: M.withDefault(M.text, () => ""),
  authToken: M.required(M.secret),
  friendlyName: M.optional(M.text),
  locale: M.optional(M.nullableText),
  confirmed: M.optional(M.flag),
  joinedAt: M.optional(M.date),
  emailOnlyAuth: M.optional(M.flag),
  hasPassword: M.optional(M.flag),
  protected: M.optional(M.flag),
  thumb: M.optional(M.text),
  mailingListStatus: M.optional(M.nullableText),
  mailingListActive: M.optional(M.flag),
  scrobbleTypes: M.optional(M.text),
  country: M.optional(M.nullableText),
  subscription: M.optional(subscription),
  subscriptionDescription: M.optional(M.nullableText),
  subscriptions: M.optional(M.list(subscription)),
  pastSubscriptions: M.optional(M.list(pastSubscription)),
  trials: M.optional(M.list(M.unknown)),
  restricted: M.optional(M.flag),
  anonymous: M.optional(M.nullableFlag),
  home: M.optional(M.flag),
  guest: M.optional(M.flag),
  homeSize: M.optional(M.num),
  homeAdmin: M.optional(M.flag),
  maxHomeSize: M.optional(M.num),
  rememberExpiresAt: M.optional(M.date),
  profile: M.optional(M.oneOrFirst(userProfile)),
  entitlements: M.optional(M.textList),
  roles: M.optional(M.textList),
  services: M.optional(M.list(userService)),
  adsConsent: M.optional(M.nullableFlag),
  adsConsentSetAt: M.optional(M.date),
  adsConsentReminderAt: M.optional(M.date),
  experimentalFeatures: M.optional(M.flag),
  twoFactorEnabled: M.optional(M.flag),
  backupCodesCreated: M.optional(M.flag),
  attributionPartner: M.optional(M.nullableText),
  restrictionProfile: M.optional(M.nullableText),
  /** The hashed Plex Home PIN (deprecated by Plex); redacted all the same. */
  pin: M.optional(M.secret)
}

const hasName = (user: { readonly username: string; readonly title: string }): string | undefined =>
  user.username === "" && user.title === "" ? "neither \"username\" nor \"title\" holds a name" : undefined

/**
 * The plex.tv user account, from `GET /user`, sign-in and a home-user switch. `authToken` is the
 * account token, as `Redacted`: read it with `Redacted.value` only where you send or store it.
 *
 * @since 0.1.0
 * @category models
 */
export class PlexUser extends Schema.Class<PlexUser>("PlexUser")(
  Schema.Struct(M.schemaFields(userFields)).pipe(Schema.filter((user) => hasName(user) ?? true))
) {}

// --- PMS ----------------------------------------------------------------------------------------

const transientTokenFields = { token: M.required(M.secret) }

/**
 * A transient PMS token (`transient-<uuid>`): the caller's access level, valid up to 48 hours,
 * destroyed when the server restarts.
 *
 * @since 0.1.0
 * @category models
 */
export class TransientToken extends Schema.Class<TransientToken>("TransientToken")(
  M.schemaFields(transientTokenFields)
) {}

const connectionFields = M.connectionFields

/**
 * One way to reach a source: prefer `local`, use `relay` only as a last resort.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceConnection extends Schema.Class<SourceConnection>("SourceConnection")(
  M.schemaFields(connectionFields)
) {}

const connection = M.classOf(connectionFields, (props) => new SourceConnection(props, true))

const deviceFields = {
  name: M.required(M.text),
  clientIdentifier: M.required(M.text),
  accessToken: M.optional(M.secret),
  connections: M.withDefault(M.list(connection), () => [], "Connection")
}

/**
 * The source's device: its name, identifier, a transient `accessToken` for it, and its connections.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceDevice extends Schema.Class<SourceDevice>("SourceDevice")(M.schemaFields(deviceFields)) {}

const device = M.classOf(deviceFields, (props) => new SourceDevice(props, true))

const sourceFields = { devices: M.required(M.nonEmptyList(device), "Device") }

/**
 * What `getSourceConnectionInformation` returns. PMS JSON may render `Device` as an object or an
 * array; `devices` holds them all and `device` the first.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceConnectionInformation
  extends Schema.Class<SourceConnectionInformation>("SourceConnectionInformation")(M.schemaFields(sourceFields))
{
  /** The first (in practice, only) device. */
  get device(): SourceDevice {
    return this.devices[0]
  }
}

// --- requests -----------------------------------------------------------------------------------

/**
 * The sign-in form: `login` (username or email), `password`, `rememberMe`, and the two-factor
 * `verificationCode` when plex.tv asked for one (error code 1029).
 *
 * @since 0.1.0
 * @category models
 */
export class SignInRequest extends Schema.Class<SignInRequest>("SignInRequest")({
  login: Schema.String,
  password: Schema.Redacted(Schema.String),
  rememberMe: Schema.optionalWith(Schema.Boolean, { exact: true }),
  verificationCode: Schema.optionalWith(Schema.Redacted(Schema.String), { exact: true })
}) {}

// --- single-pass decoders for the request path -------------------------------------------------

/**
 * The models as kinds of the internal model builder, for the request path.
 *
 * @internal
 */
export const kinds = {
  user: M.classOf(userFields, (props) => new PlexUser(props, true), hasName),
  transientToken: M.classOf(transientTokenFields, (props) => new TransientToken(props, true)),
  source: M.classOf(sourceFields, (props) => new SourceConnectionInformation(props, true)),
  device,
  connection
}
