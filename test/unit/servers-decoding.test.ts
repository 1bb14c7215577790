/**
 * Real resource, identity and home-user bodies (test/fixtures, JSON and legacy XML where both
 * exist) decoded through the request path, and the leniency rule on them: a resource missing what
 * it cannot do without is dropped and counted, the rest kept; `accessToken` never prints.
 */
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option, Redacted } from "effect"
import { readdirSync } from "node:fs"
import { inspect } from "node:util"
import { HomeUsers, PlexConfig, PlexToken, Resources } from "../../src/index.js"
import { fixture, fixtureJson, makeTestClient, type Reply, reply, TOKEN } from "./helpers.js"

const services = (answer: Reply) =>
  Layer.mergeAll(Resources.layer, HomeUsers.layer).pipe(
    Layer.provide(Layer.mergeAll(
      makeTestClient(answer).layer,
      Layer.orDie(PlexConfig.layer({ clientIdentifier: "cid-decoding" })),
      PlexToken.layer(TOKEN)
    ))
  )

const list = (answer: Reply) => Resources.listResources().pipe(Effect.provide(services(answer)))
const homeUsers = (answer: Reply) => HomeUsers.listHomeUsers().pipe(Effect.provide(services(answer)))

const token = (r: Resources.PlexResource) => Option.map(r.accessToken, Redacted.value)
const iso = (d: DateTime.Utc | undefined) => d === undefined ? undefined : DateTime.formatIso(d)

