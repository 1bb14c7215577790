/**
 * What every command runs with: the global options, the output, the credentials store and the
 * profile's key in it, the Plex endpoints and identity (from the `PLEX_*` variables, or the embedded
 * fake with `--fake`), and the SDK layers built from them (`Plex.layer` for a token, `Plex.layerJwt`
 * for JWT credentials, which refreshes and stores them by itself).
 *
 * @since 0.2.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { homedir, hostname } from "node:os"
import { join } from "node:path"
import { Plex, PlexConfig, PlexJwt, type PlexToken } from "../index.js"
import { CliError, ExitCode } from "./errors.js"
import * as Fake from "./fake.js"
import type * as Output from "./output.js"
import * as Profile from "./profile.js"

/**
 * The global options, as parsed.
 *
 * @since 0.2.0
 * @category models
 */
export interface Globals {
  readonly json: boolean
  readonly profile: string
  readonly fake: boolean
  readonly showToken: boolean
}

/**
 * The SDK as the commands use it: every service, the configuration and the token source.
 *
 * @since 0.2.0
 * @category models
 */
export type Sdk = Plex.Services | PlexConfig.PlexConfig | PlexToken.PlexToken

/**
 * The context of one run.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  readonly globals: Globals
  readonly out: Output.Output
  readonly store: KeyValueStore.KeyValueStore
  /** The credentials directory. */
  readonly directory: string
  /** The profile's key in the store. */
  readonly key: string
  /** Endpoints and identity, without the client identifier (which belongs to a profile). */
  readonly config: Omit<PlexConfig.Options, "clientIdentifier">
  /** `PLEX_CLIENT_IDENTIFIER`, for a profile signed in for the first time. */
  readonly envClientIdentifier: Option.Option<string>
  /** `PLEX_TOKEN`: used instead of the profile when set (not with `--fake`). */
  readonly envToken: Option.Option<Redacted.Redacted<string>>
  readonly fake: Option.Option<Fake.Running>
}

/**
 * The tag of the run's context.
 *
 * @since 0.2.0
 * @category tags
 */
export class Cli extends Context.Tag("effect-plex/cli/Cli")<Cli, Service>() {}

/**
 * The package's version, for `--version` and `X-Plex-Version`.
 *
 * @since 0.2.0
 * @category constants
 */
export const version: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown
    }
    return typeof pkg.version === "string" ? pkg.version : "0.0.0"
  } catch {
    return "0.0.0"
  }
})()

/**
 * `$XDG_CONFIG_HOME/effect-plex`, else `~/.config/effect-plex` (as `Plex.layerJwt`).
 *
 * @since 0.2.0
 * @category utils
 */
export const directoryOf = (env: NodeJS.ProcessEnv): string => {
  const xdg = env["XDG_CONFIG_HOME"]
  const base = xdg !== undefined && xdg.startsWith("/") ? xdg : join(env["HOME"] || homedir(), ".config")
  return join(base, "effect-plex")
}

// PlexConfig.fromEnv needs a client identifier; a profile brings its own, so any placeholder does.
const fromEnv = PlexConfig.fromEnv.pipe(
  Effect.withConfigProvider(
    ConfigProvider.fromEnv().pipe(
      ConfigProvider.orElse(() => ConfigProvider.fromMap(new Map([["PLEX_CLIENT_IDENTIFIER", "unused"]])))
    )
  )
)

const defined = <A extends object>(options: A): Partial<A> =>
  Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<A>

const identity = {
  product: "plex-auth",
  version,
  platform: "Node.js",
  platformVersion: process.versions.node,
  device: process.platform,
  deviceName: hostname()
}

