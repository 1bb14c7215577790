/**
 * Public models of PlexFake's servers-and-home area (re-exported by `PlexFake.ts`, whose `Service`
 * declares the controls that take and return them).
 * Public models (the decoders and endpoints here are internal).
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"

/**
 * How one connection of a fake server behaves:
 *
 * - `"healthy"`: answers at once;
 * - `"refused"`: nothing listens (over loopback a closed port, so clients get `ECONNREFUSED`);
 * - `"wrong-server"`: another server answers (`/identity` with another `machineIdentifier`, and
 *   401 to the server's tokens), as a LAN address that belongs to someone else's server does;
 * - `{ slow: duration }`: answers after `duration` (the server's clock: live over loopback,
 *   the caller's in-process).
 *
 * @since 0.2.0
 * @category models
 */
export type ConnectionBehaviour = "healthy" | "refused" | "wrong-server" | { readonly slow: Duration.DurationInput }

/**
 * One connection of a fake server: `local` and `relay` are what plex.tv reports (each default
 * `false`; neither is "remote"), `behaviour` how it answers (default `"healthy"`).
 *
 * @since 0.2.0
 * @category models
 */
export interface AddConnectionOptions {
  readonly local?: boolean | undefined
  readonly relay?: boolean | undefined
  readonly behaviour?: ConnectionBehaviour | undefined
}

/**
 * Options of `addServer`: the server's `name`, the login of the account that owns it, the logins
 * of accounts it is shared with, and its connections (each served at an origin of its own). The
 * server accepts only tokens of its own: `accessToken` (default: a fresh random token, not the
 * owner's account token) from its owner, a fresh one per account it is shared with, and one per
 * member of the owner's Plex Home. `machineIdentifier` defaults to 40 random hex digits.
 *
 * @since 0.2.0
 * @category models
 */
export interface AddServerOptions {
  readonly name: string
  readonly owner: string
  readonly sharedWith?: ReadonlyArray<string> | undefined
  readonly machineIdentifier?: string | undefined
  readonly accessToken?: string | undefined
  readonly connections: ReadonlyArray<AddConnectionOptions>
}

/**
 * A connection of a fake server as `addServer` made it: `uri` is where it is served (over loopback
 * `http://127.0.0.1:<port>`, in-process `http://pms-<n>.plex.fake`); pass it to
 * `setConnectionBehaviour`.
 *
 * @since 0.2.0
 * @category models
 */
export interface FakeServerConnection {
  readonly uri: string
  readonly local: boolean
  readonly relay: boolean
  readonly behaviour: ConnectionBehaviour
}

/**
 * A fake Plex Media Server: `accessToken` is what it accepts from its owner, `sharedTokens` what it
 * accepts from each account it is shared with (by login).
 *
 * @since 0.2.0
 * @category models
 */
export interface FakeServer {
  readonly name: string
  readonly machineIdentifier: string
  readonly accessToken: string
  readonly sharedTokens: Readonly<Record<string, string>>
  readonly connections: ReadonlyArray<FakeServerConnection>
}

/**
 * Options of `addHomeUser`: the member's `title`; a `pin` makes them protected (switching to them
 * needs it; a missing or wrong one answers 403, code 1041); `restricted` (with
 * `restrictionProfile`) makes a managed user. `username` and `email` are `null` unless given, as
 * for managed users; `uuid` defaults to 16 random hex digits.
 *
 * @since 0.2.0
 * @category models
 */
export interface AddHomeUserOptions {
  readonly title: string
  readonly pin?: string | undefined
  readonly restricted?: boolean | undefined
  readonly restrictionProfile?: string | undefined
  readonly username?: string | undefined
  readonly email?: string | undefined
  readonly uuid?: string | undefined
}

/**
 * A member of a fake Plex Home: its account `id` and `uuid` (what `switchHomeUser` takes), and
 * whether it has a PIN.
 *
 * @since 0.2.0
 * @category models
 */
export interface FakeHomeUser {
  readonly id: number
  readonly uuid: string
  readonly title: string
  readonly protected: boolean
}

/**
 * A request a fake server received on one of its connections (`uri`), with the token it carried,
 * and how it ended: `"answered"`, `"aborted"` (the client closed the connection first, e.g. a
 * losing probe of a race) or `"pending"` (still being handled).
 *
 * @since 0.2.0
 * @category models
 */
export interface FakeServerRequest {
  readonly server: string
  readonly uri: string
  readonly method: string
  readonly path: string
  readonly token: string | undefined
  readonly outcome: "pending" | "answered" | "aborted"
}
