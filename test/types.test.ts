/**
 * Type-level guarantees, checked by `tsc --noEmit` (this file is in the tsconfig) and run by vitest
 * so a broken import also fails the suite. `expectTypeOf(...).toEqualTypeOf<T>()` checks both
 * directions, so a wider or narrower type is a compile error.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { describe, expectTypeOf, it } from "@effect/vitest"
import type { ConfigError, Layer, Option, Redacted } from "effect"
import { Effect } from "effect"
import type { Models } from "../src/index.js"
import { Authentication, PlexConfig, PlexError, PlexPolicy, PlexToken } from "../src/index.js"

type Errors = PlexError.PlexBadRequest | PlexError.PlexUnauthorized | PlexError.PlexSdkError

type Service = Authentication.Service
type Op<K extends keyof Service> = ReturnType<Service[K]>

describe("types", () => {
  it("each operation fails with exactly PlexBadRequest | PlexUnauthorized | PlexSdkError", () => {
    expectTypeOf<Effect.Effect.Error<Op<"getTransientToken">>>().toEqualTypeOf<Errors>()
    expectTypeOf<Effect.Effect.Error<Op<"getSourceConnectionInformation">>>().toEqualTypeOf<Errors>()
    expectTypeOf<Effect.Effect.Error<Op<"getTokenDetails">>>().toEqualTypeOf<Errors>()
    expectTypeOf<Effect.Effect.Error<Op<"postUsersSignInData">>>().toEqualTypeOf<Errors>()
    expectTypeOf<PlexError.PlexError>().toEqualTypeOf<Errors>()

    expectTypeOf<Effect.Effect.Error<ReturnType<typeof Authentication.getTransientToken>>>().toEqualTypeOf<Errors>()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof Authentication.getSourceConnectionInformation>>>()
      .toEqualTypeOf<Errors>()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof Authentication.getTokenDetails>>>().toEqualTypeOf<Errors>()
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof Authentication.postUsersSignInData>>>().toEqualTypeOf<Errors>()
  })

  it("service methods need nothing; accessors need only Authentication", () => {
    expectTypeOf<Effect.Effect.Context<Op<"getTransientToken">>>().toEqualTypeOf<never>()
    expectTypeOf<Effect.Effect.Context<Op<"getSourceConnectionInformation">>>().toEqualTypeOf<never>()
    expectTypeOf<Effect.Effect.Context<Op<"getTokenDetails">>>().toEqualTypeOf<never>()
    expectTypeOf<Effect.Effect.Context<Op<"postUsersSignInData">>>().toEqualTypeOf<never>()

    type Auth = Authentication.Authentication
    expectTypeOf<Effect.Effect.Context<ReturnType<typeof Authentication.getTransientToken>>>().toEqualTypeOf<Auth>()
    expectTypeOf<Effect.Effect.Context<ReturnType<typeof Authentication.getSourceConnectionInformation>>>()
      .toEqualTypeOf<Auth>()
    expectTypeOf<Effect.Effect.Context<ReturnType<typeof Authentication.getTokenDetails>>>().toEqualTypeOf<Auth>()
    expectTypeOf<Effect.Effect.Context<ReturnType<typeof Authentication.postUsersSignInData>>>().toEqualTypeOf<Auth>()
  })

  it("success types are the model classes", () => {
    expectTypeOf<Effect.Effect.Success<Op<"getTransientToken">>>().toEqualTypeOf<Models.TransientToken>()
    expectTypeOf<Effect.Effect.Success<Op<"getSourceConnectionInformation">>>()
      .toEqualTypeOf<Models.SourceConnectionInformation>()
    expectTypeOf<Effect.Effect.Success<Op<"getTokenDetails">>>().toEqualTypeOf<Models.PlexUser>()
    expectTypeOf<Effect.Effect.Success<Op<"postUsersSignInData">>>().toEqualTypeOf<Models.PlexUser>()
    expectTypeOf<Effect.Effect.Success<ReturnType<typeof Authentication.getTokenDetails>>>()
      .toEqualTypeOf<Models.PlexUser>()
  })

  it("secrets are Redacted in the models; plain data is plain", () => {
    expectTypeOf<Models.PlexUser["authToken"]>().toEqualTypeOf<Redacted.Redacted<string>>()
    expectTypeOf<Models.TransientToken["token"]>().toEqualTypeOf<Redacted.Redacted<string>>()
    expectTypeOf<Models.SourceDevice["accessToken"]>().toEqualTypeOf<Redacted.Redacted<string> | undefined>()
    expectTypeOf<Models.PlexUser["id"]>().toEqualTypeOf<number>()
    expectTypeOf<Models.SourceConnection["port"]>().toEqualTypeOf<number>()
    expectTypeOf<Models.SourceConnection["local"]>().toEqualTypeOf<boolean>()
    expectTypeOf<Models.SourceConnectionInformation["device"]>().toEqualTypeOf<Models.SourceDevice>()
  })

  it("layers: what Authentication.layer needs, what the config layers can fail with", () => {
    expectTypeOf(Authentication.layer).toEqualTypeOf<
      Layer.Layer<
        Authentication.Authentication,
        never,
        HttpClient.HttpClient | PlexConfig.PlexConfig | PlexToken.PlexToken
      >
    >()
    expectTypeOf(PlexConfig.layer({ clientIdentifier: "c" })).toEqualTypeOf<
      Layer.Layer<PlexConfig.PlexConfig, ConfigError.ConfigError>
    >()
    expectTypeOf(PlexConfig.layerFromEnv).toEqualTypeOf<
      Layer.Layer<PlexConfig.PlexConfig, ConfigError.ConfigError>
    >()
    expectTypeOf(PlexToken.layerFromEnv).toEqualTypeOf<Layer.Layer<PlexToken.PlexToken, ConfigError.ConfigError>>()
    expectTypeOf(PlexToken.layerStore()).toEqualTypeOf<
      Layer.Layer<PlexToken.PlexToken | PlexToken.PlexTokenStore>
    >()
    expectTypeOf<Effect.Effect.Success<PlexToken.Service["get"]>>().toEqualTypeOf<
      Option.Option<Redacted.Redacted<string>>
    >()
    // A policy layer provides the reference and requires nothing.
    expectTypeOf(PlexPolicy.layer({})).toEqualTypeOf<Layer.Layer<PlexPolicy.PlexPolicy, ConfigError.ConfigError>>()
    expectTypeOf(PlexPolicy.layerNoRetries).toEqualTypeOf<Layer.Layer<PlexPolicy.PlexPolicy>>()
  })

  it("withPolicy and the predicates keep and narrow types", () => {
    const call = Effect.flatMap(Authentication.Authentication, (auth) => auth.getTokenDetails())
    const limited = call.pipe(PlexPolicy.withPolicy({ maxAttempts: 1 }))
    expectTypeOf(limited).toEqualTypeOf<typeof call>()

    const error = null as unknown as PlexError.PlexError
    if (PlexError.isTwoFactorRequired(error)) expectTypeOf(error).toEqualTypeOf<PlexError.PlexUnauthorized>()
    if (PlexError.isSignInThrottled(error)) expectTypeOf(error).toEqualTypeOf<PlexError.PlexUnauthorized>()
    if (PlexError.isReason(error, "Timeout")) {
      expectTypeOf(error).toEqualTypeOf<PlexError.PlexSdkError & { readonly reason: "Timeout" }>()
    }
    // Data-last, as a refinement for Effect.catchIf: the handler sees the narrowed error.
    const expired = call.pipe(
      Effect.catchIf(PlexError.isReason("PinExpired"), (e) => Effect.succeed(e.reason))
    )
    expectTypeOf(expired).toEqualTypeOf<
      Effect.Effect<Models.PlexUser | "PinExpired", PlexError.PlexError, Authentication.Authentication>
    >()
    if (PlexError.hasCode(1029)(error)) expectTypeOf(error).toEqualTypeOf<PlexError.PlexError>()
    expectTypeOf<PlexError.SdkErrorReason>().toEqualTypeOf<
      | "Transport"
      | "Timeout"
      | "StatusCode"
      | "RateLimited"
      | "Decode"
      | "InvalidRequest"
      | "PinExpired"
      | "PinTimeout"
      | "NoConnection"
      | "InvalidToken"
      | "Storage"
    >()
  })

  it("errors can be handled by tag, leaving the rest", () => {
    const call = Effect.flatMap(Authentication.Authentication, (auth) => auth.getTokenDetails())
    const handled = call.pipe(Effect.catchTag("PlexUnauthorized", () => Effect.succeed(null)))
    expectTypeOf(handled).toEqualTypeOf<
      Effect.Effect<
        Models.PlexUser | null,
        PlexError.PlexBadRequest | PlexError.PlexSdkError,
        Authentication.Authentication
      >
    >()
  })

  it("inputs are checked", () => {
    const auth = null as unknown as Service
    const guard = false
    if (guard) {
      // @ts-expect-error source is required
      auth.getSourceConnectionInformation({})
      // @ts-expect-error only "delegation" is supported
      auth.getTransientToken({ type: "shared" })
      // @ts-expect-error only "all" is supported
      auth.getTransientToken({ scope: "some" })
      // @ts-expect-error login is a string
      auth.postUsersSignInData({ login: 1, password: "p" })
      // @ts-expect-error password is required
      auth.postUsersSignInData({ login: "u" })
      // @ts-expect-error a per-call token must be Redacted, not a plain string
      auth.getTokenDetails({ token: "plain" })
      // @ts-expect-error clientIdentifier is required
      PlexConfig.layer({ product: "p" })
      // Redacted and plain strings are both fine where documented.
      auth.postUsersSignInData({ login: "u", password: "p", verificationCode: "123456", rememberMe: true })
    }
  })
})
