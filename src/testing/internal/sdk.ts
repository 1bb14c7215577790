/**
 * The SDK wired to the fake in one layer, for users' tests (re-exported by `PlexFake.ts`).
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ServeError } from "@effect/platform/HttpServerError"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Plex from "../../Plex.js"
import type * as PlexConfig from "../../PlexConfig.js"
import type * as PlexPolicy from "../../PlexPolicy.js"
import * as PlexFake from "../PlexFake.js"
import type { PlexFakeError } from "./errors.js"

/**
 * The account {@link layerTest} seeds the fake with; its `token` is the one the SDK's `PlexToken`
 * starts with.
 *
 * @since 0.2.0
 * @category tags
 */
export class TestAccount extends Context.Tag("effect-plex/testing/PlexFake/TestAccount")<
  TestAccount,
  PlexFake.FakeAccount
>() {}

/**
 * Options of {@link layerTest}.
 *
 * - `account`: the seeded account (default login `user@example.com`, password `password`,
 *   username `user`, a random token). Add more with `PlexFake.addAccount`.
 * - `config`: `PlexConfig` options besides the URLs, which point at the fake.
 * - `policy`: changes on top of the test policy, which is the default policy without backoff waits
 *   (see `PlexPolicy.layerTest`).
 * - `transport`: `"in-process"` (default: no socket; `TestClock` drives everything the fake does)
 *   or `"loopback"` (the fake on `127.0.0.1`, reached with `FetchHttpClient`).
 *
 * @since 0.2.0
 * @category models
 */
export interface TestOptions {
  readonly account?: Partial<PlexFake.AddAccountOptions> | undefined
  readonly config?: Partial<Omit<PlexConfig.Options, "plexTvUrl" | "serverUrl" | "clientsUrl">> | undefined
  readonly policy?: PlexPolicy.Options | undefined
  readonly transport?: "in-process" | "loopback" | undefined
}

/**
 * What {@link layerTest} provides: the fake, its URLs, the seeded account, an `HttpClient` to it,
 * and every SDK service (as `Plex.layer` does).
 *
 * @since 0.2.0
 * @category models
 */
export type TestProvided =
  | PlexFake.PlexFake
  | PlexFake.PlexFakeServer
  | TestAccount
  | HttpClient.HttpClient
  | Plex.Provided

/**
 * The SDK wired to a fresh fake, in one layer: a seeded account whose token the SDK starts with,
 * a `PlexConfig` pointing at the fake, and a policy without backoff waits, so a retried 503 is sent
 * again at once and tests under `it.effect` (`TestClock`) need no `TestClock.adjust` for it. A
 * `Retry-After` you inject is still honoured, and timeouts still follow the clock: advance it.
 *
 * In-process (the default) everything the fake does (PIN expiry, `delayNext`, auto-approval) runs
 * on the test's clock. Over loopback the fake serves on `127.0.0.1` with the live clock, so waits
 * inside the fake (`delayNext`) pass in real time: use `it.live` for those.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest = (
  options: TestOptions = {}
): Layer.Layer<TestProvided, ConfigError.ConfigError | PlexFakeError | ServeError> => {
  const fake: Layer.Layer<PlexFake.PlexFake | PlexFake.PlexFakeServer | HttpClient.HttpClient, ServeError> =
    options.transport === "loopback"
      ? Layer.merge(PlexFake.layerServer, FetchHttpClient.layer)
      : PlexFake.layerClient
  const seeded = Layer.effect(
    TestAccount,
    Effect.flatMap(
      PlexFake.PlexFake,
      (service) => service.addAccount({ login: "user@example.com", password: "password", ...options.account })
    )
  )
  const sdk = Layer.unwrapEffect(
    Effect.gen(function*() {
      const urls = yield* PlexFake.PlexFakeServer
      const account = yield* TestAccount
      return Plex.layer({
        clientIdentifier: "effect-plex-fake-client",
        product: "effect-plex tests",
        ...options.config,
        plexTvUrl: urls.plexTvUrl,
        clientsUrl: urls.plexTvUrl,
        serverUrl: urls.serverUrl,
        token: account.token,
        policy: { baseDelay: 0, maxDelay: 0, jitter: false, ...options.policy }
      })
    })
  )
  return sdk.pipe(Layer.provideMerge(seeded), Layer.provideMerge(fake))
}
