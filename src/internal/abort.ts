/**
 * What a real transport's request does when its `AbortSignal` fires: it ends with a `"Transport"`
 * `RequestError`. Shared by PlexFake's in-process client and the project's test transports.
 *
 * @internal
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"

/**
 * Never succeeds; fails when `signal` aborts (at once if it already has).
 *
 * @internal
 */
export const untilAborted = (
  request: HttpClientRequest.HttpClientRequest,
  signal: AbortSignal
): Effect.Effect<never, HttpClientError.RequestError> =>
  Effect.async((resume) => {
    const onAbort = () =>
      resume(
        Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: signal.reason,
            description: "the request was aborted"
          })
        )
      )
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })
