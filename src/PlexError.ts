/**
 * The SDK's error model. Every operation fails with exactly {@link PlexError}:
 * `PlexBadRequest` (HTTP 400), `PlexUnauthorized` (HTTP 401, or 498 for an expired JWT) or
 * `PlexSdkError` (everything else).
 *
 * None of these errors carries a secret: no token, password, transient token, PIN or verification
 * code appears in `message`, `toString()`, `toJSON()` or in what Node prints for an unhandled
 * failure. Platform errors (which hold the request, and so the `X-Plex-Token` header) are never
 * attached; `cause` is a short sanitized description instead.
 *
 * The predicates work data-first (`isReason(error, "Timeout")`) and data-last, as refinements that
 * narrow to the error they test (`Effect.catchIf(PlexError.isReason("PinExpired"), …)`). They
 * recognise errors by a type id, not `instanceof`, so two copies of the package in one app still
 * recognise each other's errors.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * Marks the SDK's errors; `Symbol.for`, so it is the same symbol in every copy of the package.
 *
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-plex/PlexError") as any

/**
 * The type of {@link TypeId}.
 *
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * One entry of a plex.tv error body: `{"errors":[{"code":1029,"message":"…","status":401}]}`, or the
 * XML form `<errors><error code message status/></errors>`. `code` and `status` are absent when the
 * body did not carry them (legacy `<error>Invalid token</error>`).
 *
 * @since 0.1.0
 * @category models
 */
export class PlexErrorDetail extends Schema.Class<PlexErrorDetail>("PlexErrorDetail")({
  code: Schema.optional(Schema.Number),
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {}

const Details = Schema.Array(PlexErrorDetail)

const describeDetails = (errors: ReadonlyArray<PlexErrorDetail>): string =>
  errors.length === 0
    ? ""
    : ": " + errors.map((e) => (e.code === undefined ? e.message : `${e.code} ${e.message}`)).join("; ")

/**
 * HTTP 400 from plex.tv or a Plex Media Server: a parameter or header is missing or wrong
 * (plex.tv code 1000 is "X-Plex-Client-Identifier is missing").
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexBadRequest extends Schema.TaggedError<PlexBadRequest>("effect-plex/PlexBadRequest")(
  "PlexBadRequest",
  { operation: Schema.String, status: Schema.Number, errors: Details }
) {
  /** Recognises the error across copies of the package (see {@link isPlexError}). */
  get [TypeId](): TypeId {
    return TypeId
  }

  override get message(): string {
    return `${this.operation}: bad request (HTTP ${this.status})${describeDetails(this.errors)}`
  }
}

/**
 * HTTP 401: the token is missing, invalid or revoked, the credentials are wrong, or sign-in needs a
 * two-factor code; or HTTP 498: a Plex JWT has expired ({@link isTokenExpired}). Use
 * {@link isTwoFactorRequired}, {@link isInvalidVerificationCode}, {@link isSignInThrottled} to tell
 * the 401 cases apart. A Plex Media Server answers 401 with an HTML page, so `errors` is empty for
 * PMS operations.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexUnauthorized extends Schema.TaggedError<PlexUnauthorized>("effect-plex/PlexUnauthorized")(
  "PlexUnauthorized",
  { operation: Schema.String, status: Schema.Number, errors: Details }
) {
  /** Recognises the error across copies of the package (see {@link isPlexError}). */
  get [TypeId](): TypeId {
    return TypeId
  }

  override get message(): string {
    const what = this.status === 498 ? "token expired" : "unauthorized"
    return `${this.operation}: ${what} (HTTP ${this.status})${describeDetails(this.errors)}`
  }
}

/**
 * Why a {@link PlexSdkError} happened.
 *
 * - `Transport`: the request never completed (connection refused, reset, dropped, DNS); `errno`
 *   holds the system code when there was one.
 * - `Timeout`: an attempt or the whole call exceeded its `PlexPolicy` budget.
 * - `StatusCode`: an unexpected HTTP status (5xx, 403, 404, 422, a refused cross-origin redirect…);
 *   `errors` holds plex.tv's error body when it sent one.
 * - `RateLimited`: HTTP 429; `retryAfterMillis` holds the server's `Retry-After` when it sent one.
 * - `Decode`: the body was empty, malformed, truncated, oversized or not the expected shape.
 * - `InvalidRequest`: the input could not be right, so nothing was sent.
 * - `PinExpired`: the PIN expired or is unknown to plex.tv (HTTP 404 / code 1020).
 * - `PinTimeout`: waiting for a PIN to be approved took longer than the caller allowed.
 * - `NoConnection`: none of a server's connections answered as that server (`Resources.connect`).
 * - `InvalidToken`: a JWT failed verification; `detail` names the check, never the token.
 * - `Storage`: the store holding JWT credentials could not be read or written, or holds something
 *   that does not decode (`PlexToken.layerJwt`, `PlexJwt.loadCredentials`).
 *
 * @since 0.1.0
 * @category errors
 */
