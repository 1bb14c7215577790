/**
 * Sign in with a PIN, the way Plex apps on TVs and in browsers do: create a PIN on plex.tv, send the
 * user to the Plex auth app (or `plex.tv/link` for a short code), then poll the PIN until plex.tv
 * attaches the account token to it. Every operation fails with exactly
 * `PlexBadRequest | PlexUnauthorized | PlexSdkError` and needs nothing once the {@link layer} is built
 * from `HttpClient` and `PlexConfig`.
 *
 * PIN ids and codes are short-lived credentials: whoever polls a PIN id (with the client identifier)
 * receives the token once it is approved, and whoever links a code first decides which account the
 * device signs in to. The code has to be shown to the user, so it is a plain string, but this module
 * never puts a PIN id, code or token in a span attribute, log line or error message (PIN checks run
 * without the platform's `http.client` span, whose `url.full` would carry the id).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { PublicJwk } from "./internal/jwtModel.js"
import { endpoints } from "./internal/pinLogin.js"
import type { Pin, PinState } from "./internal/pinModel.js"
import { isFinal, poll } from "./internal/pinPoll.js"
import * as Request from "./internal/request.js"
import { redacted } from "./internal/secrets.js"
import * as PlexConfig from "./PlexConfig.js"
import * as PlexError from "./PlexError.js"
import * as PlexToken from "./PlexToken.js"

/**
 * Per-call overrides: `serverUrl` replaces the plex.tv API base (`https://plex.tv/api/v2`);
 * `token` replaces the configured token (only `linkPin` sends one).
 *
 * @since 0.1.0
 * @category models
 */
export type CallOptions = PlexConfig.CallOptions

export {
  /**
   * @since 0.2.0
   * @category refinements
   */
  isPinId,
  /**
   * @since 0.1.0
   * @category models
   */
  Pin,
  /**
   * @since 0.1.0
   * @category models
   */
  PinState
} from "./internal/pinModel.js"

/**
 * Parameters of `createPin`. `strong: true` asks for a long code that lives about 30 minutes, for
 * users who follow the auth URL and never type the code; without it the code has 4 characters,
 * lives about 15 minutes, and can be typed at `https://plex.tv/link`.
 *
 * With `jwk` (a device key's `publicJwk`, see `PlexJwt`), the PIN is created at clients.plex.tv
 * (`POST {clientsUrl}/pins`, JSON `{ jwk, strong }`) and, once approved, yields a Plex JWT for that
 * key instead of a legacy token: wait for it with `PlexJwt.waitForCredentials`, or with
 * `waitForToken(pin, { deviceJwt })`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreatePinParams {
  readonly strong?: boolean
  readonly jwk?: PublicJwk | undefined
}

/**
 * Options of the auth app URL: `forwardUrl` is where the browser goes once the user has signed in
 * (web apps use it to check the PIN once instead of polling).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthUrlOptions {
  readonly forwardUrl?: string
}

/**
 * How to wait for approval.
 *
 * - `timeout` (default 120 s): give up with `PinTimeout` after this long. The wait also ends, with
 *   `Expired`, when the PIN's `expiresAt` comes first.
 * - `interval` (default 1 s, as Plex asks): time between checks.
 * - `maxInterval` (default 30 s): cap of the interval, which doubles on each HTTP 429 that carries no
 *   `Retry-After`.
 * - `serverUrl`: replaces the plex.tv API base for the checks (the clients.plex.tv base with
 *   `deviceJwt`).
 * - `deviceJwt`: for a PIN created with a `jwk`: a signed device JWT for each check (run once per
 *   check, so it never outlives its 5 minutes; `PlexJwt.signDeviceJwt(key)` makes one). The checks
 *   then go to `GET {clientsUrl}/pins/{id}?deviceJWT=…` and the token they yield is the Plex JWT.
 *   A device JWT Plex refuses fails the wait with a 422 (`PlexError.isSignatureRejected`).
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  readonly timeout?: Duration.DurationInput
  readonly interval?: Duration.DurationInput
  readonly maxInterval?: Duration.DurationInput
  readonly serverUrl?: string
  readonly deviceJwt?: Effect.Effect<Redacted.Redacted<string>, PlexError.PlexError> | undefined
}

/**
 * PIN login: create a PIN, send the user to approve it, wait for (or stream) the result, and link
 * another device's PIN. Methods fail with exactly `PlexBadRequest | PlexUnauthorized | PlexSdkError`
 * (`PinExpired` and `PinTimeout` are `PlexSdkError` reasons).
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * `POST {plexTvUrl}/pins` (`?strong=true` when asked): a new PIN. Needs `product` in `PlexConfig`
   * (`X-Plex-Product`; without it this fails with `InvalidRequest` before sending anything). Never
   * retried: plex.tv throttles client identifiers that create too many PINs. With `params.jwk`:
   * `POST {clientsUrl}/pins` with JSON `{ jwk, strong }`, a PIN that yields a Plex JWT for that key
   * (a key another client identifier registered is refused with a 422,
   * `PlexError.isThumbprintTaken`).
   */
  readonly createPin: (params?: CreatePinParams, options?: CallOptions) => Effect.Effect<Pin, PlexError.PlexError>
  /**
   * `GET {plexTvUrl}/pins/{id}`: the PIN now; `authToken` is set once it is approved. An expired or
   * unknown PIN (HTTP 404, code 1020) fails with `PlexSdkError` reason `PinExpired`.
   */
  readonly checkPin: (id: number, options?: CallOptions) => Effect.Effect<Pin, PlexError.PlexError>
  /** The Plex auth app URL for the PIN, with this client's identifier and product (see {@link makeAuthUrl}). */
  readonly authUrl: (pin: Pick<Pin, "code">, options?: AuthUrlOptions) => string
  /**
   * Checks the PIN once per `interval` and reports each result, until it is approved, expires, or
   * the timeout passes (then the stream fails with `PinTimeout`). Given a PIN id rather than a
   * `Pin` (to resume after a restart), the expiry comes from the first check. An HTTP 429 backs off
   * (the server's `Retry-After`, else a doubled interval) instead of failing.
   */
  readonly pinStates: (pin: Pin | number, options?: WaitOptions) => Stream.Stream<PinState, PlexError.PlexError>
  /**
   * Waits for approval (as {@link Service.pinStates}) and returns the token. Fails with
   * `PlexSdkError` reason `PinExpired` or `PinTimeout`. Interrupting the fiber stops polling at once.
   */
  readonly waitForToken: (
    pin: Pin | number,
    options?: WaitOptions
  ) => Effect.Effect<Redacted.Redacted<string>, PlexError.PlexError>
  /**
   * `PUT {plexTvUrl}/pins/link` with form `code=…`, signed in with the configured token (or
   * `options.token`): approves another device's PIN for this account, as when a phone signs in a TV.
   * An unknown or expired code fails with `PinExpired`.
   */
  readonly linkPin: (
    code: string | Redacted.Redacted<string>,
    options?: CallOptions
  ) => Effect.Effect<void, PlexError.PlexError>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class PinLogin extends Context.Tag("effect-plex/PinLogin")<PinLogin, Service>() {}

