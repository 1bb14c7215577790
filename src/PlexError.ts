/**
 * The SDK's error model. Every operation fails with exactly {@link PlexError}:
 * `PlexBadRequest` (HTTP 400), `PlexUnauthorized` (HTTP 401) or `PlexSdkError` (everything else).
 *
 * None of these errors carries a secret: no token, password, transient token or verification code
 * appears in `message`, `toString()`, `toJSON()` or in what Node prints for an unhandled failure.
 * Platform errors (which hold the request, and so the `X-Plex-Token` header) are never attached;
 * `cause` is a short sanitized description instead.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

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
  override get message(): string {
    return `${this.operation}: bad request (HTTP ${this.status})${describeDetails(this.errors)}`
  }
}

/**
 * HTTP 401: the token is missing, invalid or revoked, the credentials are wrong, or sign-in needs a
 * two-factor code. Use {@link isTwoFactorRequired}, {@link isInvalidVerificationCode},
 * {@link isSignInThrottled} to tell the cases apart. A Plex Media Server answers 401 with an HTML
 * page, so `errors` is empty for PMS operations.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexUnauthorized extends Schema.TaggedError<PlexUnauthorized>("effect-plex/PlexUnauthorized")(
  "PlexUnauthorized",
  { operation: Schema.String, status: Schema.Number, errors: Details }
) {
  override get message(): string {
    return `${this.operation}: unauthorized (HTTP ${this.status})${describeDetails(this.errors)}`
  }
}

/**
 * Why a {@link PlexSdkError} happened.
 *
 * - `Transport`: the request never completed (connection refused, reset, dropped, DNS).
 * - `Timeout`: an attempt or the whole call exceeded its `PlexPolicy` budget.
 * - `StatusCode`: an unexpected HTTP status (5xx, 404, a refused cross-origin redirect, …).
 * - `RateLimited`: HTTP 429; `retryAfterMillis` holds the server's `Retry-After` when it sent one.
 * - `Decode`: the body was empty, malformed, truncated, oversized or not the expected shape.
 * - `InvalidRequest`: the input could not be right, so nothing was sent.
 * - `PinExpired`: the PIN expired or is unknown to plex.tv (HTTP 404 / code 1020).
 * - `PinTimeout`: waiting for a PIN to be approved took longer than the caller allowed.
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
  "PinTimeout"
)

/**
 * The reasons of {@link PlexSdkError}, as a type (see the schema of the same name for each meaning).
 *
 * @since 0.1.0
 * @category errors
 */
export type SdkErrorReason = typeof SdkErrorReason.Type

/**
 * Everything that is not a 400 or 401. `detail` says what went wrong in words that never include a
 * secret or a response value; `bodyExcerpt` is a short excerpt of an *error* response body (never of
 * a 2xx body, which may hold tokens); `attempts` is how many requests were sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexSdkError extends Schema.TaggedError<PlexSdkError>("effect-plex/PlexSdkError")("PlexSdkError", {
  operation: Schema.String,
  reason: SdkErrorReason,
  detail: Schema.String,
  status: Schema.optional(Schema.Number),
  bodyExcerpt: Schema.optional(Schema.String),
  retryAfterMillis: Schema.optional(Schema.Number),
  attempts: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    const attempts = this.attempts !== undefined && this.attempts > 1 ? ` after ${this.attempts} attempts` : ""
    return `${this.operation}: ${this.reason}${status}${attempts}: ${this.detail}`
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
  SignInThrottled: 1031
} as const

/**
 * `true` for any of the SDK's errors.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isPlexError = (u: unknown): u is PlexError =>
  u instanceof PlexBadRequest || u instanceof PlexUnauthorized || u instanceof PlexSdkError

/**
 * `true` when a 400/401 error's body carries the given plex.tv error code.
 *
 * @since 0.1.0
 * @category refinements
 */
export const hasCode = (error: unknown, code: number): boolean =>
  (error instanceof PlexBadRequest || error instanceof PlexUnauthorized) &&
  error.errors.some((detail) => detail.code === code)

/**
 * Sign-in needs a two-factor code (plex.tv code 1029): ask the user and call
 * `postUsersSignInData` again with `verificationCode`.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isTwoFactorRequired = (error: unknown): error is PlexUnauthorized =>
  error instanceof PlexUnauthorized && hasCode(error, ErrorCode.TwoFactorRequired)

/**
 * The two-factor code was wrong (plex.tv code 1028).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isInvalidVerificationCode = (error: unknown): error is PlexUnauthorized =>
  error instanceof PlexUnauthorized && hasCode(error, ErrorCode.InvalidVerificationCode)

/**
 * plex.tv is rate limiting this client: code 1003 in a body, or an HTTP 429.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRateLimited = (error: unknown): error is PlexError =>
  hasCode(error, ErrorCode.RateLimited) || (error instanceof PlexSdkError && error.reason === "RateLimited")

/**
 * plex.tv refuses sign-ins from this address after repeated failures (code 1031). Do not retry:
 * wait, or use a token or the PIN flow.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isSignInThrottled = (error: unknown): error is PlexUnauthorized =>
  error instanceof PlexUnauthorized && hasCode(error, ErrorCode.SignInThrottled)

/**
 * `true` for a {@link PlexSdkError} with the given reason.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isReason = (error: unknown, reason: SdkErrorReason): error is PlexSdkError =>
  error instanceof PlexSdkError && error.reason === reason
