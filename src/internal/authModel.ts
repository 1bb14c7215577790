/**
 * What `PlexAuth` is made of, apart from its implementation: the service tag and interface, the
 * `CurrentPlexUser` a middleware provides, and the errors. Kept here so the cache, the HTTP
 * middlewares and the PIN endpoints can share them without importing `PlexAuth.ts` (which
 * re-exports them all).
 *
 * @since 0.2.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { PlexUser } from "../Models.js"
import * as PlexError from "../PlexError.js"
import type { PlexResource } from "./resourceModels.js"

// --- errors -----------------------------------------------------------------------------------------

/**
 * Why a request is not authenticated: no token came with it, plex.tv does not know the token (HTTP
 * 401, or a token no header could carry), or the token is a Plex JWT that has expired (HTTP 498:
 * refresh it and try again).
 *
 * @since 0.2.0
 * @category errors
 */
export const UnauthenticatedReason = Schema.Literal("MissingToken", "InvalidToken", "ExpiredToken")

/**
 * The reasons of {@link Unauthenticated}, as a type.
 *
 * @since 0.2.0
 * @category errors
 */
export type UnauthenticatedReason = typeof UnauthenticatedReason.Type

const unauthenticatedMessages: Record<UnauthenticatedReason, string> = {
  MissingToken: "no Plex token came with the request",
  InvalidToken: "plex.tv does not accept this Plex token: sign in again",
  ExpiredToken: "this Plex JWT has expired: refresh it and try again"
}

/**
 * The request's Plex token is missing, unknown to plex.tv, or an expired JWT. Over HTTP this is a
 * 401 whose JSON body is the error itself: `{"_tag":"Unauthenticated","reason":"MissingToken",
 * "message":"…"}`. It never holds the token.
 *
 * @since 0.2.0
 * @category errors
 */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>("PlexAuth.Unauthenticated")(
  "Unauthenticated",
  { reason: UnauthenticatedReason, message: Schema.String },
  HttpApiSchema.annotations({
    status: 401,
    description: "The Plex token is missing, unknown to plex.tv, or an expired JWT (see `reason`)."
  })
) {}

/** {@link Unauthenticated} for a reason, with its standard message. @internal */
export const unauthenticated = (reason: UnauthenticatedReason): Unauthenticated =>
  new Unauthenticated({ reason, message: unauthenticatedMessages[reason] })

/**
 * The user is signed in but does not have the Plex Media Server this service requires among their
 * resources (neither owned nor shared with them). Over HTTP, a 403 whose JSON body is the error.
 *
 * @since 0.2.0
 * @category errors
 */
export class ServerAccessDenied extends Schema.TaggedError<ServerAccessDenied>("PlexAuth.ServerAccessDenied")(
  "ServerAccessDenied",
  { message: Schema.String },
  HttpApiSchema.annotations({
    status: 403,
    description: "The signed-in Plex user has no access to the Plex Media Server this service requires."
  })
) {}

/** {@link ServerAccessDenied} with its standard message. @internal */
export const accessDenied = (): ServerAccessDenied =>
  new ServerAccessDenied({ message: "this service needs access to a Plex Media Server you cannot use" })

/**
 * plex.tv could not say whether the token is good: it could not be reached, timed out, answered
 * 5xx or 429, sent something that does not decode, or failed in any way other than a 401. Says
 * nothing about the token, and is never cached. `cause` is the SDK's error (secret-free; log it).
 * The HTTP middlewares turn it into a 503 {@link PlexUnreachable}, without the cause.
 *
 * @since 0.2.0
 * @category errors
 */
export class PlexUnavailable extends Schema.TaggedError<PlexUnavailable>("PlexAuth.PlexUnavailable")(
  "PlexUnavailable",
  { cause: PlexError.PlexError }
) {
  override get message(): string {
    return `plex.tv could not check the token: ${this.cause.message}`
  }
}

