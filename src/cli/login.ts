/**
 * `plex-auth login`: PIN login. Shows the Plex auth URL and a QR code of it (or, with `--link`, the
 * 4-character code for plex.tv/link), counts down to the PIN's expiry while `PinLogin.pinStates`
 * polls it, and stores what the approval yields: the account token, or with `--jwt` the credentials
 * of a new device key (a Plex JWT that `jwt refresh` and every signed-in command keep fresh).
 *
 * @since 0.2.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { Authentication, PinLogin, PlexJwt } from "../index.js"
import * as Cli from "./context.js"
import { CliError, ExitCode } from "./errors.js"
import { clock, qrCode } from "./output.js"
import * as Profile from "./profile.js"

/**
 * The options of `login`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly jwt: boolean
  readonly link: boolean
  readonly noQr: boolean
}

// Longer than any PIN lives (30 minutes for a strong one): the PIN's own expiry ends the wait.
const WAIT = "31 minutes"

/** Polls the PIN, redrawing the countdown after each check, until it is approved or expires. */
const approval = (pin: PinLogin.Pin, options: PinLogin.WaitOptions) =>
  Effect.gen(function*() {
    const { out } = yield* Cli.Cli
    const last = yield* PinLogin.pinStates(pin, options).pipe(
      Stream.tap((state) =>
        state._tag === "Waiting"
          ? out.status(
            `Waiting for approval… ${
              Number.isFinite(state.secondsLeft) ? `${clock(state.secondsLeft)} left` : ""
            } (Ctrl-C to cancel)`,
            "waiting"
          )
          : out.endStatus
      ),
      Stream.filter((state) => state._tag !== "Waiting"),
      Stream.runHead
    )
    if (Option.isSome(last) && last.value._tag === "Approved") return last.value.token
    return yield* new CliError({
      code: ExitCode.Unauthorized,
      message: "The PIN expired before it was approved.",
      hint: "Run plex-auth login again."
    })
  })

const instructions = (pin: PinLogin.Pin, options: Options) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const { out } = cli
    const url = options.link ? Option.getOrElse(PinLogin.linkUrl(pin), () => "") : yield* PinLogin.authUrl(pin)
    const qr = options.noQr ? [] : ["", ...qrCode(url), ""]
    if (options.link) {
      yield* out.say(
        `Go to https://plex.tv/link and enter the code:`,
        "",
        `    ${pin.code}`,
        "",
        "or open:",
        url,
        ...qr
      )
    } else {
      yield* out.say("Open this URL to sign in to Plex (or scan the code with your phone):", url, ...qr)
    }
    if (Option.isSome(cli.fake)) {
      const fake = cli.fake.value
      yield* out.say(
        ...(fake.approveAfterSeconds === undefined ? [] : [
          `The fake approves this PIN by itself in ${fake.approveAfterSeconds} s.`
        ]),
        `Approve it now: curl -X POST '${fake.control}/approve?code=${pin.code}'`
      )
    }
  })

/** The account token a PIN yielded, checked against plex.tv and stored. */
const storeToken = (clientIdentifier: string, token: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const user = yield* Authentication.getTokenDetails({ token })
    yield* Profile.saveToken(cli.store, cli.key, clientIdentifier, token)
    return {
      username: user.username || user.title,
      email: user.email,
      token,
      expiresAt: Option.none<DateTime.Utc>()
    }
  })

/** The Plex JWT a key PIN yielded, verified, stored as the device's credentials. */
const storeJwt = (clientIdentifier: string, key: PlexJwt.DeviceKey, token: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const claims = yield* PlexJwt.verify(token, { kid: key.kid, clientIdentifier })
    const credentials = new PlexJwt.Credentials({
      clientIdentifier,
      key: key.privateJwk,
      kid: key.kid,
      token,
      expiresAt: claims.expiresAt
    })
    yield* Profile.saveJwt(cli.store, cli.key, credentials)
    return {
      username: claims.user.username ?? claims.user.friendlyName ?? String(claims.user.id),
      email: claims.user.email ?? "",
      token,
      expiresAt: Option.some(claims.expiresAt)
    }
  })

/**
 * Runs `login`.
 *
 * @since 0.2.0
 * @category commands
 */
export const login = (options: Options) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const clientIdentifier = yield* Cli.clientIdentifierFor(cli)
    const signedIn = yield* Effect.gen(function*() {
      const key = options.jwt ? Option.some(yield* PlexJwt.generateKey) : Option.none<PlexJwt.DeviceKey>()
      const pin = yield* PinLogin.createPin({
        strong: !options.link,
        ...(Option.isSome(key) ? { jwk: key.value.publicJwk } : {})
      })
      yield* instructions(pin, options)
      if (Option.isNone(key)) {
        return yield* Effect.flatMap(approval(pin, { timeout: WAIT }), (token) => storeToken(clientIdentifier, token))
      }
      const jwt = yield* PlexJwt.PlexJwt
      const token = yield* approval(pin, { timeout: WAIT, deviceJwt: jwt.signDeviceJwt(key.value) })
      return yield* storeJwt(clientIdentifier, key.value, token)
    }).pipe(Effect.provide(Cli.anonymous(clientIdentifier)))
    const expiresAt = Option.map(signedIn.expiresAt, DateTime.formatIso)
    yield* cli.out.result(
      {
        profile: cli.globals.profile,
        credentials: options.jwt ? "jwt" : "token",
        username: signedIn.username,
        email: signedIn.email,
        ...(Option.isSome(expiresAt) ? { expiresAt: expiresAt.value } : {}),
        ...Cli.shown(cli, signedIn.token)
      },
      [
        `Signed in as ${signedIn.username}${signedIn.email ? ` (${signedIn.email})` : ""}.`,
        `Stored in profile ${cli.globals.profile}${cli.globals.fake ? " (fake)" : ""} under ${cli.directory}` +
        (Option.isSome(expiresAt) ? `, as a device key and a Plex JWT valid until ${expiresAt.value}.` : "."),
        ...(cli.globals.showToken ? [`Token: ${Cli.shown(cli, signedIn.token).token}`] : [])
      ]
    )
  })
