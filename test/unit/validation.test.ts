import { assert, describe, it } from "@effect/vitest"
import { ConfigError, Effect, Layer, Redacted } from "effect"
import type { Authentication } from "../../src/index.js"
import { PlexConfig, PlexError } from "../../src/index.js"
import type { SetupOptions } from "./helpers.js"
import { expectFailure, reply, SERVER_URL, setup } from "./helpers.js"

/**
 * Runs `call` against a client that would answer successfully, and asserts it fails with
 * InvalidRequest before anything is sent.
 */
const expectInvalid = (
  call: (auth: Authentication.Service) => Effect.Effect<unknown, PlexError.PlexError>,
  options: SetupOptions = {}
) =>
  Effect.gen(function*() {
    const { auth, client } = yield* setup(reply.json(200, {}), options)
    const error = yield* expectFailure(call(auth))
    assert.instanceOf(error, PlexError.PlexSdkError, String(error))
    const sdk = error as PlexError.PlexSdkError
    assert.strictEqual(sdk.reason, "InvalidRequest", sdk.message)
    assert.isTrue(PlexError.isReason(error, "InvalidRequest"))
    assert.strictEqual(client.requests.length, 0, "nothing may be sent for an invalid request")
    return sdk
  })

describe("validation: InvalidRequest and zero requests", () => {
  it.effect("empty or blank login", () =>
    Effect.gen(function*() {
      const empty = yield* expectInvalid((auth) => auth.postUsersSignInData({ login: "", password: "pw-1" }))
      assert.include(empty.detail, "login")
      assert.strictEqual(empty.operation, "postUsersSignInData")
      yield* expectInvalid((auth) => auth.postUsersSignInData({ login: "   ", password: "pw-1" }))
    }))

  it.effect("empty password, plain or Redacted", () =>
    Effect.gen(function*() {
      const plain = yield* expectInvalid((auth) => auth.postUsersSignInData({ login: "u", password: "" }))
      assert.include(plain.detail, "password")
      yield* expectInvalid((auth) => auth.postUsersSignInData({ login: "u", password: Redacted.make("") }))
    }))

  it.effect("empty or blank verificationCode", () =>
    Effect.gen(function*() {
      const empty = yield* expectInvalid((auth) =>
        auth.postUsersSignInData({ login: "u", password: "pw-2", verificationCode: "" })
      )
      assert.include(empty.detail, "verificationCode")
      yield* expectInvalid((auth) =>
        auth.postUsersSignInData({ login: "u", password: "pw-2", verificationCode: Redacted.make("  ") })
      )
    }))

  it.effect("the password never appears in a validation error", () =>
    Effect.gen(function*() {
      const error = yield* expectInvalid((auth) =>
        auth.postUsersSignInData({ login: "u", password: "pw-hidden-77", verificationCode: "" })
      )
      assert.notInclude(JSON.stringify(error), "pw-hidden-77")
      assert.notInclude(String(error), "pw-hidden-77")
    }))

  for (
    const bad of [
      "",
      "abc",
      "http://192.168.1.10:32400",
      "server://",
      "server:/abc",
      "provider://",
      "client://abc",
      "server:// abc"
    ]
  ) {
    it.effect(`source ${JSON.stringify(bad)} is rejected`, () =>
      Effect.gen(function*() {
        const error = yield* expectInvalid((auth) => auth.getSourceConnectionInformation({ source: bad }))
        assert.include(error.detail, "server://")
        assert.strictEqual(error.operation, "getSourceConnectionInformation")
      }))
  }

  it.effect("server:// and provider:// sources are accepted", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.json(200, {
        MediaContainer: { Device: { name: "n", clientIdentifier: "c" } }
      }))
      yield* auth.getSourceConnectionInformation({ source: "server://abc123" })
      yield* auth.getSourceConnectionInformation({ source: "provider://tv.plex.provider.epg" })
      assert.strictEqual(client.requests.length, 2)
    }))

  it.effect("a PMS operation with no server URL", () =>
    Effect.gen(function*() {
      const config = { config: { clientIdentifier: "cid" } }
      const transient = yield* expectInvalid((auth) => auth.getTransientToken(), config)
      assert.include(transient.detail, "serverUrl")
      yield* expectInvalid((auth) => auth.getSourceConnectionInformation({ source: "server://abc" }), config)
      yield* expectInvalid((auth) => auth.getTransientToken(undefined, { serverUrl: "" }), config)
    }))

  it.effect("the plex.tv operations do not need a server URL", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(
        reply.json(200, {
          id: 1,
          uuid: "u",
          username: "n",
          title: "t",
          email: "e",
          authToken: "tok-x1"
        }),
        { config: { clientIdentifier: "cid" } }
      )
      yield* auth.getTokenDetails()
      assert.strictEqual(client.requests.length, 1)
    }))

  it.effect("an operation needing a token with PlexToken.none", () =>
    Effect.gen(function*() {
      const none = { token: null }
      const details = yield* expectInvalid((auth) => auth.getTokenDetails(), none)
      assert.include(details.detail, "token")
      yield* expectInvalid((auth) => auth.getTransientToken(), none)
      yield* expectInvalid((auth) => auth.getSourceConnectionInformation({ source: "server://abc" }), none)
      // An empty token is no token.
      yield* expectInvalid((auth) => auth.getTokenDetails(), { token: "" })
      yield* expectInvalid((auth) => auth.getTokenDetails({ token: Redacted.make("") }), none)
    }))

  it.effect("options.token makes a call possible with PlexToken.none", () =>
    Effect.gen(function*() {
      const { auth, client } = yield* setup(reply.json(200, { MediaContainer: { token: "transient-1" } }), {
        token: null
      })
      yield* auth.getTransientToken(undefined, { token: Redacted.make("tok-call-only") })
      assert.strictEqual(client.last().headers["x-plex-token"], "tok-call-only")
    }))

  for (
    const base of [
      "not a url",
      "ftp://127.0.0.1/",
      "127.0.0.1:32400",
      "file:///etc/passwd",
      "javascript:alert(1)",
      // A query or fragment would swallow the operation's path and send the token to "/".
      "http://127.0.0.1:32400/?x=1",
      "http://127.0.0.1:32400/#frag"
    ]
  ) {
    it.effect(`an invalid base URL ${JSON.stringify(base)}`, () =>
      Effect.gen(function*() {
        const viaOption = yield* expectInvalid((auth) => auth.getTransientToken(undefined, { serverUrl: base }))
        assert.include(viaOption.detail, "URL")
        yield* expectInvalid((auth) => auth.postUsersSignInData({ login: "u", password: "p" }, { serverUrl: base }))
        // In the configuration, the same URL is refused once, when the layer is built.
        for (const key of ["serverUrl", "plexTvUrl", "clientsUrl"] as const) {
          const refused = yield* Effect.flip(
            Effect.scoped(Layer.build(PlexConfig.layer({ clientIdentifier: "c", [key]: base })))
          )
          assert.isTrue(ConfigError.isInvalidData(refused))
          assert.deepStrictEqual((refused as ConfigError.InvalidData).path, [key])
        }
      }))
  }

  it.effect("getTransientToken rejects a type or scope Plex does not support", () =>
    Effect.gen(function*() {
      yield* expectInvalid((auth) => auth.getTransientToken({ type: "other" as "delegation" }))
      yield* expectInvalid((auth) => auth.getTransientToken({ scope: "some" as "all" }))
    }))

  it.effect("validation runs before the token check (no token and a bad source → the source is reported)", () =>
    Effect.gen(function*() {
      const error = yield* expectInvalid(
        (auth) => auth.getSourceConnectionInformation({ source: "nope" }),
        { token: null, config: { clientIdentifier: "c", serverUrl: SERVER_URL } }
      )
      assert.include(error.detail, "source")
    }))
})