export const SdkErrorReason = Schema.Literal(
  "Transport",
  "Timeout",
  "StatusCode",
  "RateLimited",
  "Decode",
  "InvalidRequest",
  "PinExpired",
  "PinTimeout",
  "NoConnection",
  "InvalidToken",
  "Storage"
)

/**
 * The reasons of {@link PlexSdkError}, as a type (see the schema of the same name for each meaning).
 *
 * @since 0.1.0
 * @category errors
 */
export type SdkErrorReason = typeof SdkErrorReason.Type

/**
 * Everything that is not a 400, 401 or 498. `detail` says what went wrong in words that never
 * include a secret or a response value; `bodyExcerpt` is a short excerpt of an *error* response body
 * (never of a 2xx body, which may hold tokens); `errors` is plex.tv's parsed error body when there
 * was one (so {@link hasCode} works on a 403 or 422 too); `errno` is the system error code of a
 * transport failure (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, `UND_ERR_SOCKET`…); `attempts` is
 * how many requests were sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexSdkError extends Schema.TaggedError<PlexSdkError>("effect-plex/PlexSdkError")("PlexSdkError", {
  operation: Schema.String,
  reason: SdkErrorReason,
  detail: Schema.String,
  status: Schema.optional(Schema.Number),
  errors: Schema.optional(Details),
  bodyExcerpt: Schema.optional(Schema.String),
  retryAfterMillis: Schema.optional(Schema.Number),
  attempts: Schema.optional(Schema.Number),
  errno: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.String)
}) {
  /** Recognises the error across copies of the package (see {@link isPlexError}). */
  get [TypeId](): TypeId {
    return TypeId
  }

  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    const attempts = this.attempts !== undefined && this.attempts > 1 ? ` after ${this.attempts} attempts` : ""
    const errno = this.errno === undefined ? "" : ` [${this.errno}]`
    return `${this.operation}: ${this.reason}${status}${attempts}: ${this.detail}${errno}${
      describeDetails(this.errors ?? [])
    }`
  }
}

/**
 * The failure channel of every operation.
 *
 * @since 0.1.0
 * @category errors
 */
export type PlexError = PlexBadRequest | PlexUnauthorized | PlexSdkError

/**
 * The schema of {@link PlexError}, e.g. to send errors across a worker or RPC boundary.
 *
 * @since 0.1.0
 * @category errors
 */
export const PlexError: Schema.Union<[typeof PlexBadRequest, typeof PlexUnauthorized, typeof PlexSdkError]> = Schema
  .Union(PlexBadRequest, PlexUnauthorized, PlexSdkError)

/**
 * Known plex.tv error codes.
 *
 * @since 0.1.0
 * @category constants
 */
export const ErrorCode = {
  ClientIdentifierMissing: 1000,
  NotAuthenticated: 1001,
  RateLimited: 1003,
  PinNotFound: 1020,
  InvalidVerificationCode: 1028,
  TwoFactorRequired: 1029,
  SignInThrottled: 1031,
  PinRequired: 1041
} as const

// --- refinements --------------------------------------------------------------------------

/**
 * `true` for any of the SDK's errors, from this copy of the package or another.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isPlexError = (u: unknown): u is PlexError => Predicate.hasProperty(u, TypeId)

const isTagged = <T extends PlexError["_tag"]>(tag: T) => (u: unknown): u is Extract<PlexError, { _tag: T }> =>
  isPlexError(u) && u._tag === tag

/**
 * `true` for a {@link PlexBadRequest}.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isPlexBadRequest: (u: unknown) => u is PlexBadRequest = isTagged("PlexBadRequest")

/**
 * `true` for a {@link PlexUnauthorized}.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isPlexUnauthorized: (u: unknown) => u is PlexUnauthorized = isTagged("PlexUnauthorized")

/**
 * `true` for a {@link PlexSdkError}.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isPlexSdkError: (u: unknown) => u is PlexSdkError = isTagged("PlexSdkError")

/**
 * `true` when the error's body carries the given plex.tv error code (any of the three errors:
 * a 403 or 422 is a `PlexSdkError` whose `errors` hold plex.tv's body). Data-first
 * (`hasCode(error, 1029)`) or data-last (`Effect.catchIf(PlexError.hasCode(1029), …)`).
 *
 * @since 0.1.0
 * @category refinements
 */
