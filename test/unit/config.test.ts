import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Either, Layer, Option, Redacted } from "effect"
import { Authentication, PlexConfig, PlexToken } from "../../src/index.js"
import { baseConfig, expectFailure, makeTestClient, reply, setup } from "./helpers.js"

const env = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))

const allVars = {
  PLEX_CLIENT_IDENTIFIER: "env-cid-1",
  PLEX_PRODUCT: "Env Product",
  PLEX_VERSION: "9.8.7",
  PLEX_PLATFORM: "EnvOS",
  PLEX_PLATFORM_VERSION: "42",
  PLEX_DEVICE: "EnvDevice",
  PLEX_DEVICE_NAME: "Env Device Name",
  PLEX_MODEL: "EnvModel",
  PLEX_DEVICE_VENDOR: "EnvVendor",
  PLEX_MARKETPLACE: "EnvMarket",
  PLEX_SERVER_URL: "http://127.0.0.1:32401/",
  PLEX_TV_URL: "http://127.0.0.1:32402/api/v2"
}

const user = reply.fixture(200, "get-token-details.200.spec-example.json")

describe("PlexConfig", () => {
  it.effect("layerFromEnv reads every PLEX_* variable", () =>
    Effect.gen(function*() {
      const config = yield* PlexConfig.PlexConfig.pipe(
        Effect.provide(PlexConfig.layerFromEnv.pipe(Layer.provide(Layer.setConfigProvider(env(allVars)))))
      )
      assert.strictEqual(config.clientIdentifier, "env-cid-1")
      assert.strictEqual(config.product, "Env Product")
      assert.strictEqual(config.version, "9.8.7")
      assert.strictEqual(config.platform, "EnvOS")
      assert.strictEqual(config.platformVersion, "42")
      assert.strictEqual(config.device, "EnvDevice")
      assert.strictEqual(config.deviceName, "Env Device Name")
      assert.strictEqual(config.model, "EnvModel")
      assert.strictEqual(config.deviceVendor, "EnvVendor")
      assert.strictEqual(config.marketplace, "EnvMarket")
      assert.strictEqual(config.serverUrl, "http://127.0.0.1:32401")
      assert.strictEqual(config.plexTvUrl, "http://127.0.0.1:32402/api/v2")
      assert.deepStrictEqual(config.headers, {
        accept: "application/json",
        "x-plex-client-identifier": "env-cid-1",
        "x-plex-product": "Env Product",
        "x-plex-version": "9.8.7",
        "x-plex-platform": "EnvOS",
        "x-plex-platform-version": "42",
        "x-plex-device": "EnvDevice",
        "x-plex-device-name": "Env Device Name",
        "x-plex-model": "EnvModel",
        "x-plex-device-vendor": "EnvVendor",
        "x-plex-marketplace": "EnvMarket"
      })
    }))

  it.effect("operations built from layerFromEnv send the environment's identity to its URLs", () =>
    Effect.gen(function*() {
      const client = makeTestClient((request) =>
        request.url.includes("/security/token") ? reply.json(200, { MediaContainer: { token: "transient-e" } }) : user
      )
      const layer = Authentication.layer.pipe(
        Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layerFromEnv, PlexToken.layerFromEnv)),
        Layer.provide(Layer.setConfigProvider(env({ ...allVars, PLEX_TOKEN: "tok-from-env-5" })))
      )
      yield* Effect.provide(
        Effect.zip(Authentication.getTokenDetails(), Authentication.getTransientToken()),
        layer
      )
      const [details, transient] = client.requests
      assert.strictEqual(details.url, "http://127.0.0.1:32402/api/v2/user")
      assert.strictEqual(transient.url, "http://127.0.0.1:32401/security/token?type=delegation&scope=all")
      for (const request of client.requests) {
        assert.strictEqual(request.headers["x-plex-client-identifier"], "env-cid-1")
        assert.strictEqual(request.headers["x-plex-marketplace"], "EnvMarket")
        assert.strictEqual(request.headers["x-plex-token"], "tok-from-env-5")
      }
    }))

  it.effect("only PLEX_CLIENT_IDENTIFIER is required; the plex.tv base defaults", () =>
    Effect.gen(function*() {
      const config = yield* PlexConfig.PlexConfig.pipe(
        Effect.provide(PlexConfig.layerFromEnv),
        Effect.withConfigProvider(env({ PLEX_CLIENT_IDENTIFIER: "only" }))
      )
      assert.strictEqual(config.clientIdentifier, "only")
      assert.isUndefined(config.serverUrl)
      assert.isUndefined(config.product)
      assert.strictEqual(config.plexTvUrl, PlexConfig.defaultPlexTvUrl)
      assert.strictEqual(config.plexTvUrl, "https://plex.tv/api/v2")
      assert.deepStrictEqual(config.headers, { accept: "application/json", "x-plex-client-identifier": "only" })
    }))

  it.effect("a missing PLEX_CLIENT_IDENTIFIER fails layer construction with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const { PLEX_CLIENT_IDENTIFIER: _, ...rest } = allVars
      const error = yield* expectFailure(
        Layer.build(PlexConfig.layerFromEnv).pipe(Effect.scoped, Effect.withConfigProvider(env(rest)))
      )
      assert.strictEqual(error._op, "MissingData")
      assert.include(String(error), "PLEX_CLIENT_IDENTIFIER")

      // And an Authentication layer built on it fails the same way, before any request.
      const client = makeTestClient(user)
      const layer = Authentication.layer.pipe(
        Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layerFromEnv, PlexToken.none)),
        Layer.provide(Layer.setConfigProvider(env(rest)))
      )
      const viaService = yield* expectFailure(Effect.provide(Authentication.getTokenDetails(), layer))
      assert.include(String(viaService), "PLEX_CLIENT_IDENTIFIER")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("layerConfig takes any Config, e.g. custom variable names", () =>
    Effect.gen(function*() {
      const layer = PlexConfig.layerConfig({
        clientIdentifier: Config.string("MY_ID"),
        product: Config.succeed("Fixed Product"),
        serverUrl: Config.string("MY_PMS")
      })
      const config = yield* PlexConfig.PlexConfig.pipe(
        Effect.provide(layer),
        Effect.withConfigProvider(env({ MY_ID: "my-id", MY_PMS: "http://127.0.0.1:1/" }))
      )
      assert.strictEqual(config.clientIdentifier, "my-id")
      assert.strictEqual(config.serverUrl, "http://127.0.0.1:1")
      assert.strictEqual(config.headers["x-plex-product"], "Fixed Product")
    }))

  it("make trims one trailing slash and omits empty identity values", () => {
    const config = Either.getOrThrow(PlexConfig.make({
      clientIdentifier: "c",
      product: "",
      device: undefined,
      serverUrl: "http://127.0.0.1:32400/",
      plexTvUrl: "https://plex.tv/api/v2/"
    }))
    assert.strictEqual(config.serverUrl, "http://127.0.0.1:32400")
    assert.strictEqual(config.plexTvUrl, "https://plex.tv/api/v2")
    assert.deepStrictEqual(config.headers, { accept: "application/json", "x-plex-client-identifier": "c" })
  })
})

