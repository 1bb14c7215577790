/**
 * PlexFake's fake servers in-process (`layerClient`): each connection at an origin of its own
 * (`http://pms-<n>.plex.fake`), behaviours on the TestClock, the controls' typed failures, and
 * `reset` ending them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { PlexError, PlexToken, Resources } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

const InProcess = Resources.layer.pipe(
  Layer.provide(Layer.mergeAll(PlexFake.layerConfig(), PlexToken.none)),
  Layer.provideMerge(PlexFake.layerClient)
)

const seeded = (connections: ReadonlyArray<PlexFake.AddConnectionOptions>) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const account = yield* fake.addAccount({ login: "ada@example.com", password: "pw" })
    const server = yield* fake.addServer({ name: "Ada's Plex", owner: "ada@example.com", connections })
    const token = Redacted.make(account.token)
    const [resource] = yield* Resources.servers({}, { token })
    return { fake, server, resource }
  })

describe("PlexFake servers in-process", () => {
  it.effect("each connection has an origin of its own; slow answers follow the TestClock", () =>
    Effect.gen(function*() {
      const { resource, server } = yield* seeded([
        { local: true, behaviour: "refused" },
        { behaviour: { slow: "1 second" } },
        { relay: true }
      ])
      assert.deepStrictEqual(server.connections.map((c) => /^http:\/\/pms-\d+\.plex\.fake$/.test(c.uri)), [
        true,
        true,
        true
      ])
      const fiber = yield* Effect.fork(Resources.connect(resource))
      yield* TestClock.adjust("1 second")
      const chosen = yield* Fiber.join(fiber)
      assert.strictEqual(chosen.uri, server.connections[1].uri)
    }).pipe(Effect.provide(InProcess)))

  it.effect("a refused connection fails like ECONNREFUSED, and changes behaviour mid-test", () =>
    Effect.gen(function*() {
      const { fake, resource, server } = yield* seeded([{ behaviour: "refused" }])
      const error = yield* Effect.flip(Resources.connect(resource))
      assert.isTrue(PlexError.isReason(error, "NoConnection"))
      assert.include(error.message, `${server.connections[0].uri}: refused`)
      yield* fake.setConnectionBehaviour(server.connections[0].uri, "healthy")
      const chosen = yield* Resources.connect(resource)
      assert.strictEqual(chosen.uri, server.connections[0].uri)
      yield* fake.setConnectionBehaviour(server.connections[0].uri, "wrong-server")
      const wrong = yield* Effect.flip(Resources.connect(resource))
      assert.include(wrong.message, "wrong server")
    }).pipe(Effect.provide(InProcess)))

  it.effect("controls fail with PlexFakeError on unknown logins and URIs; reset stops serving the servers", () =>
    Effect.gen(function*() {
      const { fake, resource } = yield* seeded([{}])
      const noOwner = yield* Effect.flip(fake.addServer({ name: "x", owner: "nobody", connections: [] }))
      assert.strictEqual(noOwner._tag, "PlexFakeError")
      const noUri = yield* Effect.flip(fake.setConnectionBehaviour("http://nowhere.example", "refused"))
      assert.strictEqual(noUri._tag, "PlexFakeError")
      const noAdmin = yield* Effect.flip(fake.addHomeUser("nobody", { title: "x" }))
      assert.strictEqual(noAdmin._tag, "PlexFakeError")
      yield* fake.reset
      assert.deepStrictEqual(yield* fake.serverRequests, [])
      const gone = yield* Effect.flip(Resources.connect(resource))
      assert.isTrue(PlexError.isReason(gone, "NoConnection"))
    }).pipe(Effect.provide(InProcess)))
})
