/**
 * JWT device authentication, as Plex recommends for new apps since September 2025. Each device
 * holds an Ed25519 key; Plex issues JWTs that last 7 days and that the device renews by signing a
 * nonce, with no password and no user in the loop. To start:
 *
 * - with a PIN (no token needed): `generateKey`, `PinLogin.createPin({ jwk: key.publicJwk })`, send
 *   the user to `PinLogin.authUrl(pin)`, then {@link waitForCredentials};
 * - or with a legacy token of this client identifier: {@link registerKey}. Plex then ends that
 *   legacy token.
 *
 * Keep the `Credentials` in a `KeyValueStore` ({@link saveCredentials}; {@link layerFileStore} on
 * Node) and use `PlexToken.layerJwt`: it refreshes the JWT before it expires, after a 498, once for
 * any number of concurrent callers, and stores each new one. Use the JWT for plex.tv only: Plex
 * Media Servers have been seen answering 401 to JWTs, so PMS operations keep using the server's own
 * access token (from `Resources`).
 *
 * All JOSE work (keys, thumbprints, signing, verification) goes through the `jose` library.
 *
 * @since 0.2.0
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { JWK } from "jose"
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from "jose"
import * as FileStore from "./internal/fileStore.js"
import * as Model from "./internal/jwtModel.js"
import { makeVerifier, signingKeys } from "./internal/jwtVerify.js"
import * as Request from "./internal/request.js"
import { redacted } from "./internal/secrets.js"
import * as PinLogin from "./PinLogin.js"
import * as PlexConfig from "./PlexConfig.js"
import * as PlexError from "./PlexError.js"

export {
  /**
   * The stored credentials of a device: client identifier, private key, `kid`, JWT, expiry.
   *
   * @since 0.2.0
   * @category models
   */
  Credentials,
  /**
   * A device key: `kid`, the public JWK and the private JWK (`Redacted`).
   *
   * @since 0.2.0
   * @category models
   */
  DeviceKey,
  /**
   * What a JWT must match beyond its signature: the device key's `kid`, the client identifier.
   *
   * @since 0.2.0
   * @category models
   */
  type Expected,
  /**
   * The verified claims of a Plex JWT.
   *
   * @since 0.2.0
   * @category models
   */
  PlexJwtClaims,
  /**
   * The `user` claim of a Plex JWT.
   *
   * @since 0.2.0
   * @category models
   */
  PlexJwtUser,
  /**
   * The private half of a device key as a JWK.
   *
   * @since 0.2.0
   * @category models
   */
  PrivateJwk,
  /**
   * The public half of a device key as Plex takes it.
   *
   * @since 0.2.0
   * @category models
   */
  PublicJwk,
  /**
   * Options of `registerKey`.
   *
   * @since 0.2.0
   * @category models
   */
  type RegisterOptions,
  /**
   * The service interface.
   *
   * @since 0.2.0
   * @category models
   */
  type Service
} from "./internal/jwtModel.js"

export {
  /**
   * The service tag.
   *
   * @since 0.2.0
   * @category tags
   */
  PlexJwt
} from "./internal/jwtModel.js"

/**
 * The user claims a device JWT can ask Plex to put in the JWTs it issues (`scope`, comma-joined).
 * They are not permissions.
 *
 * @since 0.2.0
 * @category models
 */
export type Scope = "username" | "email" | "friendly_name" | "restricted" | "anonymous" | "joinedAt"

/**
 * Every scope, the default (as python-plexapi asks).
 *
 * @since 0.2.0
 * @category constants
 */
export const allScopes: ReadonlyArray<Scope> = [
  "username",
  "email",
  "friendly_name",
  "restricted",
  "anonymous",
  "joinedAt"
]

