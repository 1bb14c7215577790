/**
 * The signed-in account: `whoami` (who the stored token belongs to), `ping` (does it still work,
 * and keep a legacy token alive), `signout` (end it at plex.tv and forget it here).
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Authentication, PlexError, PlexToken, TokenLifecycle } from "../index.js"
import * as Cli from "./context.js"
import * as Profile from "./profile.js"

const describeSession = (session: Cli.Session): string =>
  session._tag === "Env"
    ? "PLEX_TOKEN"
    : session._tag === "Token"
    ? "a token"
    : `a Plex JWT (device key ${session.credentials.kid.slice(0, 8)}…)`

const yesNo = (flag: boolean | undefined) => flag === true ? "yes" : "no"

/** The token the signed-in SDK sends, for `--show-token` only. */
const currentToken = Effect.flatMap(PlexToken.PlexToken, (tokens) => tokens.get)

/**
 * Runs `whoami`.
 *
 * @since 0.2.0
 * @category commands
 */
export const whoami = Effect.gen(function*() {
  const cli = yield* Cli.Cli
  const { layer, session } = yield* Cli.signedIn
  const [user, token] = yield* Effect.all([Authentication.getTokenDetails(), currentToken]).pipe(Effect.provide(layer))
  const plexPass = user.subscription?.active === true
  const twoFactor = user.twoFactorEnabled === true
  const name = user.username || user.title
  const jwtExpiry = session._tag === "Jwt"
    ? Option.some(DateTime.formatIso(session.credentials.expiresAt))
    : Option.none()
  const shownToken = Option.isSome(token) ? Cli.shown(cli, token.value) : {}
  yield* cli.out.result(
    {
      profile: cli.globals.profile,
      credentials: session._tag === "Env" ? "env" : session._tag === "Token" ? "token" : "jwt",
      username: name,
      title: user.title,
      email: user.email,
      id: user.id,
      uuid: user.uuid,
      plexPass,
      twoFactor,
      ...(Option.isSome(jwtExpiry) ? { jwtExpiresAt: jwtExpiry.value } : {}),
      ...shownToken
    },
    [
      `${name}${user.email ? ` <${user.email}>` : ""}${user.title && user.title !== name ? ` (${user.title})` : ""}`,
      `  Plex Pass:   ${yesNo(plexPass)}`,
      `  Two-factor:  ${yesNo(twoFactor)}`,
      `  Signed in:   with ${describeSession(session)}, profile ${cli.globals.profile}${
        cli.globals.fake ? " (fake)" : ""
      }`,
      ...(Option.isSome(jwtExpiry) ? [`  JWT until:   ${jwtExpiry.value}`] : []),
      ...(shownToken.token === undefined ? [] : [`  Token:       ${shownToken.token}`])
    ]
  )
})

/**
 * Runs `ping`.
 *
 * @since 0.2.0
 * @category commands
 */
export const ping = Effect.gen(function*() {
  const cli = yield* Cli.Cli
  const { layer } = yield* Cli.signedIn
  const started = Date.now()
  yield* TokenLifecycle.ping().pipe(Effect.provide(layer))
  const millis = Date.now() - started
  yield* cli.out.result({ profile: cli.globals.profile, pong: true, millis }, [
    `pong: the token works (plex.tv answered in ${millis} ms).`
  ])
})

/**
 * Runs `signout`: ends the token at plex.tv, then forgets the profile. A token plex.tv already
 * refuses (401) is forgotten all the same; any other failure keeps it, so it can be tried again.
 *
 * @since 0.2.0
 * @category commands
 */
export const signout = Effect.gen(function*() {
  const cli = yield* Cli.Cli
  const { layer, session } = yield* Cli.signedIn
  const ended = yield* TokenLifecycle.signOut().pipe(
    Effect.provide(layer),
    Effect.as(true),
    Effect.catchIf((error) => PlexError.isPlexUnauthorized(error), () => Effect.succeed(false))
  )
  if (session._tag !== "Env") yield* Profile.remove(cli.store, cli.key)
  yield* cli.out.result(
    { profile: cli.globals.profile, signedOut: ended, forgotten: session._tag !== "Env" },
    [
      ended ? "Signed out: plex.tv ended the token." : "The token was no longer valid at plex.tv.",
      session._tag === "Env"
        ? "It came from PLEX_TOKEN: nothing was stored, so nothing was removed."
        : `Removed profile ${cli.globals.profile}${cli.globals.fake ? " (fake)" : ""}.`
    ]
  )
})
