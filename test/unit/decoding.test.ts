import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Redacted, Schema } from "effect"
import { readdirSync } from "node:fs"
import { Models } from "../../src/index.js"
import { type CapturedSpan, withCapturedSpans } from "../support/spans.js"
import { fixture, fixtureJson, reply, setup } from "./helpers.js"

const iso = (date: DateTime.Utc | undefined): string | undefined =>
  date === undefined ? undefined : DateTime.formatIso(date)

const epoch = (seconds: number) => new Date(seconds * 1000).toISOString()

const signIn = { login: "u", password: "p" }

// Decodes a fixture through the operation it belongs to.
const decodeUser = (name: string) =>
  Effect.gen(function*() {
    const { auth } = yield* setup(reply.fixture(200, name))
    return yield* auth.getTokenDetails()
  })

const decodeSignIn = (name: string) =>
  Effect.gen(function*() {
    const { auth } = yield* setup(reply.fixture(201, name))
    return yield* auth.postUsersSignInData(signIn)
  })

const decodeTransient = (name: string) =>
  Effect.gen(function*() {
    const { auth } = yield* setup(reply.fixture(200, name))
    return yield* auth.getTransientToken()
  })

const decodeSource = (name: string, status = 200) =>
  Effect.gen(function*() {
    const { auth } = yield* setup(reply.fixture(status, name))
    return yield* auth.getSourceConnectionInformation({ source: "server://243b471948ace337a8f92f129ec97d1902fcb1df" })
  })

const bodyOf = (body: unknown) =>
  Effect.gen(function*() {
    const { auth } = yield* setup(reply.json(200, body))
    return yield* auth.getSourceConnectionInformation({ source: "server://abc" })
  })

/** Compares a decoded user with its raw JSON fixture field by field. */
const assertUserMatchesJson = (user: Models.PlexUser, raw: any) => {
  assert.instanceOf(user, Models.PlexUser)
  assert.strictEqual(user.id, raw.id)
  assert.strictEqual(user.uuid, raw.uuid)
  assert.strictEqual(user.username, raw.username)
  assert.strictEqual(user.title, raw.title)
  assert.strictEqual(user.email, raw.email)
  assert.strictEqual(Redacted.value(user.authToken), raw.authToken)
  assert.strictEqual(String(user.authToken), "<redacted>")
  assert.notInclude(JSON.stringify(user), raw.authToken)
  assert.strictEqual(user.confirmed, raw.confirmed)
  assert.strictEqual(user.hasPassword, raw.hasPassword)
  assert.strictEqual(user.protected, raw.protected)
  assert.strictEqual(user.restricted, raw.restricted)
  assert.strictEqual(user.home, raw.home)
  assert.strictEqual(user.homeSize, raw.homeSize)
  assert.strictEqual(user.maxHomeSize, raw.maxHomeSize)
  assert.strictEqual(user.country, raw.country)
  assert.strictEqual(user.mailingListStatus, raw.mailingListStatus)
  assert.strictEqual(user.twoFactorEnabled, raw.twoFactorEnabled)
  if (typeof raw.joinedAt === "number") assert.strictEqual(iso(user.joinedAt), epoch(raw.joinedAt))
  if (typeof raw.rememberExpiresAt === "number") {
    assert.strictEqual(iso(user.rememberExpiresAt), epoch(raw.rememberExpiresAt))
  }
  assert.deepStrictEqual(user.subscription?.features, raw.subscription.features)
  assert.strictEqual(user.subscription?.active, raw.subscription.active)
  assert.strictEqual(user.subscription?.status, raw.subscription.status)
  const profile = Array.isArray(raw.profile) ? raw.profile[0] : raw.profile
  assert.strictEqual(user.profile?.autoSelectAudio, profile.autoSelectAudio)
  assert.strictEqual(user.profile?.defaultAudioLanguage, profile.defaultAudioLanguage)
  assert.strictEqual(user.profile?.autoSelectSubtitle, profile.autoSelectSubtitle)
  assert.strictEqual(user.profile?.defaultSubtitleForced, profile.defaultSubtitleForced)
  assert.deepStrictEqual(user.entitlements, raw.entitlements)
  if (raw.services !== undefined) {
    assert.deepStrictEqual(user.services?.map((s) => s.identifier), raw.services.map((s: any) => s.identifier))
    user.services?.forEach((service, i) => {
      const token = raw.services[i].token
      if (typeof token === "string") {
        assert.isTrue(Redacted.isRedacted(service.token))
        assert.strictEqual(Redacted.value(service.token as Redacted.Redacted<string>), token)
      } else {
        assert.isTrue(service.token === undefined || service.token === null)
      }
    })
  }
}