/**
 * Options of {@link make}: `scopes` (default {@link allScopes}) and `keysTtl`, how long Plex's
 * signing keys are kept before they are fetched again (default 1 hour; a token naming a key not in
 * the cache fetches them at once).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly scopes?: ReadonlyArray<Scope> | undefined
  readonly keysTtl?: Duration.DurationInput | undefined
}

// --- the operations, declared -------------------------------------------------------------------

const module = "PlexJwt"

const DEVICE_JWT_SECONDS = 300

interface DeviceJwt {
  readonly jwt: Redacted.Redacted<string>
  readonly nonce: Redacted.Redacted<string>
}

const NonceBody = Schema.Struct({ nonce: Schema.Redacted(Schema.NonEmptyString) })
const TokenBody = Schema.Struct({ auth_token: Schema.Redacted(Schema.NonEmptyString) })

const endpoints = {
  getNonce: Request.endpoint<void, typeof NonceBody.Type>({
    module,
    operation: "getNonce",
    host: "clients",
    method: "GET",
    path: () => "/auth/nonce",
    token: "none",
    idempotent: true,
    success: NonceBody
  }),
  exchangeToken: Request.endpoint<DeviceJwt, typeof TokenBody.Type>({
    module,
    operation: "exchangeToken",
    host: "clients",
    method: "POST",
    path: () => "/auth/token",
    token: "none",
    // A nonce is good for one exchange: a retry could only be refused.
    idempotent: false,
    json: (input) => ({ jwt: input.jwt }),
    // plex.tv knows the nonce it signs for, and may name it in an error.
    secrets: (input) => [input.nonce],
    success: TokenBody
  }),
  getSigningKeys: Request.endpoint<void, { readonly keys: ReadonlyArray<JWK> }>({
    module,
    operation: "getSigningKeys",
    host: "clients",
    method: "GET",
    path: () => "/auth/keys",
    token: "none",
    idempotent: true,
    success: signingKeys
  }),
  registerKey: Request.endpoint<Model.PublicJwk, void>({
    module,
    operation: "registerKey",
    host: "clients",
    method: "POST",
    path: () => "/auth/jwk",
    token: "required",
    idempotent: false,
    validate: (jwk) => jwk.kid === "" || jwk.x === "" ? "the JWK needs its x and kid" : undefined,
    json: (jwk) => ({ jwk }),
    success: undefined
  })
}

// --- keys and device JWTs -----------------------------------------------------------------------

const failure = (operation: string, detail: string) =>
  new PlexError.PlexSdkError({ operation, reason: "InvalidRequest", detail })

/**
 * A new Ed25519 device key, made with `jose` (WebCrypto): its private JWK is `Redacted` from the
 * moment it leaves `jose`, and its `kid` is the key's RFC 7638 thumbprint. Needs no service; fails
 * only on a runtime without Ed25519 in WebCrypto.
 *
 * @since 0.2.0
 * @category constructors
 */
export const generateKey: Effect.Effect<Model.DeviceKey, PlexError.PlexSdkError> = Effect.tryPromise({
  try: async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })
    const { crv, d, kty, x } = await exportJWK(privateKey)
    if (kty !== "OKP" || crv !== "Ed25519" || x === undefined || d === undefined) throw new Error("not Ed25519")
    const kid = await calculateJwkThumbprint({ kty, crv, x })
    const key: Model.PrivateJwk = { kty: "OKP", crv: "Ed25519", x, d }
    return new Model.DeviceKey({ kid, publicJwk: Model.publicJwkOf(kid, key), privateJwk: Redacted.make(key) })
  },
  catch: () => failure("generateKey", "this runtime cannot generate Ed25519 keys (WebCrypto)")
})

// --- the service ----------------------------------------------------------------------------------

