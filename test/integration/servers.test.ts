/**
 * Servers over real HTTP on loopback: PlexFake's fake Plex Media Servers, each connection on a port
 * of its own (refused = a closed port, slow, wrong server), raced by `Resources.connect`; the
 * server layer (`Resources.layerServer`) that gives PMS operations a server and its own token; and
 * the tokens each fake server actually received.
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Redacted } from "effect"
import { Authentication, HomeUsers, PlexError, PlexPolicy, PlexToken, Resources } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { configFor, uniqueLogin } from "./harness.js"

const Live = Layer.unwrapEffect(
  Effect.map(
    PlexFake.PlexFakeServer,
    (urls) =>
      Layer.merge(Resources.layer, HomeUsers.layer).pipe(
        Layer.provide(Layer.mergeAll(configFor(urls), PlexToken.none, FetchHttpClient.layer))
      )
  )
).pipe(Layer.provideMerge(PlexFake.layerServer))

/** An account, a server of it with these connections, and that server as its owner lists it. */
const ownedServer = (connections: ReadonlyArray<PlexFake.AddConnectionOptions>) =>
  Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const login = uniqueLogin("owner")
    const account = yield* fake.addAccount({ login, password: "pw" })
    const server = yield* fake.addServer({ name: `srv-${login}`, owner: login, connections })
    const token = Redacted.make(account.token)
    const listed = yield* Resources.servers({}, { token })
    const resource = listed.find((r) => r.name === server.name)
    assert.isDefined(resource)
    return { account, server, resource: resource!, token, login }
  })

const millisSince = (start: number) => Date.now() - start

