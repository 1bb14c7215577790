/**
 * PlexAuth's caches, in-process against PlexFake so that `TestClock` drives the time to live:
 * single flight, TTL, the negative cache, upstream failures never cached nor called invalid,
 * server access, invalidation, LRU eviction, keys that are hashes, and interruption.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Exit, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import * as PlexAuth from "effect-plex/PlexAuth"
import type * as PlexError from "effect-plex/PlexError"
import { PlexFake } from "effect-plex/testing"
import { createHash } from "node:crypto"
import { build, hashToken, nodeSha256, webCryptoSha256 } from "../../src/internal/authCache.js"
import { authOverFake, callsTo } from "./support.js"

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

const token = Effect.map(PlexFake.TestAccount, (account) => account.token)

const fresh = (login: string) => Effect.flatMap(PlexFake.PlexFake, (fake) => fake.addAccount({ login, password: "pw" }))

describe("PlexAuth.authenticate", () => {
  it.effect("a valid token: the account, whose authToken is that token (Redacted)", () =>
    Effect.gen(function*() {
      const account = yield* PlexFake.TestAccount
      const user = yield* PlexAuth.authenticate(account.token)
      assert.strictEqual(user.uuid, account.uuid)
      assert.strictEqual(user.username, account.username)
      assert.isTrue(Redacted.isRedacted(user.authToken))
      assert.strictEqual(Redacted.value(user.authToken), account.token)
      // A Redacted token is accepted as well, and hits the same entry.
      yield* PlexAuth.authenticate(Redacted.make(account.token))
      assert.strictEqual(yield* callsTo("/user"), 1)
    }).pipe(Effect.provide(authOverFake())))

  it.effect("1,000 concurrent calls with one unseen token make exactly one GET /user; after the TTL, one more", () =>
    Effect.gen(function*() {
      const t = yield* token
      const users = yield* Effect.all(Array.from({ length: 1000 }, () => PlexAuth.authenticate(t)), {
        concurrency: "unbounded"
      })
      assert.strictEqual(users.length, 1000)
      assert.isTrue(users.every((u) => u.uuid === users[0].uuid))
      assert.strictEqual(yield* callsTo("/user"), 1)
      // Still fresh a millisecond before the TTL ends (expiry is strictly after loadedAt + TTL).
      yield* TestClock.adjust("5 minutes")
      yield* PlexAuth.authenticate(t)
      assert.strictEqual(yield* callsTo("/user"), 1)
      yield* TestClock.adjust("1 millis")
      yield* Effect.all(Array.from({ length: 1000 }, () => PlexAuth.authenticate(t)), { concurrency: "unbounded" })
      assert.strictEqual(yield* callsTo("/user"), 2)
    }).pipe(Effect.provide(authOverFake())))

  it.effect("the TTL is configurable", () =>
    Effect.gen(function*() {
      const t = yield* token
      yield* PlexAuth.authenticate(t)
      yield* TestClock.adjust("11 seconds")
      yield* PlexAuth.authenticate(t)
      assert.strictEqual(yield* callsTo("/user"), 2)
    }).pipe(Effect.provide(authOverFake({ timeToLive: "10 seconds" }))))

  it.effect("a revoked token: Unauthenticated InvalidToken, remembered for the negative TTL (30 s), then asked again", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const t = yield* token
      yield* PlexAuth.authenticate(t)
      yield* fake.revokeToken(t)
      yield* PlexAuth.invalidate(t)
      const refused = yield* Effect.flip(PlexAuth.authenticate(t))
      assert.strictEqual(refused._tag, "Unauthenticated")
      assert.strictEqual(refused._tag === "Unauthenticated" && refused.reason, "InvalidToken")
      assert.strictEqual(yield* callsTo("/user"), 2)
      // A client retrying a dead token does not reach plex.tv.
      for (let i = 0; i < 50; i++) yield* Effect.flip(PlexAuth.authenticate(t))
      yield* TestClock.adjust("30 seconds")
      yield* Effect.flip(PlexAuth.authenticate(t))
      assert.strictEqual(yield* callsTo("/user"), 2)
      yield* TestClock.adjust("1 millis")
      yield* Effect.flip(PlexAuth.authenticate(t))
      assert.strictEqual(yield* callsTo("/user"), 3)
    }).pipe(Effect.provide(authOverFake())))

  it.effect("an expired JWT (498) is Unauthenticated ExpiredToken", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.failNext(1, { status: 498 }, { path: "/api/v2/user" })
      const refused = yield* Effect.flip(PlexAuth.authenticate(yield* token))
      assert.deepStrictEqual(refused._tag === "Unauthenticated" && refused.reason, "ExpiredToken")
    }).pipe(Effect.provide(authOverFake())))

  it.effect("no token, or one no header could carry: Unauthenticated without asking plex.tv", () =>
    Effect.gen(function*() {
      for (const [input, reason] of [["", "MissingToken"], [Redacted.make(""), "MissingToken"]] as const) {
        const error = yield* Effect.flip(PlexAuth.authenticate(input))
        assert.strictEqual(error._tag === "Unauthenticated" && error.reason, reason)
      }
      for (const input of ["has space", "line\nbreak", "ünïcode", "x".repeat(9000)]) {
        const error = yield* Effect.flip(PlexAuth.authenticate(input))
        assert.strictEqual(error._tag === "Unauthenticated" && error.reason, "InvalidToken")
      }
      assert.strictEqual(yield* callsTo("/user"), 0)
    }).pipe(Effect.provide(authOverFake())))

  const outages: ReadonlyArray<
    readonly [string, (fake: PlexFake.Service) => Effect.Effect<void>, PlexAuth.Options, PlexError.SdkErrorReason]
  > = [
    ["503 on every attempt", (fake) => fake.failNext(3, { status: 503 }, { path: "/api/v2/user" }), {}, "StatusCode"],
    ["500", (fake) => fake.failNext(3, { status: 500 }, { path: "/api/v2/user" }), {}, "StatusCode"],
    ["429", (fake) => fake.failNext(3, { status: 429 }, { path: "/api/v2/user" }), {}, "RateLimited"],
    ["dropped connections", (fake) => fake.dropNext(3, { path: "/api/v2/user" }), {}, "Transport"],
    ["an HTML page", (fake) => fake.corruptNext(1, "html", { path: "/api/v2/user" }), {}, "Decode"],
    ["a 403", (fake) => fake.failNext(1, { status: 403 }, { path: "/api/v2/user" }), {}, "StatusCode"]
  ]
  for (const [name, fault, options, reason] of outages) {
    it.effect(`plex.tv failing (${name}): PlexUnavailable, not cached, and the next call after recovery succeeds`, () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const t = yield* token
        yield* fault(fake)
        const failed = yield* Effect.flip(PlexAuth.authenticate(t))
        assert.strictEqual(failed._tag, "PlexUnavailable")
        assert.strictEqual(
          failed._tag === "PlexUnavailable" && failed.cause._tag === "PlexSdkError" && failed.cause.reason,
          reason
        )
        const before = yield* callsTo("/user")
        // Same millisecond, no clock moved: nothing of the outage is served from the cache.
        const user = yield* PlexAuth.authenticate(t)
        assert.strictEqual(Redacted.value(user.authToken), t)
        assert.strictEqual(yield* callsTo("/user"), before + 1)
        const stats = yield* Effect.flatMap(PlexAuth.PlexAuth, (auth) => auth.stats)
        assert.strictEqual(stats.users, 1)
      }).pipe(Effect.provide(authOverFake(options))))
  }

  it.effect("a timeout (the `policy` option bounds the wait): PlexUnavailable, then success", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const t = yield* token
      yield* fake.delayNext(1, "1 minute", { path: "/api/v2/user" })
      const pending = yield* Effect.fork(Effect.flip(PlexAuth.authenticate(t)))
      yield* TestClock.adjust("2 seconds")
      const failed = yield* Fiber.join(pending)
      assert.strictEqual(
        failed._tag === "PlexUnavailable" && failed.cause._tag === "PlexSdkError" && failed.cause.reason,
        "Timeout"
      )
      yield* PlexAuth.authenticate(t)
    }).pipe(Effect.provide(authOverFake({ policy: { maxAttempts: 1, attemptTimeout: "2 seconds" } }))))

  it.effect("concurrent callers during an outage share its one failure; none of it stays", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const t = yield* token
      yield* fake.failNext(1, { status: 502 }, { path: "/api/v2/user" })
      const results = yield* Effect.all(Array.from({ length: 100 }, () => Effect.either(PlexAuth.authenticate(t))), {
        concurrency: "unbounded"
      })
      assert.isTrue(results.every((r) => Either.isLeft(r) && r.left._tag === "PlexUnavailable"))
      assert.strictEqual(yield* callsTo("/user"), 1)
      yield* PlexAuth.authenticate(t)
      assert.strictEqual(yield* callsTo("/user"), 2)
    }).pipe(Effect.provide(authOverFake({ policy: { maxAttempts: 1 } }))))

  it.effect("interrupting the caller that started a lookup does not interrupt the others waiting for it", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const t = yield* token
      yield* fake.delayNext(1, "1 second", { path: "/api/v2/user" })
      const first = yield* Effect.fork(PlexAuth.authenticate(t))
      while ((yield* callsTo("/user")) === 0) yield* Effect.yieldNow()
      const second = yield* Effect.fork(PlexAuth.authenticate(t))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust("1 second")
      const user = yield* Fiber.join(second)
      assert.strictEqual(Redacted.value(user.authToken), t)
      assert.strictEqual(yield* callsTo("/user"), 1)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(first)))
    }).pipe(Effect.provide(authOverFake())))

  it.effect("invalidate (sign-out): the next call asks plex.tv again", () =>
    Effect.gen(function*() {
      const t = yield* token
      yield* PlexAuth.authenticate(t)
      yield* PlexAuth.invalidate(t)
      yield* PlexAuth.authenticate(t)
      assert.strictEqual(yield* callsTo("/user"), 2)
      // Forgetting a token that is not there, or no token at all, is fine.
      yield* PlexAuth.invalidate("unknown-token")
      yield* PlexAuth.invalidate("")
    }).pipe(Effect.provide(authOverFake())))

  it.effect("capacity: the least recently used entry goes first", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const a = yield* token
      const b = yield* fake.issueToken("user@example.com")
      const c = yield* fake.issueToken("user@example.com")
      yield* PlexAuth.authenticate(a)
      yield* PlexAuth.authenticate(b)
      yield* PlexAuth.authenticate(a) // a is now more recent than b
      yield* PlexAuth.authenticate(c) // over capacity: b goes
      assert.strictEqual(yield* callsTo("/user"), 3)
      yield* PlexAuth.authenticate(a)
      assert.strictEqual(yield* callsTo("/user"), 3)
      yield* PlexAuth.authenticate(b)
      assert.strictEqual(yield* callsTo("/user"), 4)
      const stats = yield* Effect.flatMap(PlexAuth.PlexAuth, (auth) => auth.stats)
      assert.strictEqual(stats.users, 2)
    }).pipe(Effect.provide(authOverFake({ capacity: 2 }))))
})

describe("PlexAuth.requireServerAccess", () => {
  const withServer = Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const owner = yield* PlexFake.TestAccount
    const friend = yield* fresh("friend@example.com")
    const stranger = yield* fresh("stranger@example.com")
    const server = yield* fake.addServer({
      name: "Operator's Plex",
      owner: owner.login,
      sharedWith: [friend.login],
      connections: [{}]
    })
    return { owner, friend, stranger, id: server.machineIdentifier }
  })

  it.effect("owned or shared: the server as the user sees it; neither: ServerAccessDenied", () =>
    Effect.gen(function*() {
      const { friend, id, owner, stranger } = yield* withServer
      const own = yield* PlexAuth.requireServerAccess(id, owner.token)
      assert.strictEqual(own.clientIdentifier, id)
      assert.isTrue(own.owned)
      const shared = yield* PlexAuth.requireServerAccess(id, friend.token)
      assert.isFalse(shared.owned)
      const denied = yield* Effect.flip(PlexAuth.requireServerAccess(id, stranger.token))
      assert.strictEqual(denied._tag, "ServerAccessDenied")
      // A client device with that identifier would not count: only servers do.
      const notAServer = yield* Effect.flip(PlexAuth.requireServerAccess(`plex-web-${owner.uuid}`, owner.token))
      assert.strictEqual(notAServer._tag, "ServerAccessDenied")
    }).pipe(Effect.provide(authOverFake())))

  it.effect("cached like the user: a yes for the TTL, a no for the negative TTL; invalidate forgets both", () =>
    Effect.gen(function*() {
      const { id, owner, stranger } = yield* withServer
      yield* PlexAuth.requireServerAccess(id, owner.token)
      yield* Effect.flip(PlexAuth.requireServerAccess(id, stranger.token))
      yield* Effect.all(
        Array.from({ length: 100 }, () =>
          Effect.zip(
            PlexAuth.requireServerAccess(id, owner.token),
            Effect.flip(PlexAuth.requireServerAccess(id, stranger.token))
          )),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(yield* callsTo("/resources"), 2)
      yield* TestClock.adjust("31 seconds")
      yield* PlexAuth.requireServerAccess(id, owner.token)
      yield* Effect.flip(PlexAuth.requireServerAccess(id, stranger.token))
      assert.strictEqual(yield* callsTo("/resources"), 3)
      yield* PlexAuth.invalidate(owner.token)
      yield* PlexAuth.requireServerAccess(id, owner.token)
      assert.strictEqual(yield* callsTo("/resources"), 4)
    }).pipe(Effect.provide(authOverFake())))

  it.effect("a refused token is Unauthenticated; plex.tv failing is PlexUnavailable and not kept", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { id, owner } = yield* withServer
      const refused = yield* Effect.flip(PlexAuth.requireServerAccess(id, "not-a-known-token"))
      assert.strictEqual(refused._tag, "Unauthenticated")
      yield* fake.failNext(3, { status: 503 }, { path: "/api/v2/resources" })
      const down = yield* Effect.flip(PlexAuth.requireServerAccess(id, owner.token))
      assert.strictEqual(down._tag, "PlexUnavailable")
      yield* PlexAuth.requireServerAccess(id, owner.token)
    }).pipe(Effect.provide(authOverFake())))

  it.effect("without a token, for the CurrentPlexUser of the request", () =>
    Effect.gen(function*() {
      const { id, stranger } = yield* withServer
      const user = yield* PlexAuth.authenticate(stranger.token)
      const denied = yield* Effect.flip(
        PlexAuth.requireServerAccess(id).pipe(Effect.provideService(PlexAuth.CurrentPlexUser, user))
      )
      assert.strictEqual(denied._tag, "ServerAccessDenied")
    }).pipe(Effect.provide(authOverFake())))
})

describe("cache keys", () => {
  it.effect("are the tokens' SHA-256 in hex, never the tokens", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const t = yield* token
      const other = yield* fake.issueToken("user@example.com")
      const server = yield* fake.addServer({ name: "S", owner: "user@example.com", connections: [{}] })
      const built = yield* build({
        capacity: 10,
        timeToLive: Duration.minutes(5),
        negativeTimeToLive: Duration.seconds(30),
        server: Option.none(),
        policy: undefined
      })
      yield* built.service.authenticate(t)
      yield* Effect.flip(built.service.authenticate("revoked-or-never-issued"))
      yield* built.service.requireServerAccess(server.machineIdentifier, other)
      const userKeys = yield* built.users.keys
      const accessKeys = yield* built.access.keys
      assert.sameMembers([...userKeys], [sha256(t), sha256("revoked-or-never-issued")])
      assert.deepStrictEqual([...accessKeys], [`${sha256(other)}/${server.machineIdentifier}`])
      for (const key of [...userKeys, ...accessKeys]) {
        for (const secret of [t, other, "revoked-or-never-issued"]) assert.notInclude(key, secret)
      }
    }).pipe(Effect.provide(authOverFake())))

  it.effect("Node's SHA-256 and WebCrypto's agree, so every platform keys alike", () =>
    Effect.gen(function*() {
      const node = nodeSha256()
      assert.isDefined(node)
      for (const text of ["", "abc", "xyzTOKEN1234567890ab", "ünïcode ✓ 🔑", "x".repeat(5000)]) {
        const web = yield* webCryptoSha256(text)
        assert.strictEqual(web, sha256(text))
        assert.strictEqual(node!(text), web)
        assert.strictEqual(yield* hashToken(text), web)
      }
    }))
})

describe("options", () => {
  const refused = (options: PlexAuth.Options) =>
    Effect.flip(Layer.build(authOverFake(options))).pipe(Effect.scoped, Effect.map((e) => String(e)))

  it.effect("a value that cannot work fails layer construction with a ConfigError naming it", () =>
    Effect.gen(function*() {
      assert.include(yield* refused({ capacity: 0 }), "PlexAuth.capacity")
      assert.include(yield* refused({ capacity: 1.5 }), "PlexAuth.capacity")
      assert.include(yield* refused({ timeToLive: -1 }), "PlexAuth.timeToLive")
      assert.include(yield* refused({ timeToLive: "soon" as any }), "PlexAuth.timeToLive")
      assert.include(yield* refused({ negativeTimeToLive: "forever" as any }), "PlexAuth.negativeTimeToLive")
      assert.include(yield* refused({ policy: { maxAttempts: 0 } }), "maxAttempts")
    }))

  it.effect("layerFromEnv reads PLEX_AUTH_CAPACITY, PLEX_AUTH_TTL, PLEX_AUTH_NEGATIVE_TTL and PLEX_AUTH_SERVER", () =>
    Effect.gen(function*() {
      const t = yield* token
      const auth = yield* PlexAuth.PlexAuth
      assert.deepStrictEqual(auth.server, Option.some("abc123"))
      yield* PlexAuth.authenticate(t)
      yield* TestClock.adjust("3 seconds")
      yield* PlexAuth.authenticate(t)
      assert.strictEqual(yield* callsTo("/user"), 2)
      const refusedOnce = yield* Effect.flip(PlexAuth.authenticate("dead"))
      assert.strictEqual(refusedOnce._tag, "Unauthenticated")
      yield* TestClock.adjust("1 second")
      yield* Effect.flip(PlexAuth.authenticate("dead"))
      assert.strictEqual(yield* callsTo("/user"), 4)
    }).pipe(
      Effect.provide(PlexAuth.layerFromEnv.pipe(Layer.provideMerge(PlexFake.layerTest()))),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["PLEX_AUTH_CAPACITY", "5"],
            ["PLEX_AUTH_TTL", "2 seconds"],
            ["PLEX_AUTH_NEGATIVE_TTL", "500 millis"],
            ["PLEX_AUTH_SERVER", "abc123"]
          ])
        )
      )
    ))

  it.effect("layerFromEnv with a value that does not parse fails with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(PlexAuth.layerFromEnv.pipe(Layer.provideMerge(PlexFake.layerTest())))
      )
      assert.include(String(error), "PLEX_AUTH_CAPACITY")
    }).pipe(
      Effect.scoped,
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PLEX_AUTH_CAPACITY", "lots"]])))
    ))
})
