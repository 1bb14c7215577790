/**
 * `Resources.probeConnections` over real HTTP on loopback: every connection of a fake server gets
 * an outcome (refused, slow but reachable, healthy, wrong server, timed out, skipped), the probes
 * all run to their end, and the chosen one is the one `connect` picks.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { PlexError, PlexToken, Resources } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { configFor, uniqueLogin } from "./harness.js"

const Live = Layer.unwrapEffect(
  Effect.map(
    PlexFake.PlexFakeServer,
    (urls) =>
      Resources.layer.pipe(Layer.provide(Layer.mergeAll(configFor(urls), PlexToken.none, FetchHttpClient.layer)))
  )
).pipe(Layer.provideMerge(PlexFake.layerServer))

const serverWith = (connections: ReadonlyArray<PlexFake.AddConnectionOptions>, shared = false) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const owner = uniqueLogin("owner")
    const ownerAccount = yield* fake.addAccount({ login: owner, password: "pw" })
    const guest = uniqueLogin("guest")
    const guestAccount = yield* fake.addAccount({ login: guest, password: "pw" })
    const server = yield* fake.addServer({
      name: `srv-${owner}`,
      owner,
      connections,
      ...(shared ? { sharedWith: [guest] } : {})
    })
    const token = Redacted.make(shared ? guestAccount.token : ownerAccount.token)
    const listed = yield* Resources.servers({}, { token })
    const resource = listed.find((r) => r.name === server.name)
    assert.isDefined(resource)
    return { server, resource: resource! }
  })

layer(Live, { excludeTestServices: true })("Resources.probeConnections over loopback", (it) => {
  it.effect("refused, slow and healthy: each outcome reported, every probe finished, connect's choice chosen", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { resource, server } = yield* serverWith([
        { local: true, behaviour: "refused" },
        { behaviour: "healthy" },
        { relay: true, behaviour: { slow: "400 millis" } }
      ])
      const [refused, healthy, slow] = server.connections.map((c) => c.uri)
      const start = Date.now()
      const report = yield* Resources.probeConnections(resource, { timeout: "3 seconds" })
      assert.isAtLeast(Date.now() - start, 350, "the slow relay was waited for, not cancelled")
      assert.deepStrictEqual(report.probes.map((p) => p.connection.uri), [refused, healthy, slow])
      const [a, b, c] = report.probes.map((p) => p.outcome)
      assert.strictEqual(a._tag, "Refused")
      assert.strictEqual(b._tag, "Reachable")
      assert.strictEqual(c._tag, "Reachable")
      if (c._tag === "Reachable") assert.isAtLeast(Duration.toMillis(c.latency), 350)
      assert.isTrue(Option.isSome(report.chosen))
      if (Option.isSome(report.chosen)) assert.strictEqual(report.chosen.value.uri, healthy)
      const chosen = yield* Resources.connect(resource, { timeout: "3 seconds" })
      assert.strictEqual(chosen.uri, healthy)
      const slowRequests = (yield* fake.serverRequests).filter((r) => r.uri === slow)
      assert.isTrue(slowRequests.some((r) => r.outcome === "answered"), "the report's probe of the relay answered")
    }))

  it.effect("nothing answers: a report with a timeout and a wrong server, no choice, and no failure", () =>
    Effect.gen(function*() {
      const { resource } = yield* serverWith([
        { local: true, behaviour: "wrong-server" },
        { behaviour: { slow: "5 seconds" } }
      ])
      const start = Date.now()
      const report = yield* Resources.probeConnections(resource, { timeout: "300 millis" })
      assert.isBelow(Date.now() - start, 2000)
      assert.deepStrictEqual(report.probes.map((p) => p.outcome._tag), ["WrongServer", "TimedOut"])
      assert.isTrue(Option.isNone(report.chosen))
      const error = yield* Effect.flip(Resources.connect(resource, { timeout: "300 millis" }))
      assert.isTrue(PlexError.isReason(error, "NoConnection"))
    }))

  it.effect("a shared server's local connection is reported as skipped, after the probed ones", () =>
    Effect.gen(function*() {
      const { resource, server } = yield* serverWith([{ local: true }, { behaviour: "healthy" }], true)
      const report = yield* Resources.probeConnections(resource)
      assert.deepStrictEqual(
        report.probes.map((p) => [p.connection.uri, p.outcome._tag]),
        [[server.connections[1].uri, "Reachable"], [server.connections[0].uri, "Skipped"]]
      )
    }))

  it.effect("no accessToken or a bad timeout: InvalidRequest, as connect", () =>
    Effect.gen(function*() {
      const { resource } = yield* serverWith([{ behaviour: "healthy" }])
      const error = yield* Effect.flip(Resources.probeConnections(resource, { timeout: 0 }))
      assert.isTrue(PlexError.isReason(error, "InvalidRequest"))
      const noToken = Resources.PlexResource.make({ ...resource, accessToken: Option.none() })
      const again = yield* Effect.flip(Resources.probeConnections(noToken))
      assert.isTrue(PlexError.isReason(again, "InvalidRequest"))
    }))
})
