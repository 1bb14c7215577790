/**
 * The data the SDK decodes and sends, as `Schema.Class`es. Decoding is lenient where real Plex data
 * differ from the spec: unknown fields are ignored, fields real payloads omit are optional, flags
 * accept booleans or 0/1, numbers accept numeric strings, single children may be an object or an
 * array. Every token-like value (`authToken`, transient tokens, `accessToken`, service tokens and
 * secrets) decodes as `Redacted`, so it cannot leak through logs or `JSON.stringify`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import {
  Flag,
  NullableFlag,
  NullableNum,
  NullableSecret,
  NullableText,
  Num,
  OneOrFirst,
  OneOrMany,
  PlexDate,
  Secret
} from "./internal/lenient.js"

/**
 * An entry of `subscription` / `subscriptions[]`. Real `subscriptions[]` items have a different shape
 * from `subscription` (`{id, mode, renewsAt, endsAt, type, transfer, state}`), so both shapes' fields
 * are here, all optional.
 *
 * @since 0.1.0
 * @category models
 */
export class Subscription extends Schema.Class<Subscription>("Subscription")({
  active: Schema.optional(Flag),
  subscribedAt: Schema.optional(PlexDate),
  status: Schema.optional(NullableText),
  paymentService: Schema.optional(NullableText),
  plan: Schema.optional(NullableText),
  features: Schema.optional(Schema.Array(Schema.String)),
  id: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  mode: Schema.optional(NullableText),
  type: Schema.optional(NullableText),
  state: Schema.optional(NullableText),
  renewsAt: Schema.optional(PlexDate),
  endsAt: Schema.optional(PlexDate)
}) {}

/**
 * An item of `pastSubscriptions[]` (sign-in responses and `/user`).
 *
 * @since 0.1.0
 * @category models
 */
export class PastSubscription extends Schema.Class<PastSubscription>("PastSubscription")({
  id: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  mode: Schema.optional(NullableText),
  renewsAt: Schema.optional(PlexDate),
  endsAt: Schema.optional(PlexDate),
  canceled: Schema.optional(Flag),
  gracePeriod: Schema.optional(Flag),
  onHold: Schema.optional(Flag),
  canReactivate: Schema.optional(Flag),
  canUpgrade: Schema.optional(Flag),
  canDowngrade: Schema.optional(Flag),
  canConvert: Schema.optional(Flag),
  type: Schema.optional(NullableText),
  transfer: Schema.optional(NullableText),
  state: Schema.optional(NullableText)
}) {}

/**
 * The user's playback profile. The spec's enums run 0..3; older accounts omit several fields.
 *
 * @since 0.1.0
 * @category models
 */
export class UserProfile extends Schema.Class<UserProfile>("UserProfile")({
  autoSelectAudio: Schema.optional(Flag),
  defaultAudioLanguage: Schema.optional(NullableText),
  defaultAudioAccessibility: Schema.optional(NullableNum),
  defaultAudioLanguages: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  defaultSubtitleLanguage: Schema.optional(NullableText),
  defaultSubtitleLanguages: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  autoSelectSubtitle: Schema.optional(NullableNum),
  defaultSubtitleAccessibility: Schema.optional(NullableNum),
  defaultSubtitleForced: Schema.optional(NullableNum),
  watchedIndicator: Schema.optional(NullableNum),
  mediaReviewsVisibility: Schema.optional(NullableNum),
  mediaReviewsLanguages: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
}) {}

/**
 * A third-party service entry of the user (`services[]`). Real data often omit `token` and `secret`.
 *
 * @since 0.1.0
 * @category models
 */
export class UserService extends Schema.Class<UserService>("UserService")({
  identifier: Schema.String,
  endpoint: Schema.String,
  token: Schema.optional(NullableSecret),
  secret: Schema.optional(NullableSecret),
  status: Schema.optional(NullableText)
}) {}

/**
 * The plex.tv user account, from `GET /user` and sign-in. `authToken` is the account token, as
 * `Redacted`: read it with `Redacted.value` only where you send or store it.
 *
 * @since 0.1.0
 * @category models
 */
