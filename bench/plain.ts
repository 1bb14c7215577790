/**
 * The floor's models: plain `Schema.Struct`s of the same fields the SDK's models decode, with the
 * types the benchmark's fixtures carry and none of the SDK's leniency (no flag or number
 * conversions, no dates, no `Redacted`, no classes, no counting of dropped values). What the least
 * an Effect program decoding the same body would do.
 */
import * as Schema from "effect/Schema"

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })
const NullableString = Schema.NullOr(Schema.String)
const NullableNumber = Schema.NullOr(Schema.Number)
const NullableBoolean = Schema.NullOr(Schema.Boolean)

const billingPeriod = {
  id: opt(Schema.Union(Schema.String, Schema.Number, Schema.Null)),
  mode: opt(NullableString),
  type: opt(NullableString),
  state: opt(NullableString),
  renewsAt: opt(NullableNumber),
  endsAt: opt(NullableNumber)
}

const Subscription = Schema.Struct({
  active: opt(Schema.Boolean),
  subscribedAt: opt(NullableString),
  status: opt(NullableString),
  paymentService: opt(NullableString),
  plan: opt(NullableString),
  features: opt(Schema.Array(Schema.String)),
  ...billingPeriod
})

const PastSubscription = Schema.Struct({
  ...billingPeriod,
  canceled: opt(Schema.Boolean),
  gracePeriod: opt(Schema.Boolean),
  onHold: opt(Schema.Boolean),
  canReactivate: opt(Schema.Boolean),
  canUpgrade: opt(Schema.Boolean),
  canDowngrade: opt(Schema.Boolean),
  canConvert: opt(Schema.Boolean),
  transfer: opt(NullableString)
})

const Profile = Schema.Struct({
  autoSelectAudio: opt(Schema.Boolean),
  defaultAudioLanguage: opt(NullableString),
  defaultSubtitleLanguage: opt(NullableString),
  autoSelectSubtitle: opt(NullableNumber),
  defaultSubtitleAccessibility: opt(NullableNumber),
  defaultSubtitleForced: opt(NullableNumber),
  watchedIndicator: opt(NullableNumber),
  mediaReviewsVisibility: opt(NullableNumber)
})

const Service = Schema.Struct({
  identifier: Schema.String,
  endpoint: Schema.String,
  token: opt(NullableString),
  secret: opt(NullableString),
  status: opt(NullableString)
})

/** The user, as a plain struct of the fields the SDK's `PlexUser` decodes. */
export const PlainUser = Schema.Struct({
  id: Schema.Number,
  uuid: Schema.String,
  username: Schema.String,
  title: Schema.String,
  email: Schema.String,
  authToken: Schema.String,
  friendlyName: opt(Schema.String),
  locale: opt(NullableString),
  confirmed: opt(Schema.Boolean),
  joinedAt: opt(NullableNumber),
  emailOnlyAuth: opt(Schema.Boolean),
  hasPassword: opt(Schema.Boolean),
  protected: opt(Schema.Boolean),
  thumb: opt(Schema.String),
  mailingListStatus: opt(NullableString),
  mailingListActive: opt(Schema.Boolean),
  scrobbleTypes: opt(Schema.String),
  country: opt(NullableString),
  subscription: opt(Subscription),
  subscriptionDescription: opt(NullableString),
  subscriptions: opt(Schema.Array(Subscription)),
  pastSubscriptions: opt(Schema.Array(PastSubscription)),
  trials: opt(Schema.Array(Schema.Unknown)),
  restricted: opt(Schema.Boolean),
  anonymous: opt(NullableBoolean),
  home: opt(Schema.Boolean),
  guest: opt(Schema.Boolean),
  homeSize: opt(Schema.Number),
  homeAdmin: opt(Schema.Boolean),
  maxHomeSize: opt(Schema.Number),
  rememberExpiresAt: opt(NullableNumber),
  profile: opt(Profile),
  entitlements: opt(Schema.Array(Schema.String)),
  roles: opt(Schema.Array(Schema.String)),
  services: opt(Schema.Array(Service)),
  adsConsent: opt(NullableBoolean),
  adsConsentSetAt: opt(NullableNumber),
  adsConsentReminderAt: opt(NullableNumber),
  experimentalFeatures: opt(Schema.Boolean),
  twoFactorEnabled: opt(Schema.Boolean),
  backupCodesCreated: opt(Schema.Boolean),
  attributionPartner: opt(NullableString)
})

const Connection = Schema.Struct({
  protocol: Schema.String,
  address: Schema.String,
  port: Schema.Number,
  uri: Schema.String,
  local: opt(Schema.Boolean),
  relay: opt(Schema.Boolean)
})

/** The source body, as plain structs. */
export const PlainSource = Schema.Struct({
  MediaContainer: Schema.Struct({
    Device: Schema.Struct({
      name: Schema.String,
      clientIdentifier: Schema.String,
      accessToken: opt(Schema.String),
      Connection: opt(Schema.Array(Connection))
    })
  })
})

/** The transient-token body, as a plain struct. */
export const PlainTransient = Schema.Struct({ MediaContainer: Schema.Struct({ token: Schema.String }) })
