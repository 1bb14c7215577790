/**
 * effect-plex: the Plex authentication API (plex.tv and Plex Media Server) as typed Effect programs.
 *
 * @since 0.1.0
 */

/**
 * The four authentication operations: sign-in, token details, transient tokens, source connections.
 *
 * @since 0.1.0
 */
export * as Authentication from "./Authentication.js"

/**
 * Schema classes for what the SDK decodes and sends (`PlexUser`, `TransientToken`, …).
 *
 * @since 0.1.0
 */
export * as Models from "./Models.js"

/**
 * PIN login: create a PIN, send the user to the auth URL, wait for the token; link PINs.
 *
 * @since 0.1.0
 */
export * as PinLogin from "./PinLogin.js"

/**
 * The whole SDK in one layer (every service, its config, a token store), needing only an
 * `HttpClient`.
 *
 * @since 0.2.0
 */
export * as Plex from "./Plex.js"

/**
 * The client's identity (`X-Plex-*` headers) and endpoints.
 *
 * @since 0.1.0
 */
export * as PlexConfig from "./PlexConfig.js"

/**
 * JWT device authentication: Ed25519 device keys, PIN login with a key, refresh, verification.
 *
 * @since 0.2.0
 */
export * as PlexJwt from "./PlexJwt.js"

/**
 * The error model: `PlexBadRequest`, `PlexUnauthorized`, `PlexSdkError` and predicates.
 *
 * @since 0.1.0
 */
export * as PlexError from "./PlexError.js"

/**
 * Timeouts, retries, the body cap, redirects and trace propagation as a swappable policy.
 *
 * @since 0.1.0
 */
export * as PlexPolicy from "./PlexPolicy.js"

/**
 * Where the current token comes from.
 *
 * @since 0.1.0
 */
export * as PlexToken from "./PlexToken.js"

/**
 * Token lifecycle: validate by Plex's rule, keep a legacy token alive, sign out.
 *
 * @since 0.1.0
 */
export * as TokenLifecycle from "./TokenLifecycle.js"

/**
 * The account's Plex Media Servers: list them, race their connections, and provide the PMS
 * operations with a chosen server and its own token.
 *
 * @since 0.2.0
 */
export * as Resources from "./Resources.js"

/**
 * Plex Home: list the members, switch to one (with its PIN) for a token of theirs.
 *
 * @since 0.2.0
 */
export * as HomeUsers from "./HomeUsers.js"

/**
 * Sign in with Plex for Effect HTTP servers: each request's token authenticated through a cache
 * (single flight, TTL, capacity), server-access checks, `HttpApi` and `HttpRouter` middlewares, and
 * PIN sign-in endpoints for a browser.
 *
 * @since 0.2.0
 */
export * as PlexAuth from "./PlexAuth.js"
