/**
 * `plex-auth signin`: sign in with a login name and password. The name comes from `--login` (or
 * `PLEX_LOGIN`) or a prompt; the password from a prompt with hidden input, `--password-stdin`, or
 * `PLEX_PASSWORD`; a verification code from `--code` or a prompt when plex.tv answers 1029. Without
 * a terminal nothing is prompted for: a missing value is a usage error (exit 2), never a prompt
 * that would wait forever.
 *
 * @since 0.2.0
 */
import * as Prompt from "@effect/cli/Prompt"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Authentication, PlexError } from "../index.js"
import * as Cli from "./context.js"
import { CliError, ExitCode } from "./errors.js"
import * as Profile from "./profile.js"

/**
 * The options of `signin`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly login: Option.Option<string>
  readonly passwordStdin: boolean
  readonly code: Option.Option<Redacted.Redacted<string>>
}

/** Whether prompts can work: a person at a terminal, not a pipe or CI's closed stdin. */
export const canPrompt = (): boolean => process.stdin.isTTY === true

const needs = (what: string, how: string) =>
  new CliError({
    code: ExitCode.Usage,
    message: `signin needs ${what}, and there is no terminal to ask for it.`,
    hint: how
  })

const readStdin: Effect.Effect<string> = Effect.promise(async () => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "")
})

const nonEmpty = (input: string) =>
  Effect.succeed(input).pipe(Effect.filterOrFail((s) => s.trim() !== "", () => "Please enter something"))

const loginName = (options: Options) => {
  const given = Option.orElse(options.login, () => Option.fromNullable(process.env["PLEX_LOGIN"] || undefined))
  if (Option.isSome(given)) return Effect.succeed(given.value)
  if (!canPrompt()) return Effect.fail(needs("a login name", "Pass --login <name or email> (or set PLEX_LOGIN)."))
  return Prompt.text({ message: "Plex login (username or email)", validate: nonEmpty })
}

const password = (options: Options) => {
  if (options.passwordStdin) return Effect.map(readStdin, Redacted.make)
  const env = process.env["PLEX_PASSWORD"]
  if (env !== undefined && env !== "") return Effect.succeed(Redacted.make(env))
  if (!canPrompt()) {
    return Effect.fail(needs("a password", "Pipe it in with --password-stdin (or set PLEX_PASSWORD)."))
  }
  return Prompt.hidden({ message: "Password (hidden)" })
}

const codePrompt = (again: boolean) =>
  canPrompt()
    ? Effect.map(
      Prompt.text({
        message: again ? "That code was not accepted. Verification code" : "Verification code (from your app)",
        validate: nonEmpty
      }),
      Redacted.make
    )
    : Effect.fail(needs("a verification code (two-factor authentication is on)", "Pass --code <code>."))

/**
 * Runs `signin`.
 *
 * @since 0.2.0
 * @category commands
 */
export const signin = (options: Options) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const clientIdentifier = yield* Cli.clientIdentifierFor(cli)
    const login = yield* loginName(options)
    const secret = yield* password(options)
    const user = yield* Effect.gen(function*() {
      const attempt = (verificationCode: Option.Option<Redacted.Redacted<string>>) =>
        Authentication.postUsersSignInData({
          login,
          password: secret,
          rememberMe: true,
          ...(Option.isSome(verificationCode) ? { verificationCode: verificationCode.value } : {})
        })
      const first = yield* Effect.either(attempt(options.code))
      if (first._tag === "Right") return first.right
      // 1029: two-factor authentication is on; 1028: the code given was wrong. Ask (again) twice at most.
      let error: PlexError.PlexError = first.left
      for (let tries = 0; tries < 3; tries++) {
        const wrong = PlexError.isInvalidVerificationCode(error)
        if (!PlexError.isTwoFactorRequired(error) && !(wrong && canPrompt())) break
        if (tries === 0 && !wrong) yield* cli.out.say("Two-factor authentication is on for this account.")
        const next = yield* Effect.either(attempt(Option.some(yield* codePrompt(wrong))))
        if (next._tag === "Right") return next.right
        error = next.left
      }
      return yield* Effect.fail(error)
    }).pipe(Effect.provide(Cli.anonymous(clientIdentifier)))
    yield* Profile.saveToken(cli.store, cli.key, clientIdentifier, user.authToken)
    const name = user.username || user.title
    yield* cli.out.result(
      {
        profile: cli.globals.profile,
        credentials: "token",
        username: name,
        email: user.email,
        ...Cli.shown(cli, user.authToken)
      },
      [
        `Signed in as ${name}${user.email ? ` (${user.email})` : ""}.`,
        `Stored in profile ${cli.globals.profile}${cli.globals.fake ? " (fake)" : ""} under ${cli.directory}.`,
        ...(cli.globals.showToken ? [`Token: ${Redacted.value(user.authToken)}`] : [])
      ]
    )
  })