/**
 * Builds the run's context (starting the fake with `--fake`) for the life of the scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  globals: Globals,
  out: Output.Output
): Effect.Effect<Service, CliError | ConfigError.ConfigError | unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const key = yield* Profile.keyOf(globals.profile, globals.fake)
    const directory = directoryOf(process.env)
    const store = Context.get(yield* Layer.build(PlexJwt.layerFileStore(directory)), KeyValueStore.KeyValueStore)
    const { clientIdentifier: _, ...env } = yield* fromEnv
    const envClientIdentifier = yield* Config.option(Config.nonEmptyString("PLEX_CLIENT_IDENTIFIER"))
    const envToken = yield* Config.option(Config.redacted("PLEX_TOKEN"))
    const config = { ...identity, ...defined(env) }
    if (!globals.fake) {
      return { globals, out, store, directory, key, config, envClientIdentifier, envToken, fake: Option.none() }
    }
    const running = yield* Fake.start(process.env["PLEX_AUTH_FAKE_APPROVE_AFTER"])
    yield* out.say(
      `Using the built-in fake Plex at ${running.urls.url} (nothing leaves this machine).`,
      `Fake account: ${Fake.account.login}, password "${Fake.account.password}", ` +
        `verification code ${Fake.account.verificationCode}.`
    )
    const fakeConfig = {
      ...config,
      plexTvUrl: running.urls.plexTvUrl,
      clientsUrl: running.urls.plexTvUrl,
      serverUrl: undefined
    }
    const service: Service = {
      globals,
      out,
      store,
      directory,
      key,
      config: fakeConfig,
      envClientIdentifier,
      envToken: Option.none(),
      fake: Option.some(running)
    }
    yield* restoreJwt(service, running)
    return service
  })

/** The SDK for a client identifier and an optional first token. */
const layerFor = (service: Service, clientIdentifier: string, token: Option.Option<Redacted.Redacted<string>>) =>
  Plex.layer({ ...service.config, clientIdentifier, token: Option.getOrUndefined(token) }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

// A stored JWT profile names a device key that this run's fake has never seen: register it.
const restoreJwt = (service: Service, running: Fake.Running) =>
  Effect.gen(function*() {
    const entry = yield* Profile.load(service.store, service.key)
    if (Option.isNone(entry) || entry.value._tag !== "Jwt") return
    const { credentials } = entry.value
    const token = yield* Fake.freshToken(running)
    const renewed = yield* PlexJwt.registerKey(credentials.deviceKey, { token }).pipe(
      Effect.provide(layerFor(service, credentials.clientIdentifier, Option.none()))
    )
    yield* Profile.saveJwt(service.store, service.key, renewed)
  })

/**
 * The client identifier for a new sign-in: the profile's (a device keeps its identity), else
 * `PLEX_CLIENT_IDENTIFIER`, else a new one.
 *
 * @since 0.2.0
 * @category utils
 */
export const clientIdentifierFor = (service: Service): Effect.Effect<string, CliError> =>
  Effect.map(Profile.load(service.store, service.key), (entry) =>
    Option.isSome(entry)
      ? entry.value.clientIdentifier
      : Option.getOrElse(service.envClientIdentifier, () => `plex-auth-${randomUUID()}`))

/**
 * The SDK without a stored token (for sign-in and PIN login), as `clientIdentifier`.
 *
 * @since 0.2.0
 * @category layers
 */
export const anonymous = (
  clientIdentifier: string
): Layer.Layer<Sdk | PlexToken.PlexTokenStore, ConfigError.ConfigError, Cli> =>
  Layer.unwrapEffect(Effect.map(Cli, (service) => layerFor(service, clientIdentifier, Option.none())))

/**
 * How the signed-in commands sign in: `PLEX_TOKEN`, else the profile's token, else its JWT
 * credentials (refreshed when they near expiry, and stored again).
 *
 * @since 0.2.0
 * @category models
 */
export type Session =
  | { readonly _tag: "Env"; readonly clientIdentifier: string }
  | { readonly _tag: "Token"; readonly clientIdentifier: string }
  | { readonly _tag: "Jwt"; readonly clientIdentifier: string; readonly credentials: PlexJwt.Credentials }

const notSignedIn = (service: Service) =>
  new CliError({
    code: ExitCode.Unauthorized,
    message: `Not signed in (profile ${service.globals.profile}${service.globals.fake ? ", fake" : ""}).`,
    hint: `Sign in first: plex-auth login${service.globals.fake ? " --fake" : ""}` +
      `${service.globals.profile === "default" ? "" : ` --profile ${service.globals.profile}`}.`
  })

/**
 * The signed-in SDK and how it is signed in. Fails with exit code 3 when there is nothing to sign
 * in with.
 *
 * @since 0.2.0
 * @category layers
 */
export const signedIn: Effect.Effect<
  { readonly session: Session; readonly layer: Layer.Layer<Sdk, unknown> },
  CliError,
  Cli
> = Effect.gen(function*() {
  const service = yield* Cli
  if (Option.isSome(service.envToken)) {
    const clientIdentifier = Option.getOrElse(service.envClientIdentifier, () => `plex-auth-${randomUUID()}`)
    return {
      session: { _tag: "Env", clientIdentifier },
      layer: layerFor(service, clientIdentifier, service.envToken)
    }
  }
  const entry = yield* Profile.load(service.store, service.key)
  if (Option.isNone(entry)) return yield* notSignedIn(service)
  const value = entry.value
  if (value._tag === "Token") {
    return {
      session: { _tag: "Token", clientIdentifier: value.clientIdentifier },
      layer: layerFor(service, value.clientIdentifier, Option.some(value.token))
    }
  }
  const layer = Plex.layerJwt({
    ...service.config,
    clientIdentifier: value.clientIdentifier,
    jwt: { key: service.key, store: Layer.succeed(KeyValueStore.KeyValueStore, service.store) }
  }).pipe(Layer.provide(FetchHttpClient.layer))
  return { session: { _tag: "Jwt", clientIdentifier: value.clientIdentifier, credentials: value.credentials }, layer }
})

/**
 * The token text for `--show-token`, else nothing: tokens are printed only when asked for.
 *
 * @since 0.2.0
 * @category utils
 */
export const shown = (service: Service, token: Redacted.Redacted<string>): Record<string, string> =>
  service.globals.showToken ? { token: Redacted.value(token) } : {}
