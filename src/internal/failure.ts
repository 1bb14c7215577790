/**
 * Building `PlexSdkError`s and deciding what a failure means for the retry loop.
 *
 * @internal
 */
import * as PlexError from "../PlexError.js"
import type * as PlexPolicy from "../PlexPolicy.js"

/** The optional fields of a `PlexSdkError`. @internal */
export type SdkErrorExtra = {
  readonly status?: number | undefined
  readonly errors?: ReadonlyArray<PlexError.PlexErrorDetail> | undefined
  readonly bodyExcerpt?: string | undefined
  readonly retryAfterMillis?: number | undefined
  readonly cause?: string | undefined
  readonly errno?: string | undefined
  readonly attempts?: number | undefined
}

/**
 * A `PlexSdkError` with only the fields that have a value (the error's optional fields are exact).
 *
 * @internal
 */
export const sdkError = (
  operation: string,
  reason: PlexError.SdkErrorReason,
  detail: string,
  extra?: SdkErrorExtra
): PlexError.PlexSdkError => {
  const fields: Record<string, unknown> = { operation, reason, detail }
  if (extra !== undefined) {
    for (const key in extra) {
      const value = extra[key as keyof SdkErrorExtra]
      if (value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0)) fields[key] = value
    }
  }
  return new PlexError.PlexSdkError(fields as ConstructorParameters<typeof PlexError.PlexSdkError>[0])
}

/** A `Retry-After` header in millis from `now` (seconds or an HTTP date). @internal */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Whether the policy retries this failure of an idempotent operation. @internal */
export const isRetryable = (error: PlexError.PlexError, policy: PlexPolicy.Policy): boolean => {
  if (error._tag !== "PlexSdkError") return false
  switch (error.reason) {
    case "Transport":
    case "Timeout":
      return true
    case "StatusCode":
    case "RateLimited":
      return error.status !== undefined && policy.retryStatuses.includes(error.status)
    default:
      return false
  }
}

/** The error, saying how many requests were sent. @internal */
export const withAttempts = (error: PlexError.PlexError, attempts: number): PlexError.PlexError =>
  // Field by field: `cause` lives on Error and a spread would drop it.
  error._tag === "PlexSdkError" && attempts > 1
    ? sdkError(error.operation, error.reason, error.detail, {
      status: error.status,
      errors: error.errors,
      bodyExcerpt: error.bodyExcerpt,
      retryAfterMillis: error.retryAfterMillis,
      cause: error.cause,
      errno: error.errno,
      attempts
    })
    : error
