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
  Id,
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

// Nested parts of the user are plain structs: a class instance per service entry (20 in a real
// account) cost more than decoding the rest of the user.
// JSON never carries `undefined`: a field is present with a value or absent. `exact` keeps
// `undefined` out of each field's schema, which would otherwise make every field a union.
const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

// The fields real `subscriptions[]` items share with `pastSubscriptions[]` items.
const billingPeriodFields = {
  id: optional(Id),
  mode: optional(NullableText),
  type: optional(NullableText),
  state: optional(NullableText),
  renewsAt: optional(PlexDate),
  endsAt: optional(PlexDate)
}

/**
 * An entry of `subscription` / `subscriptions[]`. Real `subscriptions[]` items have a different shape
 * from `subscription` (`{id, mode, renewsAt, endsAt, type, transfer, state}`), so both shapes' fields
 * are here, all optional.
 *
 * @since 0.1.0
 * @category models
 */
export const Subscription = Schema.Struct({
  active: optional(Flag),
  subscribedAt: optional(PlexDate),
  status: optional(NullableText),
  paymentService: optional(NullableText),
  plan: optional(NullableText),
  features: optional(Schema.Array(Schema.String)),
  ...billingPeriodFields
})

/**
 * The decoded type of {@link Subscription}.
 *
 * @since 0.1.0
 * @category models
 */
export type Subscription = typeof Subscription.Type

/**
 * An item of `pastSubscriptions[]` (sign-in responses and `/user`).
 *
 * @since 0.1.0
 * @category models
 */
export const PastSubscription = Schema.Struct({
  ...billingPeriodFields,
  canceled: optional(Flag),
  gracePeriod: optional(Flag),
  onHold: optional(Flag),
  canReactivate: optional(Flag),
  canUpgrade: optional(Flag),
  canDowngrade: optional(Flag),
  canConvert: optional(Flag),
  transfer: optional(NullableText)
})

/**
 * The decoded type of {@link PastSubscription}.
 *
 * @since 0.1.0
 * @category models
 */
export type PastSubscription = typeof PastSubscription.Type

/**
 * The user's playback profile. The spec's enums run 0..3; older accounts omit several fields.
 *
 * @since 0.1.0
 * @category models
 */
export const UserProfile = Schema.Struct({
  autoSelectAudio: optional(Flag),
  defaultAudioLanguage: optional(NullableText),
  defaultAudioAccessibility: optional(NullableNum),
  defaultAudioLanguages: optional(Schema.NullOr(Schema.Array(Schema.String))),
  defaultSubtitleLanguage: optional(NullableText),
  defaultSubtitleLanguages: optional(Schema.NullOr(Schema.Array(Schema.String))),
  autoSelectSubtitle: optional(NullableNum),
  defaultSubtitleAccessibility: optional(NullableNum),
  defaultSubtitleForced: optional(NullableNum),
  watchedIndicator: optional(NullableNum),
  mediaReviewsVisibility: optional(NullableNum),
  mediaReviewsLanguages: optional(Schema.NullOr(Schema.Array(Schema.String)))
})

/**
 * The decoded type of {@link UserProfile}.
 *
 * @since 0.1.0
 * @category models
 */
export type UserProfile = typeof UserProfile.Type

/**
 * A third-party service entry of the user (`services[]`). Real data often omit `token` and `secret`.
 *
 * @since 0.1.0
 * @category models
 */
export const UserService = Schema.Struct({
  identifier: Schema.String,
  endpoint: Schema.String,
  token: optional(NullableSecret),
  secret: optional(NullableSecret),
  status: optional(NullableText)
})

/**
 * The decoded type of {@link UserService}.
 *
 * @since 0.1.0
 * @category models
 */
export type UserService = typeof UserService.Type

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
  friendlyName: optional(Schema.String),
  locale: optional(NullableText),
  confirmed: optional(Flag),
  joinedAt: optional(PlexDate),
  emailOnlyAuth: optional(Flag),
  hasPassword: optional(Flag),
  protected: optional(Flag),
  thumb: optional(Schema.String),
  mailingListStatus: optional(NullableText),
  mailingListActive: optional(Flag),
  scrobbleTypes: optional(Schema.String),
  country: optional(NullableText),
  subscription: optional(Subscription),
  subscriptionDescription: optional(NullableText),
  subscriptions: optional(Schema.Array(Subscription)),
  pastSubscriptions: optional(Schema.Array(PastSubscription)),
  trials: optional(Schema.Array(Schema.Unknown)),
  restricted: optional(Flag),
  anonymous: optional(NullableFlag),
  home: optional(Flag),
  guest: optional(Flag),
  homeSize: optional(Num),
  homeAdmin: optional(Flag),
  maxHomeSize: optional(Num),
  rememberExpiresAt: optional(PlexDate),
  profile: optional(OneOrFirst(UserProfile)),
  entitlements: optional(Schema.Array(Schema.String)),
  roles: optional(Schema.Array(Schema.String)),
  services: optional(Schema.Array(UserService)),
  adsConsent: optional(NullableFlag),
  adsConsentSetAt: optional(PlexDate),
  adsConsentReminderAt: optional(PlexDate),
  experimentalFeatures: optional(Flag),
  twoFactorEnabled: optional(Flag),
  backupCodesCreated: optional(Flag),
  attributionPartner: optional(NullableText),
  restrictionProfile: optional(NullableText),
  /** The hashed Plex Home PIN (deprecated by Plex); redacted all the same. */
  pin: optional(Secret)
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
  accessToken: optional(Secret),
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
  rememberMe: optional(Schema.Boolean),
  verificationCode: optional(Secret)
}) {}
