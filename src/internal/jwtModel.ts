/**
 * The JWT models, the `PlexJwt` tag and its service interface, without the JOSE code: `PlexToken`
 * (whose `layerJwt` reads and writes `Credentials`) and `PinLogin` (whose PINs carry a public JWK)
 * use them without loading `jose`. `PlexJwt` re-exports everything here.
 *
 * @internal
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Pin, WaitOptions } from "../PinLogin.js"
import * as PlexError from "../PlexError.js"
import * as M from "./model.js"
import { describeParseError } from "./secrets.js"

/**
 * The public half of an Ed25519 device key as Plex takes it (`POST /auth/jwk`, `POST /pins`): `x` is
 * the public key, `kid` the id Plex puts in the `thumbprint` claim of the JWTs it issues for it.
 *
 * @since 0.2.0
 * @category models
 */
export const PublicJwk = Schema.Struct({
  kty: Schema.Literal("OKP"),
  crv: Schema.Literal("Ed25519"),
  x: Schema.String,
  kid: Schema.String,
  use: Schema.Literal("sig"),
  alg: Schema.Literal("EdDSA")
})

/**
 * @since 0.2.0
 * @category models
 */
export type PublicJwk = typeof PublicJwk.Type

/**
 * The private half of an Ed25519 device key as a JWK: `d` is the secret. Always held as `Redacted`.
 *
 * @since 0.2.0
 * @category models
 */
export const PrivateJwk = Schema.Struct({
  kty: Schema.Literal("OKP"),
  crv: Schema.Literal("Ed25519"),
  x: Schema.String,
  d: Schema.String
})

/**
 * @since 0.2.0
 * @category models
 */
export type PrivateJwk = typeof PrivateJwk.Type

const publicOf = (kid: string, key: PrivateJwk): PublicJwk => ({
  kty: "OKP",
  crv: "Ed25519",
  x: key.x,
  kid,
  use: "sig",
  alg: "EdDSA"
})

/**
 * A device key: `kid`, the public JWK to register with Plex, and the private JWK as `Redacted` (it
 * prints as `<redacted>` and `JSON.stringify` writes `"<redacted>"`). `kid` is the key's RFC 7638
 * JWK thumbprint (43 base64url characters); Plex accepts whatever `kid` a key was registered with
 * (python-plexapi uses 64 hex characters of SHA-256), so keys made elsewhere work too.
 *
 * @since 0.2.0
 * @category models
 */
export class DeviceKey extends Schema.Class<DeviceKey>("PlexDeviceKey")({
  kid: Schema.String,
  publicJwk: PublicJwk,
  privateJwk: Schema.Redacted(PrivateJwk)
}) {}

/**
 * What a device needs to stay signed in with JWTs: its client identifier (the `iss` of its device
 * JWTs and one of the `aud`s of Plex's), its private key (`key`, `Redacted`) and `kid`, the current
 * Plex JWT (`token`, `Redacted`) and when that expires (`expiresAt`).
 *
 * Encoded (`Schema.encode`, `PlexJwt.saveCredentials`), the private key and the JWT are written in
 * the clear: redaction is for printing, and refreshing needs the key. Store it where only the
 * service can read it (see `PlexJwt.layerFileStore`).
 *
 * @since 0.2.0
 * @category models
 */
export class Credentials extends Schema.Class<Credentials>("PlexJwtCredentials")({
  clientIdentifier: Schema.String,
  key: Schema.Redacted(PrivateJwk),
  kid: Schema.String,
  token: Schema.Redacted(Schema.String),
  expiresAt: Schema.DateTimeUtc
}) {
  /** The device key these credentials sign with. */
  get deviceKey(): DeviceKey {
    return new DeviceKey({
      kid: this.kid,
      publicJwk: publicOf(this.kid, Redacted.value(this.key)),
      privateJwk: this.key
    })
  }
}

/**
 * The public JWK of a private one, under `kid`.
 *
 * @internal
 */
export const publicJwkOf = publicOf

// --- claims -------------------------------------------------------------------------------------

const userFields = {
  id: M.required(M.num),
  uuid: M.required(M.text),
  username: M.optional(M.text),
  email: M.optional(M.text),
  friendlyName: M.optional(M.nullableText, "friendly_name"),
  restricted: M.optional(M.flag),
  anonymous: M.optional(M.flag),
  joinedAt: M.optional(M.date)
}

