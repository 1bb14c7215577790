/**
 * The exit codes of `plex-auth` and how each failure maps to one, with the words a person reads.
 * Every message comes from the SDK's errors (which never hold a secret) or from the CLI itself.
 *
 * @since 0.2.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as PlatformError from "@effect/platform/Error"
import * as Terminal from "@effect/platform/Terminal"
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import { PlexError } from "../index.js"

/**
 * The documented exit codes. `1` is for any failure the others do not name (a body that does not
 * decode, a store that cannot be written).
 *
 * @since 0.2.0
 * @category constants
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Unauthorized: 3,
  BadRequest: 4,
  Network: 5,
  RateLimited: 6,
  Interrupted: 130
} as const

/**
 * One of {@link ExitCode}'s values.
 *
 * @since 0.2.0
 * @category models
 */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * A failure the CLI itself names: not signed in, a prompt without a terminal, an unknown server.
 *
 * @since 0.2.0
 * @category errors
 */
export class CliError extends Data.TaggedError("CliError")<{
  readonly code: ExitCode
  readonly message: string
  readonly hint?: string | undefined
}> {}

/**
 * A failure already reported to the person (and, with `--json`, on stdout): only its exit code is
 * left to give.
 *
 * @since 0.2.0
 * @category errors
 */
export class Reported extends Data.TaggedError("Reported")<{ readonly code: ExitCode }> {}

/**
 * What a failure is, for a person and for `--json`: its exit code, a short kind, a message and an
 * optional hint.
 *
 * @since 0.2.0
 * @category models
 */
export interface Described {
  readonly code: ExitCode
  readonly kind: string
  readonly message: string
  readonly hint?: string | undefined
}

const kindOf: Record<ExitCode, string> = {
  0: "ok",
  1: "failure",
  2: "usage",
  3: "unauthorized",
  4: "bad-request",
  5: "network",
  6: "rate-limited",
  130: "interrupted"
}

const described = (code: ExitCode, message: string, hint?: string): Described => ({
  code,
  kind: kindOf[code],
  message,
  ...(hint === undefined ? {} : { hint })
})

const signInAgain = "Sign in again: plex-auth login (or plex-auth signin)."

// The predicates are type guards: called through these, a `false` narrows nothing away.
const throttled = (u: unknown): boolean => PlexError.isSignInThrottled(u)
const rateLimited = (u: unknown): boolean => PlexError.isRateLimited(u)
const wrongCode = (u: unknown): boolean => PlexError.isInvalidVerificationCode(u)
const expired = (u: unknown): boolean => PlexError.isTokenExpired(u)
const signatureRejected = (u: unknown): boolean => PlexError.isSignatureRejected(u)

const describePlexError = (error: PlexError.PlexError): Described => {
  if (throttled(error)) {
    return described(
      ExitCode.RateLimited,
      "plex.tv is refusing sign-ins from here for now, after repeated failures (code 1031).",
      "Wait a few minutes before trying again, or sign in with a PIN instead: plex-auth login."
    )
  }
  if (rateLimited(error)) {
    return described(
      ExitCode.RateLimited,
      `plex.tv is rate limiting this client (${error.message}).`,
      "Wait a minute and try again."
    )
  }
  if (wrongCode(error)) {
    return described(ExitCode.Unauthorized, "The verification code was not accepted.")
  }
  switch (error._tag) {
    case "PlexUnauthorized":
      return expired(error)
        ? described(ExitCode.Unauthorized, "The token has expired (HTTP 498).", "Run plex-auth jwt refresh.")
        : described(ExitCode.Unauthorized, `Not authorized: ${error.message}`, signInAgain)
    case "PlexBadRequest":
      return described(ExitCode.BadRequest, `plex.tv refused the request: ${error.message}`)
    case "PlexSdkError":
      switch (error.reason) {
        case "Transport":
        case "Timeout":
          return described(ExitCode.Network, `Could not reach Plex: ${error.message}`)
        case "NoConnection":
          return described(ExitCode.Network, error.message)
        case "PinTimeout":
          return described(
            ExitCode.Network,
            "Gave up waiting for the PIN to be approved.",
            "Run plex-auth login again."
          )
        case "PinExpired":
          return described(
            ExitCode.Unauthorized,
            "The PIN expired before it was approved.",
            "Run plex-auth login again."
          )
        case "InvalidToken":
          return described(ExitCode.Unauthorized, `The token does not verify: ${error.message}`, signInAgain)
        case "InvalidRequest":
          return described(ExitCode.BadRequest, error.message)
        case "StatusCode":
          if (signatureRejected(error)) {
            return described(
              ExitCode.Unauthorized,
              "Plex refused this device's signature (HTTP 422).",
              "Sign in again with a new device key: plex-auth login --jwt."
            )
          }
          return error.status !== undefined && error.status >= 500
            ? described(ExitCode.Network, `Plex is having trouble: ${error.message}`)
            : described(ExitCode.Failure, error.message)
        default:
          return described(ExitCode.Failure, error.message)
      }
  }
}

/**
 * What a failure means for a person: the exit code and the words. Unknown failures get code 1 and
 * a generic message (their own text is not shown, since it could hold anything).
 *
 * @since 0.2.0
 * @category utils
 */
export const describe = (error: unknown): Described => {
  if (error instanceof CliError) return described(error.code, error.message, error.hint)
  if (PlexError.isPlexError(error)) return describePlexError(error)
  if (Terminal.isQuitException(error)) return described(ExitCode.Interrupted, "Cancelled.")
  if (ValidationError.isValidationError(error)) return described(ExitCode.Usage, "Invalid command line.")
  if (ConfigError.isConfigError(error)) return described(ExitCode.Usage, `Invalid configuration: ${error.message}`)
  if (PlatformError.isPlatformError(error)) {
    return described(ExitCode.Failure, `Cannot use the credentials directory: ${error.message}`)
  }
  return described(ExitCode.Failure, "Something went wrong.")
}
