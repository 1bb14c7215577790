/**
 * `plex-auth jwt refresh` and `jwt verify`, for a profile signed in with `login --jwt`: a new Plex
 * JWT for the stored device key (`PlexJwt.refresh`: nonce, signed device JWT, exchange, verified,
 * then stored), and a check of the stored one against Plex's published keys (`PlexJwt.verify`).
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { PlexJwt } from "../index.js"
import * as Cli from "./context.js"
import { CliError, ExitCode } from "./errors.js"
import * as Profile from "./profile.js"

/** The profile's JWT credentials, or a usage error that says how to get some. */
const credentials = Effect.gen(function*() {
  const cli = yield* Cli.Cli
  const entry = yield* Profile.load(cli.store, cli.key)
  const fake = cli.globals.fake ? " --fake" : ""
  if (Option.isNone(entry)) {
    return yield* new CliError({
      code: ExitCode.Unauthorized,
      message: `Not signed in (profile ${cli.globals.profile}${cli.globals.fake ? ", fake" : ""}).`,
      hint: `Sign in with a device key first: plex-auth login --jwt${fake}.`
    })
  }
  if (entry.value._tag !== "Jwt") {
    return yield* new CliError({
      code: ExitCode.Usage,
      message: `Profile ${cli.globals.profile} holds a token, not a Plex JWT.`,
      hint: `Sign in with a device key: plex-auth login --jwt${fake}.`
    })
  }
  return entry.value.credentials
})

const iso = DateTime.formatIso

/**
 * Runs `jwt refresh`.
 *
 * @since 0.2.0
 * @category commands
 */
export const refresh = Effect.gen(function*() {
  const cli = yield* Cli.Cli
  const current = yield* credentials
  const renewed = yield* PlexJwt.refresh(current).pipe(
    Effect.provide(Cli.anonymous(current.clientIdentifier))
  )
  yield* Profile.saveJwt(cli.store, cli.key, renewed)
  yield* cli.out.result(
    {
      profile: cli.globals.profile,
      kid: renewed.kid,
      previousExpiresAt: iso(current.expiresAt),
      expiresAt: iso(renewed.expiresAt),
      ...Cli.shown(cli, renewed.token)
    },
    [
      `Refreshed: a new Plex JWT, valid until ${iso(renewed.expiresAt)} (the old one was valid until ${
        iso(current.expiresAt)
      }).`,
      ...(cli.globals.showToken ? [`Token: ${Cli.shown(cli, renewed.token).token}`] : [])
    ]
  )
})

/**
 * Runs `jwt verify`.
 *
 * @since 0.2.0
 * @category commands
 */
export const verify = Effect.gen(function*() {
  const cli = yield* Cli.Cli
  const current = yield* credentials
  const claims = yield* PlexJwt.verify(current.token, current).pipe(
    Effect.provide(Cli.anonymous(current.clientIdentifier))
  )
  const name = claims.user.username ?? claims.user.friendlyName ?? String(claims.user.id)
  yield* cli.out.result(
    {
      profile: cli.globals.profile,
      valid: true,
      issuer: claims.iss,
      audience: claims.aud,
      thumbprint: claims.thumbprint,
      issuedAt: iso(claims.issuedAt),
      expiresAt: iso(claims.expiresAt),
      user: { id: claims.user.id, uuid: claims.user.uuid, username: claims.user.username ?? null }
    },
    [
      `Valid: signed by ${claims.iss} for ${name}, for this device key (${claims.thumbprint.slice(0, 8)}…).`,
      `  Issued:   ${iso(claims.issuedAt)}`,
      `  Expires:  ${iso(claims.expiresAt)}`
    ]
  )
})