/**
 * The `user` claim of a Plex JWT. `id` and `uuid` are always there (a token without them is
 * refused); the others follow the scopes the device asked for (`username`, `email`,
 * `friendly_name`, `restricted`, `anonymous`, `joinedAt`) and are dropped when unreadable.
 *
 * @since 0.2.0
 * @category models
 */
export class PlexJwtUser extends Schema.Class<PlexJwtUser>("PlexJwtUser")(M.schemaFields(userFields)) {}

const audience: M.Kind<ReadonlyArray<string>> = {
  ...M.textList,
  read: (u, issues, path) => typeof u === "string" ? [u] : M.textList.read(u, issues, path)
}

const claimFields = {
  iss: M.required(M.text),
  aud: M.required(audience),
  thumbprint: M.required(M.text),
  iat: M.required(M.num),
  exp: M.required(M.num),
  user: M.required(M.classOf(userFields, (props) => new PlexJwtUser(props, true))),
  nonce: M.optional(M.text),
  scope: M.optional(M.text)
}

/**
 * The verified claims of a Plex JWT: `iss` (`plex.tv`), `aud` (`plex.tv` and the client
 * identifier), `thumbprint` (the device key's `kid`), `iat` and `exp` (epoch seconds), `user`, and
 * the `nonce` and `scope` of the device JWT it answered, when present. Only `PlexJwt.verify` makes
 * these, after every check has passed.
 *
 * @since 0.2.0
 * @category models
 */
export class PlexJwtClaims extends Schema.Class<PlexJwtClaims>("PlexJwtClaims")(M.schemaFields(claimFields)) {
  /** `iat` as a date. */
  get issuedAt(): DateTime.Utc {
    return DateTime.unsafeMake(this.iat * 1000)
  }
  /** `exp` as a date. */
  get expiresAt(): DateTime.Utc {
    return DateTime.unsafeMake(this.exp * 1000)
  }
}

/**
 * The claims decoder (lenient, as every model; a required claim missing or unreadable fails).
 *
 * @internal
 */
export const claimsDecoder = M.decoder(M.classOf(claimFields, (props) => new PlexJwtClaims(props, true)))

// --- the service ----------------------------------------------------------------------------------

/**
 * What a JWT must match beyond Plex's signature: the device key's `kid` (the `thumbprint` claim) and
 * the client identifier in `aud` (default: `PlexConfig.clientIdentifier`). `Credentials` and
 * `DeviceKey` both fit.
 *
 * @since 0.2.0
 * @category models
 */
export interface Expected {
  readonly kid: string
  readonly clientIdentifier?: string | undefined
}

/**
 * Options of `registerKey`: an existing token of this client identifier (a legacy token from
 * sign-in or PIN login), and optionally another clients.plex.tv base.
 *
 * @since 0.2.0
 * @category models
 */
export interface RegisterOptions {
  readonly token: string | Redacted.Redacted<string>
  readonly serverUrl?: string | undefined
}