describe("decoding: every 2xx fixture through its operation", () => {
  it("covers every 2xx fixture in test/fixtures", () => {
    // A new 2xx fixture must get a decoding test below.
    const covered = [
      "get-source-connection-information.200.json",
      "get-source-connection-information.200.legacy-docs.xml",
      "get-token-details.200.plex-api-rs-free.json",
      "get-token-details.200.plex-api-rs-managed-user.json",
      "get-token-details.200.plex-api-rs-plexpass.json",
      "get-token-details.200.python-plexapi.xml",
      "get-token-details.200.spec-2024-08-examples-block.json",
      "get-token-details.200.spec-current-prism.json",
      "get-token-details.200.spec-example.json",
      "get-transient-token.200.json",
      "get-transient-token.200.legacy-docs.xml",
      "get-transient-token.200.plexopedia.xml",
      "post-users-sign-in-data.201.spec-current-prism.json",
      "post-users-sign-in-data.201.spec-example.json",
      "post-users-sign-in-data.201.spec-test-1.json",
      "post-users-sign-in-data.201.spec-test-2.json"
    ]
    // Resources and home-user bodies are checked the same way in servers-decoding.test.ts.
    const elsewhere = /^(get-server-resources|get-identity|get-home-users|switch-home-user)/
    const present = readdirSync(new URL("../fixtures/", import.meta.url)).filter((name) =>
      /\.2\d\d\./.test(name) && !elsewhere.test(name)
    )
    assert.deepStrictEqual(present.sort(), covered.sort())
  })

  // The spec's own example, as a spec-driven mock server serves it: "entitlements" is the string "[]"
  // where the schema says an array of strings. It used to sink the whole user.
  for (
    const [name, decode] of [
      ["get-token-details.200.spec-current-prism.json", decodeUser],
      ["post-users-sign-in-data.201.spec-current-prism.json", decodeSignIn]
    ] as const
  ) {
    it.effect(`${name}: decodes, with "entitlements" dropped and counted`, () =>
      Effect.gen(function*() {
        const raw = fixtureJson(name)
        assert.strictEqual(raw.entitlements, "[]")
        const spans: Array<CapturedSpan> = []
        const user = yield* withCapturedSpans(decode(name), spans)
        assert.strictEqual(user.id, 13692262)
        assert.strictEqual(user.uuid, "dae343c1f45beb4f")
        assert.strictEqual(user.username, "Username")
        assert.strictEqual(Redacted.value(user.authToken), "CxoUzBTSV5hsxjTpFKaf")
        assert.isUndefined(user.entitlements)
        assert.deepStrictEqual(user.roles, ["string"])
        assert.strictEqual(user.services?.[0]?.identifier, "metadata-dev")
        assert.strictEqual(user.profile?.defaultAudioLanguage, "ja")
        assert.strictEqual(iso(user.joinedAt), epoch(1556281940))
        const span = spans.find((s) => s.name.startsWith("Authentication."))!
        assert.strictEqual(span.attributes.get("plex.decode.dropped"), 1)
        assert.strictEqual(span.attributes.get("plex.decode.dropped_fields"), "entitlements")
      }))
  }

  it.effect("get-token-details.200.spec-example.json", () =>
    Effect.gen(function*() {
      const name = "get-token-details.200.spec-example.json"
      const user = yield* decodeUser(name)
      assertUserMatchesJson(user, fixtureJson(name))
      assert.strictEqual(user.id, 13692262)
      assert.strictEqual(user.username, "Username")
      assert.strictEqual(Redacted.value(user.authToken), "CxoUzBTSV5hsxjTpFKaf")
      assert.strictEqual(iso(user.subscription?.subscribedAt), "2021-04-12T18:21:12.000Z")
      assert.strictEqual(user.profile?.defaultSubtitleLanguage, "en")
      assert.isNull(user.profile?.defaultAudioLanguages)
      assert.strictEqual(user.subscriptions?.length, 1)
      assert.strictEqual(user.attributionPartner, null)
    }))

  it.effect("get-token-details.200.spec-2024-08-examples-block.json (string dates, arrays for objects)", () =>
    Effect.gen(function*() {
      const name = "get-token-details.200.spec-2024-08-examples-block.json"
      const user = yield* decodeUser(name)
      assertUserMatchesJson(user, fixtureJson(name))
      assert.strictEqual(user.id, 13692262)
      // `profile` is an array here: its first element is the profile.
      assert.strictEqual(user.profile?.defaultAudioLanguage, "ja")
      assert.strictEqual(user.profile?.defaultSubtitleAccessibility, 1)
      assert.strictEqual(user.mailingListStatus, "subscribed")
      assert.strictEqual(iso(user.adsConsentSetAt), "2019-08-24T14:15:22.000Z")
      const past = user.pastSubscriptions?.[0]
      assert.isDefined(past)
      assert.strictEqual(past?.canceled, false)
      assert.strictEqual(past?.onHold, false)
      assert.strictEqual(past?.state, "ended")
      assert.strictEqual(iso(past?.endsAt), epoch(1556281940))
      // "string" is not a date: informational dates degrade to undefined rather than failing.
      assert.isUndefined(past?.renewsAt)
      assert.deepStrictEqual(user.roles, ["string"])
      assert.strictEqual(Redacted.value(user.pin!), "string")
      assert.strictEqual(Redacted.value(user.services![0].secret!), "string")
    }))

  it.effect("get-token-details.200.plex-api-rs-plexpass.json", () =>
    Effect.gen(function*() {
      const name = "get-token-details.200.plex-api-rs-plexpass.json"
      const user = yield* decodeUser(name)
      const raw = fixtureJson(name)
      assertUserMatchesJson(user, raw)
      assert.strictEqual(user.id, 12345)
      assert.strictEqual(user.subscription?.plan, "lifetime")
      assert.strictEqual(user.subscription?.features?.length, 117)
      assert.include(user.subscription?.features ?? [], "webhooks")
      assert.strictEqual(user.subscriptionDescription, "Lifetime Plex Pass")
      assert.strictEqual(user.homeAdmin, true)
      assert.strictEqual(user.adsConsent, true)
      assert.isNull(user.anonymous)
      assert.deepStrictEqual(user.roles, ["plexpass"])
      assert.strictEqual(user.subscriptions?.[0].mode, "lifetime")
      assert.strictEqual(user.subscriptions?.[0].state, "active")
      assert.strictEqual(user.profile?.watchedIndicator, 1)
      assert.strictEqual(user.services?.length, 18)
      assert.strictEqual(Redacted.value(user.pin!), "<pin>")
    }))

  it.effect("get-token-details.200.plex-api-rs-free.json", () =>
    Effect.gen(function*() {
      const name = "get-token-details.200.plex-api-rs-free.json"
      const user = yield* decodeUser(name)
      assertUserMatchesJson(user, fixtureJson(name))
      assert.strictEqual(user.subscription?.active, false)
      assert.isUndefined(user.subscription?.subscribedAt)
      assert.strictEqual(user.subscription?.features?.length, 47)
      assert.strictEqual(user.subscription?.features?.[0], "home")
      assert.strictEqual(user.services?.length, 16)
      // A service with no token: the field is absent, not a crash.
      const icons = user.services?.find((s) => s.identifier === "eyeq-channel-icons")
      assert.isUndefined(icons?.token)
      const lyricfind = user.services?.find((s) => s.identifier === "lyricfind")
      assert.strictEqual(Redacted.value(lyricfind!.secret!), "secret6")
      assert.strictEqual(String(lyricfind!.secret), "<redacted>")
      assert.isNull(user.locale)
      assert.isUndefined(user.pin)
    }))

  it.effect("get-token-details.200.plex-api-rs-managed-user.json (fields the spec lacks are ignored)", () =>
    Effect.gen(function*() {
      const name = "get-token-details.200.plex-api-rs-managed-user.json"
      const user = yield* decodeUser(name)
      assertUserMatchesJson(user, fixtureJson(name))
      assert.strictEqual(user.id, 23456)
      assert.strictEqual(user.username, "")
      assert.strictEqual(user.restricted, true)
      assert.isNull(user.restrictionProfile)
      assert.isNull(user.mailingListStatus)
      assert.isFalse("customRestrictions" in user)
      assert.isUndefined(user.pastSubscriptions)
      assert.strictEqual(user.subscription?.features?.length, 86)
    }))

  it.effect("get-token-details.200.python-plexapi.xml (attributes as strings, lists as elements)", () =>
    Effect.gen(function*() {
      const user = yield* decodeUser("get-token-details.200.python-plexapi.xml")
      assert.instanceOf(user, Models.PlexUser)
      assert.strictEqual(user.id, 12345)
      assert.strictEqual(user.uuid, "1234567890")
      assert.strictEqual(user.username, "testuser")
      assert.strictEqual(user.title, "Test User")
      assert.strictEqual(user.email, "testuser@email.com")
      assert.strictEqual(Redacted.value(user.authToken), "faketoken")
      assert.strictEqual(String(user.authToken), "<redacted>")
      assert.strictEqual(user.confirmed, true)
      assert.strictEqual(user.emailOnlyAuth, false)
      assert.strictEqual(user.home, true)
      assert.strictEqual(user.homeAdmin, true)
      assert.strictEqual(user.guest, false)
      assert.strictEqual(user.homeSize, 2)
      assert.strictEqual(user.maxHomeSize, 15)
      assert.strictEqual(user.twoFactorEnabled, true)
      assert.isNull(user.anonymous)
      assert.isNull(user.adsConsent)
      assert.strictEqual(iso(user.joinedAt), epoch(946730096))
      assert.strictEqual(user.subscription?.active, true)
      assert.strictEqual(user.subscription?.plan, "lifetime")
      assert.strictEqual(iso(user.subscription?.subscribedAt), "2023-03-24T00:00:00.000Z")
      assert.deepStrictEqual(user.subscription?.features, ["companions_sonos"])
      assert.deepStrictEqual(user.entitlements, ["all"])
      assert.deepStrictEqual(user.roles, ["plexpass"])
      assert.deepStrictEqual(user.subscriptions, [])
      assert.deepStrictEqual(user.services, [])
      assert.strictEqual(user.profile?.autoSelectAudio, false)
      assert.strictEqual(user.profile?.defaultAudioLanguage, "en")
      assert.strictEqual(user.profile?.autoSelectSubtitle, 0)
    }))

  for (
    const [name, id, token] of [
      ["post-users-sign-in-data.201.spec-example.json", 13692262, "CxoUzBTSV5hsxjTpFKaf"],
      ["post-users-sign-in-data.201.spec-test-1.json", 62735028, "jx9nTbVbHk1gM"],
      ["post-users-sign-in-data.201.spec-test-2.json", 475829302, "gHjKlMnOpQrStUvWxYz"]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const user = yield* decodeSignIn(name)
        const raw = fixtureJson(name)
        assertUserMatchesJson(user, raw)
        assert.strictEqual(user.id, id)
        assert.strictEqual(Redacted.value(user.authToken), token)
        assert.strictEqual(String(user.authToken), "<redacted>")
        assert.strictEqual(user.pastSubscriptions?.length, raw.pastSubscriptions.length)
        assert.deepStrictEqual(user.trials, raw.trials)
      }))
  }

  it.effect("post-users-sign-in-data.201.spec-test-1.json: pastSubscriptions decode (unknown billing ignored)", () =>
    Effect.gen(function*() {
      const user = yield* decodeSignIn("post-users-sign-in-data.201.spec-test-1.json")
      const past = user.pastSubscriptions?.[0]
      assert.isTrue(Schema.is(Models.PastSubscription)(past))
      assert.strictEqual(past?.type, "plexpass")
      assert.strictEqual(past?.canceled, false)
      assert.strictEqual(iso(past?.endsAt), epoch(1556281940))
      assert.isNull(past?.id)
      assert.isFalse("billing" in (past ?? {}))
      assert.strictEqual(user.anonymous, false)
      assert.strictEqual(user.profile?.defaultAudioLanguage, "ja")
      assert.strictEqual(user.services?.length, 20)
    }))

  for (
    const [name, token] of [
      ["get-transient-token.200.json", "transient-90904684-f91a-4391-8bf7-e0dfa7240285"],
      ["get-transient-token.200.legacy-docs.xml", "transient-90904684-f91a-4391-8bf7-e0dfa7240285"],
      ["get-transient-token.200.plexopedia.xml", "transient-24b68e46-3eb5-449e-8295-ff59e9a5e6cb"]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const result = yield* decodeTransient(name)
        assert.instanceOf(result, Models.TransientToken)
        assert.strictEqual(Redacted.value(result.token), token)
        assert.strictEqual(String(result.token), "<redacted>")
        assert.notInclude(JSON.stringify(result), token)
      }))
  }

  for (
    const name of [
      "get-source-connection-information.200.json",
      "get-source-connection-information.200.legacy-docs.xml"
    ]
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const info = yield* decodeSource(name)
        assert.instanceOf(info, Models.SourceConnectionInformation)
        assert.strictEqual(info.devices.length, 1)
        const device = info.device
        assert.strictEqual(device, info.devices[0])
        assert.strictEqual(device.name, "PlexCorp (plex-corp)")
        assert.strictEqual(device.clientIdentifier, "243b471948ace337a8f92f129ec97d1902fcb1df")
        assert.strictEqual(Redacted.value(device.accessToken!), "transient-fa75f159-b9d2-42b6-8fbd-1761c7a4195a")
        assert.strictEqual(String(device.accessToken), "<redacted>")
        assert.deepStrictEqual(device.connections.map((c) => c.port), [32400, 32403, 8443])
        assert.deepStrictEqual(device.connections.map((c) => c.local), [true, false, false])
        assert.deepStrictEqual(device.connections.map((c) => c.relay), [false, false, true])
        assert.deepStrictEqual(device.connections.map((c) => c.address), [
          "10.0.2.123",
          "64.71.188.222",
          "139.162.158.105"
        ])
        assert.deepStrictEqual(device.connections.map((c) => c.protocol), ["https", "https", "https"])
        assert.strictEqual(
          device.connections[0].uri,
          "https://10-0-2-123.93b10b279ff8456686414add109854cd.plex.direct:32400"
        )
        for (const connection of device.connections) {
          assert.instanceOf(connection, Models.SourceConnection)
          assert.typeOf(connection.port, "number")
          assert.typeOf(connection.local, "boolean")
          assert.typeOf(connection.relay, "boolean")
        }
      }))
  }
})