export class PlexUser extends Schema.Class<PlexUser>("PlexUser")({
  id: Num,
  uuid: Schema.String,
  username: Schema.String,
  title: Schema.String,
  email: Schema.String,
  authToken: Secret,
  friendlyName: Schema.optional(Schema.String),
  locale: Schema.optional(NullableText),
  confirmed: Schema.optional(Flag),
  joinedAt: Schema.optional(PlexDate),
  emailOnlyAuth: Schema.optional(Flag),
  hasPassword: Schema.optional(Flag),
  protected: Schema.optional(Flag),
  thumb: Schema.optional(Schema.String),
  mailingListStatus: Schema.optional(NullableText),
  mailingListActive: Schema.optional(Flag),
  scrobbleTypes: Schema.optional(Schema.String),
  country: Schema.optional(NullableText),
  subscription: Schema.optional(Subscription),
  subscriptionDescription: Schema.optional(NullableText),
  subscriptions: Schema.optional(Schema.Array(Subscription)),
  pastSubscriptions: Schema.optional(Schema.Array(PastSubscription)),
  trials: Schema.optional(Schema.Array(Schema.Unknown)),
  restricted: Schema.optional(Flag),
  anonymous: Schema.optional(NullableFlag),
  home: Schema.optional(Flag),
  guest: Schema.optional(Flag),
  homeSize: Schema.optional(Num),
  homeAdmin: Schema.optional(Flag),
  maxHomeSize: Schema.optional(Num),
  rememberExpiresAt: Schema.optional(PlexDate),
  profile: Schema.optional(OneOrFirst(UserProfile)),
  entitlements: Schema.optional(Schema.Array(Schema.String)),
  roles: Schema.optional(Schema.Array(Schema.String)),
  services: Schema.optional(Schema.Array(UserService)),
  adsConsent: Schema.optional(NullableFlag),
  adsConsentSetAt: Schema.optional(PlexDate),
  adsConsentReminderAt: Schema.optional(PlexDate),
  experimentalFeatures: Schema.optional(Flag),
  twoFactorEnabled: Schema.optional(Flag),
  backupCodesCreated: Schema.optional(Flag),
  attributionPartner: Schema.optional(NullableText),
  restrictionProfile: Schema.optional(NullableText),
  /** The hashed Plex Home PIN (deprecated by Plex); redacted all the same. */
  pin: Schema.optional(Secret)
}) {}

/**
 * A transient PMS token (`transient-<uuid>`): the caller's access level, valid up to 48 hours,
 * destroyed when the server restarts.
 *
 * @since 0.1.0
 * @category models
 */
export class TransientToken extends Schema.Class<TransientToken>("TransientToken")({
  token: Secret
}) {}

/**
 * One way to reach a source: prefer `local`, use `relay` only as a last resort.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceConnection extends Schema.Class<SourceConnection>("SourceConnection")({
  protocol: Schema.String,
  address: Schema.String,
  port: Num,
  uri: Schema.String,
  local: Schema.optionalWith(Flag, { default: () => false }),
  relay: Schema.optionalWith(Flag, { default: () => false })
}) {}

/**
 * The source's device: its name, identifier, a transient `accessToken` for it, and its connections.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceDevice extends Schema.Class<SourceDevice>("SourceDevice")({
  name: Schema.String,
  clientIdentifier: Schema.String,
  accessToken: Schema.optional(Secret),
  connections: Schema.optionalWith(OneOrMany(SourceConnection), { default: () => [] }).pipe(
    Schema.fromKey("Connection")
  )
}) {}

/**
 * What `getSourceConnectionInformation` returns. PMS JSON may render `Device` as an object or an
 * array; `devices` holds them all and `device` the first.
 *
 * @since 0.1.0
 * @category models
 */
export class SourceConnectionInformation
  extends Schema.Class<SourceConnectionInformation>("SourceConnectionInformation")({
    devices: Schema.NonEmptyArray(SourceDevice)
  })
{
  /** The first (in practice, only) device. */
  get device(): SourceDevice {
    return this.devices[0]
  }
}

/**
 * The sign-in form: `login` (username or email), `password`, `rememberMe`, and the two-factor
 * `verificationCode` when plex.tv asked for one (error code 1029).
 *
 * @since 0.1.0
 * @category models
 */
export class SignInRequest extends Schema.Class<SignInRequest>("SignInRequest")({
  login: Schema.String,
  password: Secret,
  rememberMe: Schema.optional(Schema.Boolean),
  verificationCode: Schema.optional(Secret)
}) {}