/**
 * JWT device authentication. Every method fails with exactly
 * `PlexBadRequest | PlexUnauthorized | PlexSdkError`; a JWT that fails verification is a
 * `PlexSdkError` with reason `InvalidToken` whose `detail` names the failed check (never the token).
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** A new Ed25519 device key (see {@link DeviceKey}). */
  readonly generateKey: Effect.Effect<DeviceKey, PlexError.PlexSdkError>
  /**
   * `POST {clientsUrl}/auth/jwk` `{"jwk": …}` with `options.token`, then one refresh: the first JWT.
   *
   * **Plex ends this client identifier's legacy token as soon as it issues a JWT for it**: anything
   * still using that token (another process, a PMS login) stops working. Register the key under a
   * client identifier of its own if the legacy token must live on. A key already registered by
   * another client identifier is refused with a 422 (`PlexError.isThumbprintTaken`).
   */
  readonly registerKey: (key: DeviceKey, options: RegisterOptions) => Effect.Effect<Credentials, PlexError.PlexError>
  /**
   * A new Plex JWT for the credentials' key: `GET {clientsUrl}/auth/nonce` (valid 5 minutes, rate
   * limited: `PlexError.isNonceRateLimited`), a device JWT signed with the key (header `kid`,
   * `alg: EdDSA`, `typ: JWT`; claims `nonce`, `scope`, `aud: "plex.tv"`, `iss`: the client
   * identifier, `iat`, `exp` 5 minutes later), `POST {clientsUrl}/auth/token` `{"jwt": …}`, then
   * {@link Service.verify}. Works after expiry too. A rejected signature is a 422
   * (`PlexError.isSignatureRejected`).
   */
  readonly refresh: (credentials: Credentials) => Effect.Effect<Credentials, PlexError.PlexError>
  /**
   * Verifies a Plex JWT and returns its claims. Checks, each failing with `InvalidToken` naming it:
   * the header `alg` is exactly `EdDSA` (`none`, `HS*`, `RS*` refused); the signature verifies
   * against one of the keys of `GET {clientsUrl}/auth/keys` (cached; fetched again, at most once a
   * second, for a `kid` not in the cache: Plex rotates them); `iss` is `plex.tv`; `aud` contains
   * `plex.tv` and the client identifier; `thumbprint` equals `expected.kid`; `exp` and `iat` are
   * present, `exp` is after `iat` and not past (on Effect's `Clock`), `iat` is at most 60 s in the
   * future; `user` has `id` and `uuid`.
   */
  readonly verify: (
    jwt: string | Redacted.Redacted<string>,
    expected: Expected
  ) => Effect.Effect<PlexJwtClaims, PlexError.PlexError>
  /**
   * A device JWT signed with the key, valid 5 minutes: what `PinLogin.waitForToken`'s `deviceJwt`
   * option wants for a PIN created with the key's `publicJwk`.
   */
  readonly signDeviceJwt: (key: DeviceKey) => Effect.Effect<Redacted.Redacted<string>, PlexError.PlexSdkError>
  /**
   * Waits for a PIN created with `PinLogin.createPin({ jwk: key.publicJwk })` (the same loop as
   * `PinLogin.waitForToken`, checking `GET {clientsUrl}/pins/{id}?deviceJWT=…` with a fresh device
   * JWT), verifies the Plex JWT it yields and returns the credentials.
   */
  readonly waitForCredentials: (
    pin: Pin | number,
    key: DeviceKey,
    options?: Omit<WaitOptions, "deviceJwt">
  ) => Effect.Effect<Credentials, PlexError.PlexError>
}

/**
 * The service tag.
 *
 * @since 0.2.0
 * @category tags
 */
export class PlexJwt extends Context.Tag("effect-plex/PlexJwt")<PlexJwt, Service>() {}

// --- storing credentials ------------------------------------------------------------------------

/**
 * A `PlexSdkError` with reason `Storage` for a store that failed, naming the key, never a value.
 *
 * @internal
 */
export const storageError = (operation: string, key: string, problem: string) =>
  new PlexError.PlexSdkError({
    operation,
    reason: "Storage",
    detail: `the credentials under ${JSON.stringify(key)} ${problem}`
  })

const platformReason = (error: PlatformError.PlatformError): string =>
  error._tag === "SystemError" ? `${error.reason} in ${error.method}` : `${error._tag} in ${error.method}`

/**
 * Reads credentials from a store: `None` when there are none; a typed `Storage` error when the store
 * fails or holds something that does not decode (the message says where, never the value).
 *
 * @internal
 */
export const load = (
  store: KeyValueStore.KeyValueStore,
  key: string,
  operation = "loadCredentials"
): Effect.Effect<Option.Option<Credentials>, PlexError.PlexSdkError> =>
  Effect.mapError(store.forSchema(Credentials).get(key), (error) =>
    storageError(
      operation,
      key,
      error._tag === "ParseError"
        ? `cannot be read: ${describeParseError(error)}`
        : `cannot be read (${platformReason(error)})`
    ))

/**
 * Writes credentials to a store.
 *
 * @internal
 */
export const save = (
  store: KeyValueStore.KeyValueStore,
  key: string,
  credentials: Credentials,
  operation = "saveCredentials"
): Effect.Effect<void, PlexError.PlexSdkError> =>
  Effect.mapError(
    store.forSchema(Credentials).set(key, credentials),
    (error) =>
      storageError(
        operation,
        key,
        error._tag === "ParseError" ? "cannot be encoded" : `cannot be written (${platformReason(error)})`
      )
  )