// --- pure helpers -------------------------------------------------------------------------

/**
 * Base of the Plex auth app; its parameters go in the fragment after `#?`.
 *
 * @since 0.1.0
 * @category constants
 */
export const authAppUrl = "https://app.plex.tv/auth"

// Lone surrogates would make encodeURIComponent throw; a URL builder must not.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

// RFC 3986 strict, as the `qs` module Plex's docs suggest: `!'()*` are escaped too.
const encode = (value: string): string =>
  encodeURIComponent(value.replace(loneSurrogate, "\uFFFD")).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()
  )

/**
 * The Plex auth app URL for a PIN:
 * `https://app.plex.tv/auth#?clientID=…&code=…&context%5Bdevice%5D%5Bproduct%5D=…[&forwardUrl=…]`,
 * every key and value percent-encoded. The product is what the user sees as the app asking for
 * access; it is left out when the config has none. Pure: use it where only the config is at hand.
 *
 * @since 0.1.0
 * @category utils
 */
export const makeAuthUrl = (
  config: Pick<PlexConfig.Options, "clientIdentifier" | "product">,
  pin: Pick<Pin, "code">,
  options?: AuthUrlOptions
): string => {
  const params: Array<readonly [string, string]> = [["clientID", config.clientIdentifier], ["code", pin.code]]
  if (config.product !== undefined && config.product !== "") params.push(["context[device][product]", config.product])
  if (options?.forwardUrl !== undefined) params.push(["forwardUrl", options.forwardUrl])
  return `${authAppUrl}#?${params.map(([key, value]) => `${encode(key)}=${encode(value)}`).join("&")}`
}

/**
 * The `https://plex.tv/link/?pin=<code>` URL where a user types or confirms a short (4-character)
 * code; `None` for a strong code, which that page does not accept.
 *
 * @since 0.1.0
 * @category utils
 */
export const linkUrl = (pin: Pick<Pin, "code">): Option.Option<string> =>
  pin.code.length < 10 ? Option.some(`https://plex.tv/link/?pin=${encode(pin.code)}`) : Option.none()