describe("PlexToken", () => {
  it.effect("layerFromEnv reads PLEX_TOKEN as Redacted", () =>
    Effect.gen(function*() {
      const token = yield* Effect.flatMap(PlexToken.PlexToken, (service) => service.get).pipe(
        Effect.provide(
          PlexToken.layerFromEnv.pipe(Layer.provide(Layer.setConfigProvider(env({ PLEX_TOKEN: "tok-env-7" }))))
        )
      )
      assert.isTrue(Option.isSome(token))
      const value = Option.getOrThrow(token)
      assert.isTrue(Redacted.isRedacted(value))
      assert.strictEqual(Redacted.value(value), "tok-env-7")
      assert.strictEqual(String(value), "<redacted>")
      assert.notInclude(JSON.stringify(value), "tok-env-7")
    }))

  it.effect("layerFromEnv without PLEX_TOKEN gives no token, and token operations fail as InvalidRequest", () =>
    Effect.gen(function*() {
      const provider = env({})
      const token = yield* Effect.flatMap(PlexToken.PlexToken, (service) => service.get).pipe(
        Effect.provide(PlexToken.layerFromEnv),
        Effect.withConfigProvider(provider)
      )
      assert.isTrue(Option.isNone(token))

      const client = makeTestClient(user)
      const error = yield* expectFailure(
        Authentication.getTokenDetails().pipe(
          Effect.provide(
            Authentication.layer.pipe(
              Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer(baseConfig), PlexToken.layerFromEnv))
            )
          ),
          Effect.withConfigProvider(provider)
        )
      )
      assert.strictEqual(error._tag, "PlexSdkError")
      assert.strictEqual((error as any).reason, "InvalidRequest")
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("layer wraps a plain string in Redacted at once", () =>
    Effect.gen(function*() {
      const token = yield* Effect.flatMap(PlexToken.PlexToken, (service) => service.get).pipe(
        Effect.provide(PlexToken.layer("tok-plain-3"))
      )
      const value = Option.getOrThrow(token)
      assert.isTrue(Redacted.isRedacted(value))
      assert.strictEqual(Redacted.value(value), "tok-plain-3")
    }))

  it.effect("layerStore: set and clear change what operations send", () =>
    Effect.gen(function*() {
      const client = makeTestClient(user)
      const program = Effect.gen(function*() {
        const store = yield* PlexToken.PlexTokenStore
        const auth = yield* Authentication.Authentication

        const before = yield* expectFailure(auth.getTokenDetails())
        assert.strictEqual((before as any).reason, "InvalidRequest")
        assert.strictEqual(client.requests.length, 0)

        yield* store.set(Redacted.make("tok-first-1"))
        yield* auth.getTokenDetails()
        assert.strictEqual(client.last().headers["x-plex-token"], "tok-first-1")

        yield* store.set(Redacted.make("tok-second-2"))
        yield* auth.getTokenDetails()
        assert.strictEqual(client.last().headers["x-plex-token"], "tok-second-2")

        yield* store.clear
        const after = yield* expectFailure(auth.getTokenDetails())
        assert.strictEqual((after as any).reason, "InvalidRequest")
        assert.strictEqual(client.requests.length, 2)
      })
      const tokens = PlexToken.layerStore()
      const layer = Layer.merge(
        Authentication.layer.pipe(
          Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer({ clientIdentifier: "c" }), tokens))
        ),
        tokens
      )
      // One store instance: Layer memoizes `tokens` within this provide.
      yield* Effect.provide(program, layer)
    }))

  it.effect("layerStore with an initial token sends it; makeStore holds its own value", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(user, { token: PlexToken.layerStore("tok-initial-4") })
      yield* auth.getTokenDetails()
      assert.strictEqual(client.last().headers["x-plex-token"], "tok-initial-4")

      const store = yield* PlexToken.makeStore()
      assert.isTrue(Option.isNone(yield* store.get))
      yield* store.set(Redacted.make("tok-5"))
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.get)), "tok-5")
      yield* store.clear
      assert.isTrue(Option.isNone(yield* store.get))
    }))

  it.effect("a sign-in token can be stored and used by the next call", () =>
    Effect.gen(function*() {
      const client = makeTestClient((request) =>
        request.url.endsWith("/users/signin")
          ? reply.fixture(201, "post-users-sign-in-data.201.spec-test-2.json")
          : user
      )
      const tokens = PlexToken.layerStore()
      const layer = Layer.merge(
        Authentication.layer.pipe(
          Layer.provide(Layer.mergeAll(client.layer, PlexConfig.layer({ clientIdentifier: "c" }), tokens))
        ),
        tokens
      )
      yield* Effect.gen(function*() {
        const signedIn = yield* Authentication.postUsersSignInData({ login: "u", password: "p" })
        yield* Effect.flatMap(PlexToken.PlexTokenStore, (store) => store.set(signedIn.authToken))
        yield* Authentication.getTokenDetails()
      }).pipe(Effect.provide(layer))
      assert.strictEqual(client.last().headers["x-plex-token"], "gHjKlMnOpQrStUvWxYz")
    }))

  it.effect("layerConfig takes any Config", () =>
    Effect.gen(function*() {
      const token = yield* Effect.flatMap(PlexToken.PlexToken, (service) => service.get).pipe(
        Effect.provide(PlexToken.layerConfig(Config.option(Config.redacted("MY_TOKEN")))),
        Effect.withConfigProvider(env({ MY_TOKEN: "tok-mine" }))
      )
      assert.strictEqual(Redacted.value(Option.getOrThrow(token)), "tok-mine")
    }))
})