describe("decoding: lenient shapes", () => {
  const connection = { protocol: "http", address: "127.0.0.1", uri: "http://127.0.0.1:32400", port: 32400 }

  it.effect("Device as an array keeps every device; `device` is the first", () =>
    Effect.gen(function*() {
      const info = yield* bodyOf({
        MediaContainer: {
          size: 2,
          Device: [
            { name: "one", clientIdentifier: "id-1", Connection: [connection] },
            { name: "two", clientIdentifier: "id-2", Connection: connection }
          ]
        }
      })
      assert.deepStrictEqual(info.devices.map((d) => d.name), ["one", "two"])
      assert.strictEqual(info.device.clientIdentifier, "id-1")
      // A single Connection object is a one-element list.
      assert.strictEqual(info.devices[1].connections.length, 1)
      assert.strictEqual(info.devices[1].connections[0].port, 32400)
      assert.isUndefined(info.device.accessToken)
    }))

  it.effect("flags as 0/1 and \"0\"/\"1\", ports as numeric strings", () =>
    Effect.gen(function*() {
      const info = yield* bodyOf({
        MediaContainer: {
          Device: {
            name: "n",
            clientIdentifier: "c",
            Connection: [
              { ...connection, port: "32400", local: 1, relay: 0 },
              { ...connection, port: 8443, local: "0", relay: "1" },
              { ...connection, local: true, relay: false }
            ]
          }
        }
      })
      const connections = info.device.connections
      assert.deepStrictEqual(connections.map((c) => c.local), [true, false, true])
      assert.deepStrictEqual(connections.map((c) => c.relay), [false, true, false])
      assert.deepStrictEqual(connections.map((c) => c.port), [32400, 8443, 32400])
    }))

  it.effect("missing local/relay default to false; a Device without Connection has none", () =>
    Effect.gen(function*() {
      const info = yield* bodyOf({
        MediaContainer: {
          Device: [{ name: "n", clientIdentifier: "c", Connection: [connection] }, {
            name: "bare",
            clientIdentifier: "b"
          }]
        }
      })
      assert.strictEqual(info.device.connections[0].local, false)
      assert.strictEqual(info.device.connections[0].relay, false)
      assert.deepStrictEqual(info.devices[1].connections, [])
    }))

  it.effect("unknown extra fields are ignored", () =>
    Effect.gen(function*() {
      const raw = fixtureJson("get-token-details.200.spec-example.json")
      const { auth } = yield* setup(reply.json(200, {
        ...raw,
        brandNewField: { nested: [1, 2, 3] },
        subscription: { ...raw.subscription, futureFlag: "x" },
        profile: { ...raw.profile, futureSetting: 42 }
      }))
      const user = yield* auth.getTokenDetails()
      assert.strictEqual(user.id, 13692262)
      assert.isFalse("brandNewField" in user)
      assert.isFalse("futureFlag" in (user.subscription ?? {}))
      assert.strictEqual(user.profile?.defaultAudioLanguage, "ja")
    }))

  it.effect("missing optional fields are fine: only id, uuid, username, title, email, authToken", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.json(201, {
        id: "42",
        uuid: "u-42",
        username: "min",
        title: "Min",
        email: "min@example.com",
        authToken: "tok-min-9"
      }))
      const user = yield* auth.postUsersSignInData(signIn)
      assert.strictEqual(user.id, 42)
      assert.strictEqual(user.username, "min")
      assert.strictEqual(Redacted.value(user.authToken), "tok-min-9")
      assert.isUndefined(user.subscription)
      assert.isUndefined(user.profile)
      assert.isUndefined(user.services)
      assert.isUndefined(user.joinedAt)
    }))

  it.effect("flags as 0/1 and \"0\"/\"1\" on the user; dates as strings in three forms", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.json(200, {
        id: 1,
        uuid: "u",
        username: "n",
        title: "t",
        email: "e",
        authToken: "tok-flags",
        confirmed: 1,
        home: "0",
        guest: "1",
        restricted: 0,
        anonymous: "",
        joinedAt: "1556281940",
        rememberExpiresAt: "2024-01-02 03:04:05 UTC",
        adsConsentSetAt: "2021-04-12T18:21:12Z"
      }))
      const user = yield* auth.getTokenDetails()
      assert.strictEqual(user.confirmed, true)
      assert.strictEqual(user.home, false)
      assert.strictEqual(user.guest, true)
      assert.strictEqual(user.restricted, false)
      assert.isNull(user.anonymous)
      assert.strictEqual(iso(user.joinedAt), epoch(1556281940))
      assert.strictEqual(iso(user.rememberExpiresAt), "2024-01-02T03:04:05.000Z")
      assert.strictEqual(iso(user.adsConsentSetAt), "2021-04-12T18:21:12.000Z")
    }))

  it.effect("the transient token inside an XML MediaContainer with a prolog and whitespace", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.text(
        200,
        `<?xml version="1.0"?>\n<MediaContainer size="0" token="transient-abc"  >\n</MediaContainer>\n`,
        { "content-type": "text/xml;charset=utf-8" }
      ))
      const token = yield* auth.getTransientToken()
      assert.strictEqual(Redacted.value(token.token), "transient-abc")
    }))

  it.effect("a JSON body without a content-type is still read as JSON", () =>
    Effect.gen(function*() {
      const { auth } = yield* setup(reply.text(200, fixture("get-transient-token.200.json")))
      const token = yield* auth.getTransientToken()
      assert.strictEqual(Redacted.value(token.token), "transient-90904684-f91a-4391-8bf7-e0dfa7240285")
    }))

  it.effect("a body streamed in chunks without Content-Length decodes", () =>
    Effect.gen(function*() {
      const text = fixture("get-source-connection-information.200.json")
      const third = Math.floor(text.length / 3)
      const { auth } = yield* setup(
        reply.chunked(200, [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)], {
          "content-type": "application/json"
        })
      )
      const info = yield* auth.getSourceConnectionInformation({ source: "server://abc" })
      assert.strictEqual(info.device.connections.length, 3)
    }))
})