/**
 * Builds the service from `HttpClient` and `PlexConfig`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options?: Options
): Effect.Effect<Model.Service, never, HttpClient.HttpClient | PlexConfig.PlexConfig> =>
  Effect.gen(function*() {
    const config = yield* PlexConfig.PlexConfig
    const scope = (options?.scopes ?? allScopes).join(",")
    const keysTtl = Duration.decodeUnknown(options?.keysTtl ?? "1 hour")
    const run = yield* Request.makeRunner(undefined)
    const pins = yield* PinLogin.make
    const getNonce = run(endpoints.getNonce)
    const exchange = run(endpoints.exchangeToken)
    const register = run(endpoints.registerKey)
    const fetchKeys = Effect.map(run(endpoints.getSigningKeys)(undefined), (body) => body.keys)
    const verify = yield* makeVerifier(
      fetchKeys,
      config.clientIdentifier,
      keysTtl._tag === "Some" ? keysTtl.value : Duration.hours(1)
    )

    const sign = (key: Model.DeviceKey, clientIdentifier: string, nonce?: Redacted.Redacted<string>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.tryPromise({
          try: async () => {
            const privateKey = await importJWK(Redacted.value(key.privateJwk), "EdDSA")
            const iat = Math.floor(now / 1000)
            const claims = nonce === undefined ? { scope } : { nonce: Redacted.value(nonce), scope }
            const jwt = await new SignJWT(claims)
              .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
              .setIssuer(clientIdentifier)
              .setAudience("plex.tv")
              .setIssuedAt(iat)
              .setExpirationTime(iat + DEVICE_JWT_SECONDS)
              .sign(privateKey)
            return Redacted.make(jwt)
          },
          catch: () => failure("signDeviceJwt", "the device key cannot sign: it is not an Ed25519 private JWK")
        }))

    const credentialsFor = (key: Model.DeviceKey, clientIdentifier: string) => (token: Redacted.Redacted<string>) =>
      Effect.map(
        verify(token, { kid: key.kid, clientIdentifier }),
        (claims) =>
          new Model.Credentials({
            clientIdentifier,
            key: key.privateJwk,
            kid: key.kid,
            token,
            expiresAt: DateTime.unsafeMake(claims.exp * 1000)
          })
      )

    /** The refresh process: nonce, device JWT, exchange, verification. */
    const issue = (key: Model.DeviceKey, clientIdentifier: string, serverUrl: string | undefined) => {
      const callOptions = serverUrl === undefined ? undefined : { serverUrl }
      return getNonce(undefined, callOptions).pipe(
        Effect.flatMap(({ nonce }) =>
          Effect.flatMap(sign(key, clientIdentifier, nonce), (jwt) => exchange({ jwt, nonce }, callOptions))
        ),
        Effect.flatMap(({ auth_token }) => credentialsFor(key, clientIdentifier)(auth_token))
      )
    }

    const refresh: Model.Service["refresh"] = (credentials) =>
      credentials.clientIdentifier === config.clientIdentifier
        ? issue(credentials.deviceKey, credentials.clientIdentifier, undefined).pipe(
          Effect.withSpan(`${module}.refresh`, { kind: "internal", captureStackTrace: false })
        )
        : Effect.fail(failure(
          "refresh",
          "the credentials belong to another client identifier than PlexConfig.clientIdentifier: Plex only " +
            "refreshes a JWT for the client identifier it was issued to"
        ))

    return Model.PlexJwt.of({
      generateKey,
      registerKey: (key, { serverUrl, token }) =>
        register(key.publicJwk, { token: redacted(token), serverUrl }).pipe(
          Effect.zipRight(issue(key, config.clientIdentifier, serverUrl)),
          Effect.withSpan(`${module}.registerKey`, { kind: "internal", captureStackTrace: false })
        ),
      refresh,
      verify,
      signDeviceJwt: (key) => sign(key, config.clientIdentifier),
      waitForCredentials: (pin, key, waitOptions) =>
        pins.waitForToken(pin, { ...waitOptions, deviceJwt: sign(key, config.clientIdentifier) }).pipe(
          Effect.flatMap(credentialsFor(key, config.clientIdentifier))
        )
    })
  })