export const hasCode: {
  (code: number): (u: unknown) => u is PlexError
  (u: unknown, code: number): u is PlexError
} = dual(
  2,
  (u: unknown, code: number): u is PlexError =>
    isPlexError(u) && (u.errors ?? []).some((detail) => detail.code === code)
)

/**
 * `true` for a {@link PlexSdkError} with the given reason, narrowed to it. Data-first
 * (`isReason(error, "Timeout")`) or data-last (`Effect.catchIf(PlexError.isReason("PinExpired"), …)`).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isReason: {
  <R extends SdkErrorReason>(reason: R): (u: unknown) => u is PlexSdkError & { readonly reason: R }
  <R extends SdkErrorReason>(u: unknown, reason: R): u is PlexSdkError & { readonly reason: R }
} = dual(
  2,
  <R extends SdkErrorReason>(u: unknown, reason: R): u is PlexSdkError & { readonly reason: R } =>
    isPlexSdkError(u) && u.reason === reason
)

const unauthorizedWith = (code: number) => (u: unknown): u is PlexUnauthorized =>
  isPlexUnauthorized(u) && hasCode(u, code)

/**
 * Sign-in needs a two-factor code (plex.tv code 1029): ask the user and call
 * `postUsersSignInData` again with `verificationCode`.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isTwoFactorRequired: (u: unknown) => u is PlexUnauthorized = unauthorizedWith(
  ErrorCode.TwoFactorRequired
)

/**
 * The two-factor code was wrong (plex.tv code 1028).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isInvalidVerificationCode: (u: unknown) => u is PlexUnauthorized = unauthorizedWith(
  ErrorCode.InvalidVerificationCode
)

/**
 * plex.tv refuses sign-ins from this address after repeated failures (code 1031). Do not retry:
 * wait, or use a token or the PIN flow.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isSignInThrottled: (u: unknown) => u is PlexUnauthorized = unauthorizedWith(
  ErrorCode.SignInThrottled
)

/**
 * plex.tv is rate limiting this client: code 1003 in a body, or an HTTP 429.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRateLimited = (u: unknown): u is PlexError =>
  hasCode(u, ErrorCode.RateLimited) || isReason(u, "RateLimited")

/**
 * A Plex JWT has expired (HTTP 498): refresh it (`PlexToken.layerJwt` does so by itself and retries
 * the call once).
 *
 * @since 0.2.0
 * @category refinements
 */
export const isTokenExpired = (u: unknown): u is PlexUnauthorized => isPlexUnauthorized(u) && u.status === 498

/**
 * Switching to a protected Plex Home member needs its PIN, or the PIN was wrong (HTTP 403, code
 * 1041).
 *
 * @since 0.2.0
 * @category refinements
 */
export const isPinRequired = (u: unknown): u is PlexSdkError =>
  isPlexSdkError(u) && u.status === 403 && hasCode(u, ErrorCode.PinRequired)

// No real bodies of the JWT errors are known (Plex documents only their statuses), so these tell
// them apart by operation and status.
const sdkStatusFrom = (status: number, operations: ReadonlyArray<string>) => (u: unknown): u is PlexSdkError =>
  isPlexSdkError(u) && u.status === status && operations.includes(u.operation)

/**
 * Plex refused a device JWT (HTTP 422, "signature verification failed"): the token exchange of
 * `PlexJwt.refresh` / `registerKey`, or a check of a PIN created with a device key. The key is not
 * (or no longer) registered for this client identifier, the `kid` does not match, the clock is off,
 * or the nonce is older than 5 minutes. Recognised by operation and status, since Plex documents no
 * body for it.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isSignatureRejected: (u: unknown) => u is PlexSdkError = sdkStatusFrom(422, ["exchangeToken", "checkPin"])

/**
 * The device key is already registered by another client identifier (HTTP 422, "thumbprint already
 * taken"): `PlexJwt.registerKey`, or `PinLogin.createPin` with a `jwk`. Generate a key per device.
 * Recognised by operation and status, since Plex documents no body for it.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isThumbprintTaken: (u: unknown) => u is PlexSdkError = sdkStatusFrom(422, ["registerKey", "createPin"])

/**
 * plex.tv is rate limiting this client's nonce requests (HTTP 429 to `GET /auth/nonce`, the first
 * step of `PlexJwt.refresh`); `retryAfterMillis` holds its `Retry-After` when it sent one. The
 * token is still good until it expires: refresh later.
 *
 * @since 0.2.0
 * @category refinements
 */
export const isNonceRateLimited: (u: unknown) => u is PlexSdkError = sdkStatusFrom(429, ["getNonce"])