/**
 * Builds the service from `HttpClient` and `PlexConfig` (and the `PlexToken`, if any, for `linkPin`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | PlexConfig.PlexConfig> = Effect.gen(
  function*() {
    const config = yield* PlexConfig.PlexConfig
    // Only linkPin sends a token: the service works without a PlexToken (linkPin then needs
    // options.token).
    const run = yield* Request.makeRunner(Option.getOrUndefined(yield* Effect.serviceOption(PlexToken.PlexToken)))
    const createPin = run(endpoints.createPin)
    const createKeyPin = run(endpoints.createKeyPin)
    const checkPin = run(endpoints.checkPin)
    const checkKeyPin = run(endpoints.checkKeyPin)
    const linkPin = run(endpoints.linkPin)

    // With a device JWT, each check signs a fresh one and asks clients.plex.tv; the loop is the same.
    const checkFor = (options: WaitOptions | undefined) => {
      const deviceJwt = options?.deviceJwt
      return deviceJwt === undefined
        ? checkPin
        : (id: number, callOptions?: CallOptions) =>
          Effect.flatMap(deviceJwt, (jwt) => checkKeyPin({ id, deviceJwt: jwt }, callOptions))
    }

    const pinStates = (pin: Pin | number, options?: WaitOptions) => poll(checkFor(options), "pinStates", pin, options)

    const waitForToken = (pin: Pin | number, options?: WaitOptions) =>
      poll(checkFor(options), "waitForToken", pin, options).pipe(
        Stream.filter(isFinal),
        Stream.runHead,
        Effect.flatMap((last) =>
          Option.isSome(last) && last.value._tag === "Approved"
            ? Effect.succeed(last.value.token)
            : Effect.fail(
              new PlexError.PlexSdkError({
                operation: "waitForToken",
                reason: "PinExpired",
                detail: "the PIN expired before it was approved"
              })
            )
        )
      )

    return PinLogin.of({
      createPin: (params, options) => {
        const input = {
          strong: params?.strong === true,
          clientIdentifier: config.clientIdentifier ?? "",
          product: config.product
        }
        return params?.jwk === undefined
          ? createPin(input, options)
          : createKeyPin({ ...input, jwk: params.jwk }, options)
      },
      checkPin,
      authUrl: (pin, options) => makeAuthUrl(config, pin, options),
      pinStates,
      waitForToken,
      linkPin: (code, options) => linkPin(redacted(code), options)
    })
  }
)

/**
 * The service as a layer. Provide an `HttpClient` and `PlexConfig` (with `product`). A `PlexToken`
 * provided to it is used by `linkPin` (the only operation that sends a token); without one,
 * `linkPin` needs `options.token`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PinLogin, never, HttpClient.HttpClient | PlexConfig.PlexConfig> = Layer.effect(
  PinLogin,
  make
)

/**
 * Accessor: {@link Service.createPin} from the `PinLogin` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const createPin = (
  params?: CreatePinParams,
  options?: CallOptions
): Effect.Effect<Pin, PlexError.PlexError, PinLogin> =>
  Effect.flatMap(PinLogin, (service) => service.createPin(params, options))

/**
 * Accessor: {@link Service.checkPin} from the `PinLogin` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const checkPin = (id: number, options?: CallOptions): Effect.Effect<Pin, PlexError.PlexError, PinLogin> =>
  Effect.flatMap(PinLogin, (service) => service.checkPin(id, options))

/**
 * Accessor: {@link Service.authUrl} from the `PinLogin` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const authUrl = (pin: Pick<Pin, "code">, options?: AuthUrlOptions): Effect.Effect<string, never, PinLogin> =>
  Effect.map(PinLogin, (service) => service.authUrl(pin, options))

/**
 * Accessor: {@link Service.pinStates} from the `PinLogin` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const pinStates = (
  pin: Pin | number,
  options?: WaitOptions
): Stream.Stream<PinState, PlexError.PlexError, PinLogin> =>
  Stream.unwrap(Effect.map(PinLogin, (service) => service.pinStates(pin, options)))

/**
 * Accessor: {@link Service.waitForToken} from the `PinLogin` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const waitForToken = (
  pin: Pin | number,
  options?: WaitOptions
): Effect.Effect<Redacted.Redacted<string>, PlexError.PlexError, PinLogin> =>
  Effect.flatMap(PinLogin, (service) => service.waitForToken(pin, options))

/**
 * Accessor: {@link Service.linkPin} from the `PinLogin` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const linkPin = (
  code: string | Redacted.Redacted<string>,
  options?: CallOptions
): Effect.Effect<void, PlexError.PlexError, PinLogin> =>
  Effect.flatMap(PinLogin, (service) => service.linkPin(code, options))
