/**
 * What Resources and HomeUsers put on the wire (paths, the include flags, the token and identity
 * headers, the PIN in the query), and how `connect` orders, filters and bounds its probes, over the
 * recording test client (no socket; `connect`'s clock is the TestClock).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { HomeUsers, PlexConfig, PlexError, PlexToken, Resources } from "../../src/index.js"
import { expectFailure, makeTestClient, queryOf, reply, type Script, type TestClient, TOKEN } from "./helpers.js"

const config: PlexConfig.Options = {
  clientIdentifier: "cid-servers",
  product: "servers tests",
  version: "2.0.0",
  plexTvUrl: "https://plex.example/api/v2"
}

const services = (client: TestClient) =>
  Layer.mergeAll(Resources.layer, HomeUsers.layer).pipe(
    Layer.provide(Layer.mergeAll(
      client.layer,
      Layer.orDie(PlexConfig.layer(config)),
      PlexToken.layer(TOKEN)
    ))
  )

const run = <A, E>(script: Script, self: Effect.Effect<A, E, Resources.Resources | HomeUsers.HomeUsers>) => {
  const client = makeTestClient(script)
  return Effect.map(Effect.provide(self, services(client)), (value) => ({ value, client }))
}

const identityHeaders = {
  "x-plex-client-identifier": "cid-servers",
  "x-plex-product": "servers tests",
  "x-plex-version": "2.0.0"
}

const resourcesJson = reply.fixture(200, "get-server-resources.200.spec-test.json")

describe("Resources and HomeUsers on the wire", () => {
  it.effect("listResources: GET {plexTvUrl}/resources with the three include flags on, the token and identity", () =>
    Effect.gen(function*() {
      const { client } = yield* run(resourcesJson, Resources.listResources())
      const request = client.last()
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(
        new URL(request.url).origin + new URL(request.url).pathname,
        "https://plex.example/api/v2/resources"
      )
      assert.deepStrictEqual(queryOf(request.url), [["includeHttps", "1"], ["includeRelay", "1"], ["includeIPv6", "1"]])
      assert.strictEqual(request.headers["x-plex-token"], TOKEN)
      assert.strictEqual(request.headers["accept"], "application/json")
      for (const [name, value] of Object.entries(identityHeaders)) assert.strictEqual(request.headers[name], value)
    }))

  it.effect("listResources: each include flag can be turned off; a per-call token replaces the account token", () =>
    Effect.gen(function*() {
      const { client } = yield* run(
        resourcesJson,
        Resources.listResources({ includeRelay: false, includeIPv6: false }, { token: Redacted.make("member-tok") })
      )
      assert.deepStrictEqual(queryOf(client.last().url), [["includeHttps", "1"], ["includeRelay", "0"], [
        "includeIPv6",
        "0"
      ]])
      assert.strictEqual(client.last().headers["x-plex-token"], "member-tok")
      const off = yield* run(resourcesJson, Resources.servers({ includeHttps: false }))
      assert.deepStrictEqual(queryOf(off.client.last().url)[0], ["includeHttps", "0"])
    }))

  it.effect("listHomeUsers: GET {plexTvUrl}/home/users with the token", () =>
    Effect.gen(function*() {
      const { client, value } = yield* run(
        reply.fixture(200, "get-home-users.200.plexkit.json"),
        HomeUsers.listHomeUsers()
      )
      assert.strictEqual(value.length, 1)
      const request = client.last()
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url, "https://plex.example/api/v2/home/users")
      assert.strictEqual(request.headers["x-plex-token"], TOKEN)
      assert.strictEqual(request.headers["x-plex-client-identifier"], "cid-servers")
    }))

  it.effect("switchHomeUser: POST …/home/users/{uuid}/switch, the PIN in the query, no body, never retried", () =>
    Effect.gen(function*() {
      const { client, value } = yield* run(
        reply.fixture(201, "switch-home-user.201.plezy-test.json"),
        HomeUsers.switchHomeUser({ uuid: "e443d57860076fc3" }, { pin: "4321" })
      )
      assert.strictEqual(Redacted.value(value.authToken), "minted-user-token")
      const request = client.last()
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.url, "https://plex.example/api/v2/home/users/e443d57860076fc3/switch?pin=4321")
      assert.strictEqual(request.body, "")
      assert.strictEqual(request.headers["x-plex-token"], TOKEN)

      const noPin = yield* run(
        reply.fixture(201, "switch-home-user.201.plezy-test.json"),
        HomeUsers.switchHomeUser({ uuid: "a/b" })
      )
      assert.strictEqual(noPin.client.last().url, "https://plex.example/api/v2/home/users/a%2Fb/switch")

      const client503 = makeTestClient(reply.status(503))
      const error = yield* expectFailure(
        HomeUsers.switchHomeUser({ uuid: "u1" }).pipe(Effect.provide(services(client503)))
      )
      assert.isTrue(PlexError.isReason(error, "StatusCode"))
      assert.strictEqual(client503.requests.length, 1)
    }))

  it.effect("switchHomeUser: 403 code 1041 is PlexError.isPinRequired; an empty uuid or PIN sends nothing", () =>
    Effect.gen(function*() {
      const client = makeTestClient(reply.fixture(403, "switch-home-user.403.watchstate-issue-542.json"))
      const error = yield* expectFailure(
        HomeUsers.switchHomeUser({ uuid: "u1" }, { pin: "0000" }).pipe(Effect.provide(services(client)))
      )
      assert.isTrue(PlexError.isPinRequired(error))
      const captured = makeTestClient(reply.fixture(403, "switch-home-user.403.plex-web-capture-2020.json"))
      const again = yield* expectFailure(
        HomeUsers.switchHomeUser({ uuid: "u1" }).pipe(Effect.provide(services(captured)))
      )
      assert.isTrue(PlexError.isPinRequired(again))

      const unused = makeTestClient()
      for (
        const bad of [
          HomeUsers.switchHomeUser({ uuid: " " }),
          HomeUsers.switchHomeUser({ uuid: "u1" }, { pin: "" })
        ]
      ) {
        const invalid = yield* expectFailure(bad.pipe(Effect.provide(services(unused))))
        assert.isTrue(PlexError.isReason(invalid, "InvalidRequest"))
      }
      assert.strictEqual(unused.requests.length, 0)
    }))
})

// --- connect over the test client ----------------------------------------------------------------

const identity = (machineIdentifier: string) => reply.json(200, { MediaContainer: { size: 0, machineIdentifier } })

const resource = (owned: boolean, connections: ReadonlyArray<Record<string, unknown>>) =>
  Resources.PlexResource.make({
    name: "Box",
    clientIdentifier: "box-id",
    product: "Plex Media Server",
    provides: ["server"],
    owned,
    home: false,
    presence: true,
    httpsRequired: false,
    publicAddressMatches: false,
    relay: true,
    accessToken: Option.some(Redacted.make("server-own-token")),
    connections: connections.map((c) =>
      Resources.ResourceConnection.make({
        protocol: "http",
        address: "10.0.0.1",
        port: 32400,
        uri: "http://x",
        local: false,
        relay: false,
        IPv6: false,
        ...c
      } as any)
    )
  } as any)

describe("connect", () => {
  it.effect("probes every candidate at once, with the server's own token, and prefers local, then https", () =>
    Effect.gen(function*() {
      const box = resource(true, [
        { uri: "http://relay.example:8443", relay: true },
        { uri: "http://remote.example:32400" },
        { uri: "https://remote.example:32400", protocol: "https" },
        { uri: "http://lan.example:32400", local: true }
      ])
      const { client, value } = yield* run(identity("box-id"), Resources.connect(box))
      assert.strictEqual(value.uri, "http://lan.example:32400")
      assert.deepStrictEqual(
        client.requests.map((r) => r.url).sort(),
        [
          "http://lan.example:32400/identity",
          "http://relay.example:8443/identity",
          "http://remote.example:32400/identity",
          "https://remote.example:32400/identity"
        ]
      )
      for (const r of client.requests) assert.strictEqual(r.headers["x-plex-token"], "server-own-token")

      const noLocal = yield* run(
        (request) => request.url.startsWith("http://lan") ? reply.transportError() : identity("box-id"),
        Resources.connect(box)
      )
      assert.strictEqual(noLocal.value.uri, "https://remote.example:32400", "https before http")
    }))

  it.effect("skips the local connections of a server the account does not own", () =>
    Effect.gen(function*() {
      const shared = resource(false, [{ uri: "http://lan.example:32400", local: true }, {
        uri: "http://remote.example:32400"
      }])
      const { client, value } = yield* run(identity("box-id"), Resources.connect(shared))
      assert.strictEqual(value.uri, "http://remote.example:32400")
      assert.deepStrictEqual(client.requests.map((r) => r.url), ["http://remote.example:32400/identity"])
    }))

  it.effect("on the TestClock: silent candidates end the race after exactly one timeout, not the sum", () =>
    Effect.gen(function*() {
      const box = resource(true, [
        { uri: "http://a.example", local: true },
        { uri: "http://b.example" },
        { uri: "http://c.example", relay: true }
      ])
      const client = makeTestClient(reply.never)
      const fiber = yield* Effect.fork(
        Effect.either(Resources.connect(box, { timeout: "2 seconds" }).pipe(Effect.provide(services(client))))
      )
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.isTrue(result._tag === "Left" && PlexError.isReason(result.left, "NoConnection"))
      if (result._tag === "Left") {
        assert.include(result.left.message, "http://a.example: timed out after 2s")
        assert.notInclude(result.left.message, "server-own-token")
      }
    }))

  it.effect("a better candidate that answers late, but in time, wins over a worse one that answered first", () =>
    Effect.gen(function*() {
      const box = resource(true, [{ uri: "http://relay.example", relay: true }, {
        uri: "http://lan.example",
        local: true
      }])
      const client = makeTestClient((request) =>
        request.url.startsWith("http://lan") ? reply.never : identity("box-id")
      )
      const fiber = yield* Effect.fork(
        Resources.connect(box, { timeout: "3 seconds" }).pipe(Effect.provide(services(client)))
      )
      yield* TestClock.adjust("3 seconds")
      const chosen = yield* Fiber.join(fiber)
      assert.strictEqual(chosen.uri, "http://relay.example")
      assert.strictEqual(Duration.toMillis(chosen.latency), 0)
    }))

  it.effect("a resource without an accessToken, or a bad timeout, fails with InvalidRequest before any probe", () =>
    Effect.gen(function*() {
      const client = makeTestClient(identity("box-id"))
      const noToken = Resources.PlexResource.make({ ...resource(true, [{}]), accessToken: Option.none() } as any)
      const a = yield* expectFailure(Resources.connect(noToken).pipe(Effect.provide(services(client))))
      assert.isTrue(PlexError.isReason(a, "InvalidRequest"))
      const b = yield* expectFailure(
        Resources.connect(resource(true, [{}]), { timeout: 0 }).pipe(Effect.provide(services(client)))
      )
      assert.isTrue(PlexError.isReason(b, "InvalidRequest"))
      const none = yield* expectFailure(Resources.connect(resource(true, [])).pipe(Effect.provide(services(client))))
      assert.isTrue(PlexError.isReason(none, "NoConnection"))
      assert.strictEqual(client.requests.length, 0)
    }))

  it.effect("wrong server, HTTP status and an unusable URI are each named in the NoConnection detail", () =>
    Effect.gen(function*() {
      const box = resource(true, [
        { uri: "http://other.example", local: true },
        { uri: "http://status.example" },
        { uri: "uri" }
      ])
      const { value } = yield* run(
        (request) => request.url.startsWith("http://other") ? identity("not-box") : reply.status(503),
        Effect.flip(Resources.connect(box))
      )
      assert.isTrue(PlexError.isReason(value, "NoConnection"))
      assert.include(value.message, "http://other.example: wrong server (machineIdentifier not-box)")
      assert.include(value.message, "http://status.example: HTTP 503")
      assert.include(value.message, "uri: not probed")
    }))
})
