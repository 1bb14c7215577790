// Runs inside a fresh project that installed the packed tarball (see test/packaging.test.ts):
// imports the package by name exactly as a user does, serves PlexFake on 127.0.0.1, and signs in
// over real loopback HTTP with FetchHttpClient. Prints marker lines the test checks; exits 1 on
// any failure.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, Redacted } from "effect"
import { Authentication, PlexConfig, PlexError, PlexToken } from "effect-plex"
import * as AuthenticationByPath from "effect-plex/Authentication"
import * as PlexTokenByPath from "effect-plex/PlexToken"
import { PlexFake } from "effect-plex/testing"

const login = "packaged@example.com"
const password = "packaged-password-123"

const program = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const urls = yield* PlexFake.PlexFakeServer
  if (!urls.url.startsWith("http://127.0.0.1:")) {
    return yield* Effect.dieMessage(`PlexFake is not on loopback: ${urls.url}`)
  }
  const account = yield* fake.addAccount({ login, password, username: "packaged-consumer" })

  const PlexLive = Authentication.layer.pipe(
    Layer.provide(Layer.mergeAll(
      FetchHttpClient.layer,
      PlexConfig.layer({
        clientIdentifier: "packaging-test-client",
        product: "packaging-test",
        plexTvUrl: urls.plexTvUrl,
        serverUrl: urls.serverUrl
      }),
      PlexToken.none
    ))
  )
  const user = yield* Authentication.postUsersSignInData({ login, password }).pipe(Effect.provide(PlexLive))
  if (Redacted.value(user.authToken) !== account.token) {
    return yield* Effect.dieMessage("sign-in returned a different token than the fake issued")
  }
  // The error model is reachable from the package too: a wrong password is a typed 401.
  const wrong = yield* Effect.flip(
    Authentication.postUsersSignInData({ login, password: "not-the-password" }).pipe(Effect.provide(PlexLive))
  )
  if (wrong._tag !== "PlexUnauthorized" || PlexError.isTwoFactorRequired(wrong)) {
    return yield* Effect.dieMessage(`expected PlexUnauthorized for a wrong password, got ${wrong._tag}`)
  }
  console.log(`CONSUMER_SIGNED_IN username=${user.username}`)
})

// Each public module is also its own subpath (what bundlers tree-shake best), and it is the same
// module as the barrel's namespace, not a second copy.
console.log(
  `DEEP_IMPORTS_SAME ${AuthenticationByPath.layer === Authentication.layer && PlexTokenByPath.none === PlexToken.none}`
)

// Subpaths that package.json does not export must stay private.
for (const subpath of ["effect-plex/internal/request.js", "effect-plex/dist/internal/request.js"]) {
  try {
    await import(subpath)
    console.log(`SUBPATH_IMPORTED ${subpath}`)
  } catch (error) {
    console.log(`SUBPATH_REFUSED ${subpath} ${error?.code ?? String(error)}`)
  }
}

await Effect.runPromise(program.pipe(Effect.provide(PlexFake.layerServer))).then(
  () => {
    process.exitCode = 0
  },
  (error) => {
    console.error(String(error))
    process.exitCode = 1
  }
)