/**
 * The HTTP face of {@link PlexUnavailable}: a 503 whose JSON body says plex.tv could not be
 * reached, and nothing about why (the cause goes to the server's log, not to the browser).
 *
 * @since 0.2.0
 * @category errors
 */
export class PlexUnreachable extends Schema.TaggedError<PlexUnreachable>("PlexAuth.PlexUnreachable")(
  "PlexUnreachable",
  { message: Schema.String },
  HttpApiSchema.annotations({
    status: 503,
    description: "plex.tv could not be reached to check the Plex token; try again shortly."
  })
) {}

/** {@link PlexUnreachable} with its standard message. @internal */
export const unreachable = (): PlexUnreachable =>
  new PlexUnreachable({ message: "plex.tv could not be reached to check the Plex token; try again shortly" })

/**
 * What `PlexAuth`'s operations fail with.
 *
 * @since 0.2.0
 * @category errors
 */
export type PlexAuthError = Unauthenticated | ServerAccessDenied | PlexUnavailable

// --- the service ------------------------------------------------------------------------------------

/**
 * A token as callers hold it: a plain string is treated as a secret all the same.
 *
 * @since 0.2.0
 * @category models
 */
export type TokenInput = string | Redacted.Redacted<string>

/**
 * What the caches hold now: `users` and `serverAccess` entries (each at most the configured
 * capacity), and `lookups`, how many plex.tv calls the caches have made since the service started
 * (`GET /user` and `GET /resources` together).
 *
 * @since 0.2.0
 * @category models
 */
export interface Stats {
  readonly users: number
  readonly serverAccess: number
  readonly lookups: number
}

/**
 * Authentication of incoming Plex tokens for servers, cached. Get it with `yield* PlexAuth`, or use
 * the module-level accessors.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /**
   * The account the token belongs to (its `authToken` is that token), from plex.tv's `GET /user` behind a cache: keyed by the
   * token's SHA-256 (never the token), single flight (concurrent calls with one unseen token make
   * one plex.tv call), remembered for `timeToLive`, a refusal (401) for `negativeTimeToLive`.
   * Fails with `Unauthenticated` (no token, a token plex.tv refuses, an expired JWT) or
   * `PlexUnavailable` (plex.tv could not tell; never cached). Interrupting a caller never cancels a
   * lookup other callers wait for.
   */
  readonly authenticate: (token: TokenInput) => Effect.Effect<PlexUser, Unauthenticated | PlexUnavailable>
  /**
   * The server `machineIdentifier` as the token's account sees it, if the account has it among its
   * resources (owned or shared), from `GET /resources` behind a cache like `authenticate`'s (keyed
   * by the token's hash and the machine identifier). A "no" (`ServerAccessDenied`) is remembered
   * for `negativeTimeToLive`, a "yes" for `timeToLive`.
   */
  readonly requireServerAccess: (
    machineIdentifier: string,
    token: TokenInput
  ) => Effect.Effect<PlexResource, PlexAuthError>
  /** Forgets everything cached for the token (sign-out): its next use asks plex.tv again. */
  readonly invalidate: (token: TokenInput) => Effect.Effect<void>
  /** The operator's server (`server` option / `PLEX_AUTH_SERVER`), which `ServerAccess` requires. */
  readonly server: Option.Option<string>
  /** Sizes of the caches and the plex.tv calls made so far. */
  readonly stats: Effect.Effect<Stats>
}

/**
 * The service tag.
 *
 * @since 0.2.0
 * @category tags
 */
export class PlexAuth extends Context.Tag("effect-plex/PlexAuth")<PlexAuth, Service>() {}

/**
 * The signed-in user of the current request, provided by the HTTP middlewares: `yield*
 * CurrentPlexUser` in a handler. Its `authToken` is the token the request came with (`Redacted`).
 *
 * @since 0.2.0
 * @category tags
 */
export class CurrentPlexUser extends Context.Tag("effect-plex/PlexAuth/CurrentPlexUser")<CurrentPlexUser, PlexUser>() {}
