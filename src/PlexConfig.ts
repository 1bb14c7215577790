/**
 * The client's identity and endpoints. Every request carries the identity as `X-Plex-*` headers;
 * plex.tv rejects requests without `X-Plex-Client-Identifier` (code 1000) and throttles clients that
 * share one, so generate it once per installation and persist it.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"

/**
 * Options accepted by {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `X-Plex-Client-Identifier`: unique per installation, stable across restarts. Required. */
  readonly clientIdentifier: string
  /** `X-Plex-Product`: the app name shown under the user's Authorized Devices. PIN login needs it. */
  readonly product?: string | undefined
  /** `X-Plex-Version` */
  readonly version?: string | undefined
  /** `X-Plex-Platform` */
  readonly platform?: string | undefined
  /** `X-Plex-Platform-Version` */
  readonly platformVersion?: string | undefined
  /** `X-Plex-Device` */
  readonly device?: string | undefined
  /** `X-Plex-Device-Name` */
  readonly deviceName?: string | undefined
  /** `X-Plex-Model` */
  readonly model?: string | undefined
  /** `X-Plex-Device-Vendor` */
  readonly deviceVendor?: string | undefined
  /** `X-Plex-Marketplace` */
  readonly marketplace?: string | undefined
  /** Base URL of the Plex Media Server, e.g. `http://192.168.1.10:32400`. Needed by PMS operations. */
  readonly serverUrl?: string | undefined
  /** Base of the plex.tv API, path included. Default {@link defaultPlexTvUrl}. */
  readonly plexTvUrl?: string | undefined
  /**
   * Base of the clients.plex.tv API (JWT device auth: keys, nonces, token exchange, PINs with a
   * key), path included. Default {@link defaultClientsUrl}.
   */
  readonly clientsUrl?: string | undefined
}

