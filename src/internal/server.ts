/**
 * The seam between the request path and `Resources.layerServer`: where PMS operations go when no
 * `serverUrl` is passed, and with which token.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as PlexError from "../PlexError.js"

/**
 * A Plex Media Server chosen for the PMS operations: `current` is the connection to use now (its
 * base URI and the server's own access token), raced again after `reportFailure` for that URI.
 *
 * @since 0.2.0
 * @category models
 */
export interface Target {
  readonly current: Effect.Effect<
    { readonly uri: string; readonly token: Redacted.Redacted<string> | undefined },
    PlexError.PlexError
  >
  /** A call to `uri` failed with a transport error or a timeout: the next `current` races again. */
  readonly reportFailure: (uri: string) => Effect.Effect<void>
}

/**
 * The tag the request path reads, when a layer provides it, for PMS operations without a per-call
 * `serverUrl`. `Resources.layerServer` provides it.
 *
 * @since 0.2.0
 * @category tags
 */
export class ServerTarget extends Context.Tag("effect-plex/ServerTarget")<ServerTarget, Target>() {}