layer(Live, { excludeTestServices: true })("Resources over loopback", (it) => {
  it.effect("dead local + slow remote + healthy relay: the remote, which answered in time, beats the relay", () =>
    Effect.gen(function*() {
      const { resource, server } = yield* ownedServer([
        { local: true, behaviour: "refused" },
        { behaviour: { slow: "300 millis" } },
        { relay: true }
      ])
      const chosen = yield* Resources.connect(resource, { timeout: "2 seconds" })
      assert.strictEqual(chosen.uri, server.connections[1].uri)
      assert.isFalse(chosen.connection.local)
      assert.isFalse(chosen.connection.relay)
      assert.isAtLeast(Duration.toMillis(chosen.latency), 250)
      assert.strictEqual(Redacted.value(chosen.token), server.accessToken)
    }))

  it.effect("a remote slower than the timeout loses to the relay, within about one timeout, and is aborted", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { resource, server } = yield* ownedServer([
        { local: true, behaviour: "refused" },
        { behaviour: { slow: "5 seconds" } },
        { relay: true }
      ])
      const start = Date.now()
      const chosen = yield* Resources.connect(resource, { timeout: "400 millis" })
      const elapsed = millisSince(start)
      assert.strictEqual(chosen.uri, server.connections[2].uri)
      assert.isAtLeast(elapsed, 350)
      assert.isBelow(elapsed, 2000)
      yield* Effect.sleep("100 millis")
      const slow = (yield* fake.serverRequests).filter((r) => r.uri === server.connections[1].uri)
      assert.deepStrictEqual(slow.map((r) => r.outcome), ["aborted"])
    }))

  it.effect("fastest: the first connection to answer as the server wins, whatever its rank", () =>
    Effect.gen(function*() {
      const { resource, server } = yield* ownedServer([
        { local: true, behaviour: { slow: "1500 millis" } },
        { behaviour: { slow: "1500 millis" } },
        { relay: true }
      ])
      const start = Date.now()
      const chosen = yield* Resources.connect(resource, { fastest: true })
      assert.strictEqual(chosen.uri, server.connections[2].uri)
      assert.isBelow(millisSince(start), 1000)
    }))

  it.effect("all dead: NoConnection within the per-candidate timeout, not the sum, naming each outcome", () =>
    Effect.gen(function*() {
      const { resource, server } = yield* ownedServer([
        { local: true, behaviour: "refused" },
        { behaviour: { slow: "5 seconds" } },
        { behaviour: { slow: "5 seconds" } },
        { behaviour: "wrong-server" },
        { relay: true, behaviour: "refused" }
      ])
      const start = Date.now()
      const error = yield* Effect.flip(Resources.connect(resource, { timeout: "500 millis" }))
      const elapsed = millisSince(start)
      assert.isTrue(PlexError.isReason(error, "NoConnection"))
      assert.isBelow(elapsed, 1500, "bounded by one timeout, not five")
      const [refused, slow1, slow2, wrong, relay] = server.connections.map((c) => c.uri)
      assert.include(error.message, `${refused}: refused`)
      assert.include(error.message, `${slow1}: timed out after 500ms`)
      assert.include(error.message, `${slow2}: timed out after 500ms`)
      assert.include(error.message, `${wrong}: wrong server (machineIdentifier 0ther`)
      assert.include(error.message, `${relay}: refused`)
      assert.notInclude(error.message, server.accessToken)
    }))

  it.effect("a wrong-server answer is never chosen, even when it is the fastest and the best ranked", () =>
    Effect.gen(function*() {
      const { resource, server } = yield* ownedServer([
        { local: true, behaviour: "wrong-server" },
        { behaviour: { slow: "200 millis" } }
      ])
      for (const fastest of [true, false]) {
        const chosen = yield* Resources.connect(resource, { fastest })
        assert.strictEqual(chosen.uri, server.connections[1].uri)
      }
    }))

  it.effect("interrupting connect aborts every probe: the fake sees each connection close unanswered", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { resource, server } = yield* ownedServer([
        { local: true, behaviour: { slow: "10 seconds" } },
        { behaviour: { slow: "10 seconds" } },
        { relay: true, behaviour: { slow: "10 seconds" } }
      ])
      const fiber = yield* Effect.fork(Resources.connect(resource))
      yield* Effect.sleep("300 millis")
      const uris = server.connections.map((c) => c.uri)
      const pending = (yield* fake.serverRequests).filter((r) => uris.includes(r.uri))
      assert.deepStrictEqual(pending.map((r) => r.outcome), ["pending", "pending", "pending"])
      const start = Date.now()
      yield* Fiber.interrupt(fiber)
      assert.isBelow(millisSince(start), 1000)
      yield* Effect.sleep("100 millis")
      const ended = (yield* fake.serverRequests).filter((r) => uris.includes(r.uri))
      assert.deepStrictEqual(ended.map((r) => r.outcome), ["aborted", "aborted", "aborted"])
    }))

  it.effect("a shared server only ever receives its own token, and its local connections are not probed", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const ownerLogin = uniqueLogin("sharer")
      const guestLogin = uniqueLogin("friend")
      yield* fake.addAccount({ login: ownerLogin, password: "pw" })
      const guest = yield* fake.addAccount({ login: guestLogin, password: "pw" })
      const server = yield* fake.addServer({
        name: `shared-${guestLogin}`,
        owner: ownerLogin,
        sharedWith: [guestLogin],
        connections: [{ local: true }, {}]
      })
      const token = Redacted.make(guest.token)
      const resource = (yield* Resources.servers({}, { token })).find((r) => r.name === server.name)!
      assert.isFalse(resource.owned)
      assert.strictEqual(Redacted.value(Option.getOrThrow(resource.accessToken)), server.sharedTokens[guestLogin])
      const chosen = yield* Resources.connect(resource)
      assert.strictEqual(chosen.uri, server.connections[1].uri)

      // PMS operations through the server layer, with the guest's account token as PlexToken.
      const Auth = Authentication.layer.pipe(
        Layer.provide(Resources.layerServer({ clientIdentifier: server.machineIdentifier })),
        Layer.provide(Layer.mergeAll(
          configFor(yield* PlexFake.PlexFakeServer),
          PlexToken.layer(token),
          FetchHttpClient.layer
        ))
      )
      const transient = yield* Authentication.getTransientToken().pipe(Effect.provide(Auth))
      assert.match(Redacted.value(transient.token), /^transient-/)

      const received = (yield* fake.serverRequests).filter((r) => r.server === server.name)
      assert.isAbove(received.length, 1)
      for (const request of received) assert.strictEqual(request.token, server.sharedTokens[guestLogin])
      assert.notInclude(received.map((r) => r.uri), server.connections[0].uri)
    }))

  it.effect("layerServer: PMS operations need no serverUrl; after the chosen connection goes down, the next call races again", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { account, login, server } = yield* ownedServer([{ local: true }, {}, { relay: true }])
      const Auth = Authentication.layer.pipe(
        Layer.provide(Resources.layerServer({ name: server.name })),
        Layer.provide(Layer.mergeAll(
          PlexFake.layerConfig({ clientIdentifier: `servers-${login}` }),
          PlexToken.layer(account.token),
          FetchHttpClient.layer
        ))
      )
      const listings = Effect.map(
        fake.requests,
        (all) => all.filter((r) => r.path === "/api/v2/resources" && r.headers["x-plex-token"] === account.token).length
      )
      yield* Effect.gen(function*() {
        const before = yield* listings
        // Concurrent first calls share one race.
        yield* Effect.all(Array.from({ length: 5 }, () => Authentication.getTransientToken()), {
          concurrency: "unbounded"
        })
        assert.strictEqual((yield* listings) - before, 1)
        const local = server.connections[0].uri
        const first = (yield* fake.serverRequests).filter((r) =>
          r.server === server.name && r.path === "/security/token"
        )
        assert.isTrue(first.every((r) => r.uri === local && r.token === server.accessToken))

        yield* fake.setConnectionBehaviour(local, "refused")
        const down = yield* Effect.flip(
          Authentication.getTransientToken().pipe(PlexPolicy.withPolicy({ maxAttempts: 1 }))
        )
        assert.isTrue(PlexError.isReason(down, "Transport"))
        // Once per failure: concurrent calls after it share one new race.
        const results = yield* Effect.all(Array.from({ length: 4 }, () => Authentication.getTransientToken()), {
          concurrency: "unbounded"
        })
        assert.strictEqual(results.length, 4)
        assert.strictEqual((yield* listings) - before, 2)
        const last = (yield* fake.serverRequests).filter((r) =>
          r.server === server.name && r.path === "/security/token"
        ).at(-1)!
        assert.strictEqual(last.uri, server.connections[1].uri)
        // plex.tv operations keep the account token.
        yield* Authentication.getTokenDetails()
        const userRequest = (yield* fake.requests).filter((r) => r.path === "/api/v2/user").at(-1)!
        assert.strictEqual(userRequest.headers["x-plex-token"], account.token)
        yield* fake.setConnectionBehaviour(local, "healthy")
      }).pipe(Effect.provide(Auth))
    }))

  it.effect("home: list the members, switch with and without a PIN (1041), and the member's own server tokens", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const adminLogin = uniqueLogin("admin")
      const admin = yield* fake.addAccount({ login: adminLogin, password: "pw", username: "ada" })
      const kid = yield* fake.addHomeUser(adminLogin, {
        title: "Kid",
        restricted: true,
        restrictionProfile: "little_kid"
      })
      const teen = yield* fake.addHomeUser(adminLogin, { title: "Teen", pin: "2468", username: "teen", email: "t@x" })
      const server = yield* fake.addServer({ name: `home-${adminLogin}`, owner: adminLogin, connections: [{}] })
      const adminToken = Redacted.make(admin.token)

      const members = yield* HomeUsers.listHomeUsers({ token: adminToken })
      assert.deepStrictEqual(members.map((m) => [m.title, m.admin, m.protected, m.restricted]), [
        ["ada", true, false, false],
        ["Kid", false, false, true],
        ["Teen", false, true, false]
      ])
      assert.isNull(members[1].username)
      assert.strictEqual(members[1].restrictionProfile, "little_kid")

      const asKid = yield* HomeUsers.switchHomeUser({ uuid: kid.uuid }, {}, { token: adminToken })
      assert.strictEqual(asKid.uuid, kid.uuid)
      assert.isTrue(asKid.home)
      const missing = yield* Effect.flip(HomeUsers.switchHomeUser({ uuid: teen.uuid }, {}, { token: adminToken }))
      assert.isTrue(PlexError.isPinRequired(missing))
      const wrong = yield* Effect.flip(
        HomeUsers.switchHomeUser({ uuid: teen.uuid }, { pin: "1357" }, { token: adminToken })
      )
      assert.isTrue(PlexError.isPinRequired(wrong))
      assert.notInclude(wrong.message, "1357")
      const asTeen = yield* HomeUsers.switchHomeUser({ uuid: teen.uuid }, { pin: "2468" }, { token: adminToken })
      assert.strictEqual(asTeen.title, "Teen")
      const unknown = yield* Effect.flip(HomeUsers.switchHomeUser({ uuid: "nobody" }, {}, { token: adminToken }))
      assert.isTrue(PlexError.isReason(unknown, "StatusCode"))

      // The member's token works on plex.tv, and /resources gives the member's own token for the server.
      const seen = (yield* Resources.servers({}, { token: asTeen.authToken })).find((r) => r.name === server.name)!
      assert.isFalse(seen.owned)
      assert.isTrue(seen.home)
      const teenServerToken = Redacted.value(Option.getOrThrow(seen.accessToken))
      assert.notStrictEqual(teenServerToken, server.accessToken)
      assert.notStrictEqual(teenServerToken, Redacted.value(asTeen.authToken))
      const chosen = yield* Resources.connect(seen)
      assert.strictEqual(chosen.uri, server.connections[0].uri)
      const received = (yield* fake.serverRequests).filter((r) => r.server === server.name)
      assert.deepStrictEqual(received.map((r) => r.token), [teenServerToken])
    }))
})