/**
 * The resolved configuration held by the {@link PlexConfig} service. `headers` is computed once: the
 * identity headers every request sends, lower-cased, with `accept: application/json`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends Options {
  readonly plexTvUrl: string
  readonly clientsUrl: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Per-call overrides accepted by every operation of every module:
 *
 * - `serverUrl` replaces the base URL of the host the operation targets: the Plex Media Server URL
 *   for PMS operations, the plex.tv API base (`https://plex.tv/api/v2`, path included) for plex.tv
 *   operations. It must be an absolute http(s) URL without query or fragment.
 * - `token` replaces the configured `PlexToken` for this call.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  readonly serverUrl?: string | undefined
  readonly token?: Redacted.Redacted<string> | undefined
}

/**
 * The plex.tv API base used when none is configured.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPlexTvUrl = "https://plex.tv/api/v2"

/**
 * The clients.plex.tv API base used when none is configured.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultClientsUrl = "https://clients.plex.tv/api/v2"

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexConfig extends Context.Tag("effect-plex/PlexConfig")<PlexConfig, Service>() {}

const headerNames: ReadonlyArray<readonly [keyof Options, string]> = [
  ["clientIdentifier", "x-plex-client-identifier"],
  ["product", "x-plex-product"],
  ["version", "x-plex-version"],
  ["platform", "x-plex-platform"],
  ["platformVersion", "x-plex-platform-version"],
  ["device", "x-plex-device"],
  ["deviceName", "x-plex-device-name"],
  ["model", "x-plex-model"],
  ["deviceVendor", "x-plex-device-vendor"],
  ["marketplace", "x-plex-marketplace"]
]

const trimSlash = (url: string): string => url.endsWith("/") ? url.slice(0, -1) : url

const utf8 = new TextEncoder()

// Plex asks for UTF-8 in non-ASCII identity values ("Ada’s iPhone"); header values are byte
// strings, so each UTF-8 byte travels as one character.
const headerValue = (value: string): string =>
  /^[\x00-\x7f]*$/.test(value) ? value : String.fromCharCode(...utf8.encode(value))

const baseProblem = (url: string): string | undefined => {
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "must be an http(s) URL"
    // Paths are appended to a base as text: a query or fragment there would swallow them.
    if (parsed.search !== "" || parsed.hash !== "") return "must not carry a query or fragment"
    return undefined
  } catch {
    return "is not an absolute URL"
  }
}

/**
 * Resolves options into the service value, or fails with a `ConfigError` naming the option when
 * it cannot work: an empty `clientIdentifier` (plex.tv answers 400, code 1000, to every request), a
 * URL that is not an absolute http(s) URL without query or fragment, or an identity value holding
 * control characters (no request can carry it). The result is an `Either`, which is also an
 * `Effect`. Non-ASCII identity values are sent as UTF-8 bytes, as Plex asks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Either.Either<Service, ConfigError.ConfigError> => {
  const invalid = (key: keyof Options, message: string) =>
    Either.left(ConfigError.InvalidData([key], `PlexConfig.${key} ${message}`))
  if (typeof options.clientIdentifier !== "string" || options.clientIdentifier.trim() === "") {
    return invalid("clientIdentifier", "must not be empty: plex.tv rejects requests without one (code 1000)")
  }
  const headers: Record<string, string> = { accept: "application/json" }
  for (const [key, name] of headerNames) {
    const value = options[key]
    if (value === undefined || value === "") continue
    if (/[\x00-\x1f\x7f]/.test(value)) return invalid(key, "holds control characters, which no request can carry")
    headers[name] = headerValue(value)
  }
  for (const key of ["serverUrl", "plexTvUrl", "clientsUrl"] as const) {
    const value = options[key]
    const problem = value === undefined ? undefined : baseProblem(value)
    if (problem !== undefined) return invalid(key, problem)
  }
  return Either.right({
    ...options,
    plexTvUrl: trimSlash(options.plexTvUrl ?? defaultPlexTvUrl),
    clientsUrl: trimSlash(options.clientsUrl ?? defaultClientsUrl),
    ...(options.serverUrl === undefined ? {} : { serverUrl: trimSlash(options.serverUrl) }),
    headers
  })
}

/**
 * A layer from plain options. Fails layer construction with a `ConfigError` for options
 * {@link make} refuses, so a wrong URL or an empty client identifier is reported once, at start-up.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<PlexConfig, ConfigError.ConfigError> =>
  Layer.effect(PlexConfig, make(options))

/**
 * A layer from `Config`s, e.g. `{ clientIdentifier: Config.string("MY_ID") }`. Fails layer
 * construction with a `ConfigError` naming any missing required value.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Config.Config.Wrap<Options>): Layer.Layer<PlexConfig, ConfigError.ConfigError> =>
  Layer.effect(PlexConfig, Effect.flatMap(Config.unwrap(options), make))

const optional = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map((o) => o._tag === "Some" ? o.value : undefined))

/**
 * The options as read from `PLEX_CLIENT_IDENTIFIER` (required), `PLEX_PRODUCT`, `PLEX_VERSION`,
 * `PLEX_PLATFORM`, `PLEX_PLATFORM_VERSION`, `PLEX_DEVICE`, `PLEX_DEVICE_NAME`, `PLEX_MODEL`,
 * `PLEX_DEVICE_VENDOR`, `PLEX_MARKETPLACE`, `PLEX_SERVER_URL`, `PLEX_TV_URL` and `PLEX_CLIENTS_URL`,
 * from the current `ConfigProvider` (the environment by default).
 *
 * @since 0.2.0
 * @category config
 */
// Suspended and marked pure so that bundlers drop it, and the Config module, from programs that do
// not use it.
export const fromEnv: Config.Config<Options> = /*#__PURE__*/ Config.suspend(() =>
  Config.all({
    clientIdentifier: Config.string("PLEX_CLIENT_IDENTIFIER"),
    product: optional("PLEX_PRODUCT"),
    version: optional("PLEX_VERSION"),
    platform: optional("PLEX_PLATFORM"),
    platformVersion: optional("PLEX_PLATFORM_VERSION"),
    device: optional("PLEX_DEVICE"),
    deviceName: optional("PLEX_DEVICE_NAME"),
    model: optional("PLEX_MODEL"),
    deviceVendor: optional("PLEX_DEVICE_VENDOR"),
    marketplace: optional("PLEX_MARKETPLACE"),
    serverUrl: optional("PLEX_SERVER_URL"),
    plexTvUrl: optional("PLEX_TV_URL"),
    clientsUrl: optional("PLEX_CLIENTS_URL")
  })
)

/**
 * The configuration from {@link fromEnv}. A missing `PLEX_CLIENT_IDENTIFIER`, or a value
 * {@link make} refuses, fails layer construction with a `ConfigError` that names it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<PlexConfig, ConfigError.ConfigError> = /*#__PURE__*/ Layer.suspend(() =>
  Layer.effect(PlexConfig, Effect.flatMap(fromEnv, make))
)