describe("resources, identity and home users from real bodies", () => {
  it("every 2xx fixture of these calls has a test here", () => {
    const covered = [
      "get-home-users-legacy.2xx.node-plex-api-credentials.xml",
      "get-home-users.200.plex-web-capture-2020.cleaned.json",
      "get-home-users.200.plexkit.json",
      "get-identity.200.plexkit.json",
      "get-identity.200.pms-openapi-example.json",
      "get-identity.200.unattributed-notes-2020.json",
      "get-identity.200.unattributed-notes-2020.xml",
      "get-server-resources-legacy.200.plex-api-rs.xml",
      "get-server-resources-legacy.2xx.node-plex-api-credentials.xml",
      "get-server-resources.200.plex-api-rs.json",
      "get-server-resources.200.plexkit-no-connections.json",
      "get-server-resources.200.plexkit.json",
      "get-server-resources.200.spec-test.json",
      "get-server-resources.200.unattributed-doc-2024.xml",
      "switch-home-user-legacy.2xx.node-plex-api-credentials.xml",
      "switch-home-user.201.plezy-test.json",
      "switch-home-user.2xx.plexkit.json"
    ]
    const mine = /^(get-server-resources|get-identity|get-home-users|switch-home-user)/
    const present = readdirSync(new URL("../fixtures/", import.meta.url)).filter((n) =>
      mine.test(n) && /\.2(\d\d|xx)\./.test(n)
    )
    assert.deepStrictEqual(present.sort(), covered.sort())
  })

  it.effect("get-server-resources.200.spec-test.json: seven servers, owned and shared, null platform", () =>
    Effect.gen(function*() {
      const resources = yield* list(reply.fixture(200, "get-server-resources.200.spec-test.json"))
      const raw = fixtureJson("get-server-resources.200.spec-test.json") as Array<any>
      assert.strictEqual(resources.length, 7)
      assert.strictEqual(resources.dropped, 0)
      resources.forEach((r, i) => {
        assert.strictEqual(r.name, raw[i].name)
        assert.strictEqual(r.clientIdentifier, raw[i].clientIdentifier)
        assert.strictEqual(r.owned, raw[i].owned)
        assert.deepStrictEqual(r.connections.map((c) => c.uri), raw[i].connections.map((c: any) => c.uri))
        assert.deepStrictEqual(Option.getOrUndefined(token(r)), raw[i].accessToken)
        assert.isTrue(r.isServer)
      })
      const [owned, shared] = resources
      assert.deepStrictEqual(owned.provides, ["server"])
      assert.strictEqual(owned.ownerId, null)
      assert.strictEqual(shared.ownerId, 2639453)
      assert.strictEqual(shared.sourceTitle, "kingpirate123")
      assert.strictEqual(iso(owned.createdAt), "2020-01-12T15:30:18.000Z")
      assert.isTrue(owned.connections[3].relay)
      assert.isFalse(owned.connections[3].local)
      assert.strictEqual(owned.connections[0].port, 32400)
      assert.isNull(resources[2].platform)
    }))

  it.effect("get-server-resources.200.plexkit.json: clients too, a null accessToken, missing flags", () =>
    Effect.gen(function*() {
      const resources = yield* list(reply.fixture(200, "get-server-resources.200.plexkit.json"))
      assert.strictEqual(resources.length, 6)
      const iphone = resources.find((r) => r.name === "iPhone")!
      assert.isTrue(Option.isNone(iphone.accessToken))
      assert.isFalse(iphone.isServer)
      assert.deepStrictEqual(iphone.provides, [
        "client",
        "controller",
        "sync-target",
        "player",
        "pubsub-player",
        "provider-playback"
      ])
      assert.strictEqual(resources[0].natLoopbackSupported, undefined)
      const servers = yield* Resources.servers().pipe(
        Effect.provide(services(reply.fixture(200, "get-server-resources.200.plexkit.json")))
      )
      assert.deepStrictEqual(servers.map((s) => s.name), ["name", "home-server", "itunes-server"])
    }))

  it.effect("get-server-resources.200.plexkit-no-connections.json: an entry without connections has none", () =>
    Effect.map(list(reply.fixture(200, "get-server-resources.200.plexkit-no-connections.json")), (resources) => {
      assert.strictEqual(resources.length, 1)
      assert.deepStrictEqual(resources[0].connections, [])
    }))

  it.effect("get-server-resources.200.plex-api-rs.json: IPv6 flags, relay and custom-domain connections", () =>
    Effect.map(list(reply.fixture(200, "get-server-resources.200.plex-api-rs.json")), ([box]) => {
      assert.strictEqual(box.name, "Box")
      assert.deepStrictEqual(box.connections.map((c) => [c.local, c.relay, c.IPv6]), [
        [true, false, false],
        [false, false, false],
        [false, false, false],
        [false, true, false]
      ])
      assert.strictEqual(Redacted.value(Option.getOrThrow(box.accessToken)), "auth_token")
    }))

  it.effect("get-server-resources.200.unattributed-doc-2024.xml: the v2 XML list, \"\" as null, 0/1 flags", () =>
    Effect.map(list(reply.fixture(200, "get-server-resources.200.unattributed-doc-2024.xml")), (resources) => {
      assert.strictEqual(resources.length, 1)
      const [r] = resources
      assert.isTrue(r.owned)
      assert.isFalse(r.home)
      assert.strictEqual(r.ownerId, null)
      assert.strictEqual(iso(r.lastSeenAt), "2024-04-19T19:09:52.000Z")
      assert.deepStrictEqual(r.connections.map((c) => [c.port, c.local, c.relay]), [[32400, true, false], [
        8443,
        false,
        true
      ]])
    }))

  it.effect("legacy <MediaContainer><Device>: epoch dates, Connection elements, a managed user's view", () =>
    Effect.gen(function*() {
      const [box] = yield* list(reply.fixture(200, "get-server-resources-legacy.200.plex-api-rs.xml"))
      assert.strictEqual(box.name, "Box")
      assert.strictEqual(iso(box.createdAt), "2021-08-06T00:59:59.000Z")
      assert.deepStrictEqual(box.connections.map((c) => c.uri), [
        "http://172.18.0.12:32400",
        "https://example.com:443",
        "http://1.0.0.2:443"
      ])
      assert.isFalse(box.connections[0].relay)
      const [shared] = yield* list(reply.fixture(200, "get-server-resources-legacy.2xx.node-plex-api-credentials.xml"))
      assert.isFalse(shared.owned)
      assert.isTrue(shared.home)
      assert.strictEqual(shared.ownerId, 1234)
      assert.strictEqual(shared.connections.length, 1)
      assert.strictEqual(Redacted.value(Option.getOrThrow(shared.accessToken)), "pretend-to-be-managed-token")
      const empty = yield* list(reply.text(200, "<MediaContainer size=\"0\"/>", { "content-type": "text/xml" }))
      assert.strictEqual(empty.length, 0)
    }))

  it.effect("a resource without clientIdentifier is dropped and counted; a bad connection only loses itself", () =>
    Effect.gen(function*() {
      const raw = fixtureJson("get-server-resources.200.spec-test.json") as Array<any>
      delete raw[1].clientIdentifier
      raw[0].connections[0].port = "not a port"
      raw[2].owned = "maybe"
      const resources = yield* list(reply.json(200, raw))
      assert.strictEqual(resources.length, 6)
      assert.strictEqual(resources.dropped, 1)
      assert.notInclude(resources.map((r) => r.name), "PirateBay")
      assert.strictEqual(resources[0].connections.length, 3)
      assert.isFalse(resources[1].owned, "an unreadable flag falls back to false")
    }))

  it.effect("accessToken never prints: String, JSON, inspect of the resources and of a connection", () =>
    Effect.gen(function*() {
      const resources = yield* list(reply.fixture(200, "get-server-resources.200.spec-test.json"))
      const texts = [
        String(resources),
        JSON.stringify(resources),
        inspect(resources, { depth: 10 }),
        String(resources[0])
      ]
      for (const text of texts) assert.notInclude(text, "REDACTED-TOKEN-1")
      assert.strictEqual(Redacted.value(Option.getOrThrow(resources[0].accessToken)), "REDACTED-TOKEN-1")
    }))

  it.effect("identity bodies decode through connect (JSON, XML, without claimed, the official example)", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[string, string]> = [
        ["get-identity.200.unattributed-notes-2020.json", "623cbfe8a679d4d8c68a6ffe3608aca44e8da703"],
        ["get-identity.200.unattributed-notes-2020.xml", "623cbfe8a679d4d8c68a6ffe3608aca44e8da703"],
        ["get-identity.200.plexkit.json", "identifier"],
        ["get-identity.200.pms-openapi-example.json", "0123456789abcdef0123456789abcdef"]
      ]
      const [base] = yield* list(reply.fixture(200, "get-server-resources.200.plex-api-rs.json"))
      for (const [name, machineIdentifier] of cases) {
        const server = Resources.PlexResource.make({ ...base, clientIdentifier: machineIdentifier } as any)
        const chosen = yield* Resources.connect(server).pipe(Effect.provide(services(reply.fixture(200, name))))
        assert.strictEqual(chosen.uri, base.connections[0].uri, name)
      }
    }))

  it.effect("home users: v2 JSON (PlexKit, the Plex Web capture with null username/email) and legacy XML", () =>
    Effect.gen(function*() {
      const [admin] = yield* homeUsers(reply.fixture(200, "get-home-users.200.plexkit.json"))
      assert.strictEqual(admin.id, 1234)
      assert.isTrue(admin.admin)
      assert.isTrue(admin.protected)
      const captured = yield* homeUsers(reply.fixture(200, "get-home-users.200.plex-web-capture-2020.cleaned.json"))
      assert.strictEqual(captured.length, 2)
      assert.isNull(captured[1].username)
      assert.isNull(captured[1].email)
      assert.isTrue(captured[1].restricted)
      assert.strictEqual(captured[1].restrictionProfile, "little_kid")
      assert.isFalse(captured[1].protected)
      const legacy = yield* homeUsers(reply.fixture(200, "get-home-users-legacy.2xx.node-plex-api-credentials.xml"))
      assert.deepStrictEqual(legacy.map((u) => [u.id, u.uuid, u.admin, u.protected, u.restricted, u.username]), [
        [1234, "80053d6ea6f7b758", true, true, false, "phillipj"],
        [4321, "bab38cb8852916f", false, false, true, ""]
      ])
      const bare = yield* homeUsers(reply.json(200, [{ id: 1, uuid: "u" }, { uuid: "no id" }]))
      assert.deepStrictEqual(bare.map((u) => u.uuid), ["u"])
    }))

  it.effect("switch bodies: the member's PlexUser with its authToken (v2 JSON and legacy XML)", () =>
    Effect.gen(function*() {
      const switchTo = (answer: Reply) =>
        HomeUsers.switchHomeUser({ uuid: "u" }, { pin: "1234" }).pipe(Effect.provide(services(answer)))
      const plezy = yield* switchTo(reply.fixture(201, "switch-home-user.201.plezy-test.json"))
      assert.strictEqual(plezy.uuid, "e443d57860076fc3")
      assert.isTrue(plezy.home)
      const plexkit = yield* switchTo(reply.fixture(201, "switch-home-user.2xx.plexkit.json"))
      assert.strictEqual(Redacted.value(plexkit.authToken), "token")
      const legacy = yield* switchTo(reply.fixture(201, "switch-home-user-legacy.2xx.node-plex-api-credentials.xml"))
      assert.strictEqual(legacy.title, "OnlyPhotos")
      assert.strictEqual(Redacted.value(legacy.authToken), "REDACTED-TOKEN-1")
      assert.include(fixture("switch-home-user.201.plezy-test.json"), "minted-user-token")
      assert.notInclude(JSON.stringify(plezy), "minted-user-token")
    }))
})
