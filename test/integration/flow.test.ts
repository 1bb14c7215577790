/**
 * The core operations end to end against PlexFake over real loopback HTTP: the sign-in →
 * two-factor → token details → transient token → source information → revoked token story, and
 * what each of the fake's fault controls turns into.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { Authentication, PlexError, PlexPolicy } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { LoopbackLive, uniqueLogin } from "./harness.js"

const source = "server://c0ffee0123456789"

const failure = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(self), (exit) => {
    assert.isTrue(Exit.isFailure(exit), "expected a failure")
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") {
      throw new Error(`expected a typed failure, got ${String(exit)}`)
    }
    return exit.cause.error
  })

layer(LoopbackLive, { excludeTestServices: true })("PlexFake over loopback", (it) => {
  it.effect("getTransientToken sends POST with no body; the fake, like a PMS, answers GET as well", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const urls = yield* PlexFake.PlexFakeServer
      const account = yield* fake.addAccount({ login: uniqueLogin("verbs"), password: "pw" })
      yield* fake.clearRequests
      yield* Authentication.getTransientToken(undefined, { token: Redacted.make(account.token) })
      const sent = (yield* fake.requests).filter((r) => r.path === "/security/token")
      assert.deepStrictEqual(sent.map((r) => r.method), ["POST"])
      assert.isUndefined(sent[0].headers["content-type"])
      const viaGet = yield* Effect.promise(() =>
        fetch(`${urls.serverUrl}/security/token?type=delegation&scope=all`, {
          headers: { accept: "application/json", "x-plex-token": account.token }
        })
      )
      assert.strictEqual(viaGet.status, 200)
      // The other tests read the fake's record of requests from the start.
      yield* fake.clearRequests
    }))

  it.effect("sign in → 2FA → token details → transient token → source information → revoked token", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const login = uniqueLogin("flow")
      yield* fake.addAccount({ login, password: "correct horse", twoFactorCode: "424242", username: "flow-user" })
      yield* fake.addSource(source, {
        name: "Remote Server",
        clientIdentifier: "c0ffee0123456789",
        connections: [
          {
            protocol: "https",
            address: "127.0.0.1",
            port: 32400,
            uri: "https://127-0-0-1.x.plex.direct:32400",
            local: true
          }
        ]
      })

      const challenge = yield* failure(Authentication.postUsersSignInData({ login, password: "correct horse" }))
      assert.isTrue(PlexError.isTwoFactorRequired(challenge))
      assert.strictEqual(challenge._tag, "PlexUnauthorized")

      const user = yield* Authentication.postUsersSignInData({
        login,
        password: "correct horse",
        verificationCode: "424242",
        rememberMe: true
      })
      assert.strictEqual(user.username, "flow-user")
      assert.isTrue(user.twoFactorEnabled)
      const token = user.authToken
      assert.isTrue(yield* fake.isTokenValid(Redacted.value(token)))

      const details = yield* Authentication.getTokenDetails({ token })
      assert.strictEqual(details.uuid, user.uuid)
      assert.strictEqual(details.email, user.email)

      const transient = yield* Authentication.getTransientToken({ type: "delegation", scope: "all" }, { token })
      assert.match(Redacted.value(transient.token), /^transient-/)

      const info = yield* Authentication.getSourceConnectionInformation({ source }, { token: transient.token })
      assert.strictEqual(info.device.name, "Remote Server")
      assert.strictEqual(info.device.connections[0].port, 32400)
      assert.isTrue(info.device.connections[0].local)

      // A PMS restart destroys transient tokens: the PMS answers 401 with an HTML page.
      yield* fake.restartServer
      const revoked = yield* failure(
        Authentication.getSourceConnectionInformation({ source }, { token: transient.token })
      )
      assert.strictEqual(revoked._tag, "PlexUnauthorized")
      if (revoked._tag === "PlexUnauthorized") assert.deepStrictEqual(revoked.errors, [])

      yield* fake.revokeToken(Redacted.value(token))
      const gone = yield* failure(Authentication.getTokenDetails({ token }))
      assert.strictEqual(gone._tag, "PlexUnauthorized")
      assert.isTrue(PlexError.hasCode(gone, PlexError.ErrorCode.NotAuthenticated))

      const requests = yield* fake.requests
      assert.isAbove(requests.length, 5)
      for (const request of requests) {
        assert.isUndefined(request.searchParams["X-Plex-Token"], "a token travelled in a URL")
        assert.strictEqual(request.headers["x-plex-client-identifier"], "effect-plex-integration")
      }
    }))

  it.effect("a wrong verification code is told apart from a missing one", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const login = uniqueLogin("wrong-code")
      yield* fake.addAccount({ login, password: "pw", twoFactorCode: "111111" })
      const error = yield* failure(
        Authentication.postUsersSignInData({ login, password: "pw", verificationCode: "222222" })
      )
      assert.isTrue(PlexError.isInvalidVerificationCode(error))
      assert.isFalse(PlexError.isTwoFactorRequired(error))
    }))

  it.effect("repeated wrong passwords end in the throttling code 1031", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const login = uniqueLogin("throttle")
      yield* fake.addAccount({ login, password: "right" })
      let last: unknown
      for (let i = 0; i < 6; i++) {
        last = yield* failure(Authentication.postUsersSignInData({ login, password: `wrong-${i}` }))
      }
      assert.isTrue(PlexError.isSignInThrottled(last))
      yield* fake.resetFaults
    }))

  describe("fault controls", () => {
    const withAccount = Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.resetFaults
      const account = yield* fake.addAccount({ login: uniqueLogin("faults"), password: "pw" })
      return { fake, token: Redacted.make(account.token) }
    })
    const once = PlexPolicy.withPolicy({ maxAttempts: 1 })

    it.effect("failNext 400 / 401 / 429 / 500 map to the typed errors", () =>
      Effect.gen(function*() {
        const { fake, token } = yield* withAccount
        yield* fake.failNext(1, { status: 400 }, { path: "/api/v2/user" })
        assert.strictEqual(
          (yield* failure(Authentication.getTokenDetails({ token }).pipe(once)))._tag,
          "PlexBadRequest"
        )
        yield* fake.failNext(1, { status: 401 }, { path: "/api/v2/user" })
        assert.strictEqual(
          (yield* failure(Authentication.getTokenDetails({ token }).pipe(once)))._tag,
          "PlexUnauthorized"
        )
        yield* fake.failNext(1, { status: 429, retryAfter: 3 }, { path: "/api/v2/user" })
        const limited = yield* failure(Authentication.getTokenDetails({ token }).pipe(once))
        assert.isTrue(PlexError.isReason(limited, "RateLimited"))
        if (limited._tag === "PlexSdkError") assert.strictEqual(limited.retryAfterMillis, 3000)
        yield* fake.failNext(1, { status: 500, body: "boom" }, { path: "/api/v2/user" })
        const server = yield* failure(Authentication.getTokenDetails({ token }).pipe(once))
        assert.isTrue(PlexError.isReason(server, "StatusCode"))
        if (server._tag === "PlexSdkError") {
          assert.strictEqual(server.status, 500)
          assert.strictEqual(server.bodyExcerpt, "boom")
        }
      }))

    it.effect("delayNext beyond the attempt timeout is a Timeout", () =>
      Effect.gen(function*() {
        const { fake, token } = yield* withAccount
        yield* fake.delayNext(1, "1 second", { path: "/api/v2/user" })
        const error = yield* failure(
          Authentication.getTokenDetails({ token }).pipe(
            PlexPolicy.withPolicy({ maxAttempts: 1, attemptTimeout: "150 millis" })
          )
        )
        assert.isTrue(PlexError.isReason(error, "Timeout"))
      }))

    it.effect("every corruptNext kind is a Decode error, never a defect", () =>
      Effect.gen(function*() {
        const { fake, token } = yield* withAccount
        const kinds: ReadonlyArray<PlexFake.CorruptionKind> = [
          "malformed-json",
          "truncated",
          "html",
          "xml-error",
          "empty",
          { _tag: "oversized", bytes: 64 * 1024 },
          { _tag: "oversized", bytes: 64 * 1024, chunked: true }
        ]
        for (const kind of kinds) {
          yield* fake.corruptNext(1, kind, { path: "/api/v2/user" })
          const error = yield* failure(
            Authentication.getTokenDetails({ token }).pipe(
              PlexPolicy.withPolicy({ maxAttempts: 1, maxBodyBytes: 32 * 1024 })
            )
          )
          assert.isTrue(PlexError.isReason(error, "Decode"), `${JSON.stringify(kind)} gave ${String(error)}`)
        }
      }))

    it.effect("dropNext is a Transport error", () =>
      Effect.gen(function*() {
        const { fake, token } = yield* withAccount
        yield* fake.dropNext(1, { path: "/api/v2/user" })
        const error = yield* failure(Authentication.getTokenDetails({ token }).pipe(once))
        assert.isTrue(PlexError.isReason(error, "Transport"))
      }))
  })
})