/**
 * The service as a layer, with the default {@link Options}. Provide an `HttpClient` and
 * `PlexConfig`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Model.PlexJwt, never, HttpClient.HttpClient | PlexConfig.PlexConfig> = Layer
  .effect(Model.PlexJwt, make())

/**
 * The service as a layer with other {@link Options} (scopes, how long signing keys are cached).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWith = (
  options: Options
): Layer.Layer<Model.PlexJwt, never, HttpClient.HttpClient | PlexConfig.PlexConfig> =>
  Layer.effect(Model.PlexJwt, make(options))

// --- storing credentials ------------------------------------------------------------------------

/**
 * A `KeyValueStore` in `directory` for credentials, on Node's file system: the directory is created
 * with mode `0700`, each key is a file of mode `0600`, and every write goes to a temporary file that
 * is flushed and then renamed over the old one, so a crash mid-write leaves the old credentials
 * readable. (`@effect/platform-node`'s `NodeKeyValueStore` writes `0644` files in place.) Files are
 * named like that store's, `encodeURIComponent(key)`. Share one directory (or any shared
 * `KeyValueStore`) between replicas: each reads what another stored before refreshing itself.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFileStore: (
  directory: string
) => Layer.Layer<KeyValueStore.KeyValueStore, PlatformError.PlatformError> = FileStore.layerNode

/**
 * Writes credentials under `key` in the `KeyValueStore`, as JSON: the private key and the JWT in
 * the clear (see `Credentials`). Fails with reason `Storage`.
 *
 * @since 0.2.0
 * @category storage
 */
export const saveCredentials = (
  key: string,
  credentials: Model.Credentials
): Effect.Effect<void, PlexError.PlexSdkError, KeyValueStore.KeyValueStore> =>
  Effect.flatMap(KeyValueStore.KeyValueStore, (store) => Model.save(store, key, credentials))

/**
 * Reads the credentials stored under `key`, if any. Fails with reason `Storage` when the store fails
 * or holds something that does not decode (saying where, never what).
 *
 * @since 0.2.0
 * @category storage
 */
export const loadCredentials = (
  key: string
): Effect.Effect<Option.Option<Model.Credentials>, PlexError.PlexSdkError, KeyValueStore.KeyValueStore> =>
  Effect.flatMap(KeyValueStore.KeyValueStore, (store) => Model.load(store, key))

// --- accessors ------------------------------------------------------------------------------------

/**
 * Accessor: {@link Service.registerKey} from the `PlexJwt` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const registerKey = (
  key: Model.DeviceKey,
  options: Model.RegisterOptions
): Effect.Effect<Model.Credentials, PlexError.PlexError, Model.PlexJwt> =>
  Effect.flatMap(Model.PlexJwt, (service) => service.registerKey(key, options))

/**
 * Accessor: {@link Service.refresh} from the `PlexJwt` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const refresh = (
  credentials: Model.Credentials
): Effect.Effect<Model.Credentials, PlexError.PlexError, Model.PlexJwt> =>
  Effect.flatMap(Model.PlexJwt, (service) => service.refresh(credentials))

/**
 * Accessor: {@link Service.verify} from the `PlexJwt` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const verify = (
  jwt: string | Redacted.Redacted<string>,
  expected: Model.Expected
): Effect.Effect<Model.PlexJwtClaims, PlexError.PlexError, Model.PlexJwt> =>
  Effect.flatMap(Model.PlexJwt, (service) => service.verify(jwt, expected))

/**
 * Accessor: {@link Service.signDeviceJwt} from the `PlexJwt` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const signDeviceJwt = (
  key: Model.DeviceKey
): Effect.Effect<Redacted.Redacted<string>, PlexError.PlexSdkError, Model.PlexJwt> =>
  Effect.flatMap(Model.PlexJwt, (service) => service.signDeviceJwt(key))

/**
 * Accessor: {@link Service.waitForCredentials} from the `PlexJwt` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const waitForCredentials = (
  pin: PinLogin.Pin | number,
  key: Model.DeviceKey,
  options?: Omit<PinLogin.WaitOptions, "deviceJwt">
): Effect.Effect<Model.Credentials, PlexError.PlexError, Model.PlexJwt> =>
  Effect.flatMap(Model.PlexJwt, (service) => service.waitForCredentials(pin, key, options))
