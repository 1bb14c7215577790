/**
 * The `plex-auth` command tree (`@effect/cli`) and how a run ends: every command runs in a fresh
 * context (`context.ts`) and reports its own failure, so what is left here is the exit code.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { stripVTControlCharacters } from "node:util"
import * as Account from "./account.js"
import * as Cli from "./context.js"
import { describe, ExitCode, Reported } from "./errors.js"
import * as Jwt from "./jwt.js"
import * as Login from "./login.js"
import * as Output from "./output.js"
import * as Servers from "./servers.js"
import * as Signin from "./signin.js"

const globals = {
  json: Options.boolean("json").pipe(
    Options.withDescription(
      "Print the result as JSON on stdout (messages stay on stderr). No token unless --show-token."
    )
  ),
  profile: Options.text("profile").pipe(
    Options.withDefault("default"),
    Options.withDescription("Which stored credentials to use.")
  ),
  fake: Options.boolean("fake").pipe(
    Options.withDescription("Run against a built-in fake Plex on 127.0.0.1 (demos, tests): nothing leaves the machine.")
  ),
  showToken: Options.boolean("show-token").pipe(
    Options.withDescription("Also print tokens. They are never printed otherwise.")
  )
}

const root = Command.make("plex-auth", globals).pipe(
  Command.withDescription("Sign in to Plex and look after the tokens: PIN login, password sign-in, servers, JWTs.")
)

/** Runs a command's body in a fresh context; a failure is reported here and leaves its exit code. */
const handled = <E, R>(body: Effect.Effect<void, E, R>) =>
  Effect.flatMap(root, (options) => {
    const out = Output.make(options.json)
    return Effect.scoped(
      Effect.flatMap(Cli.make(options, out), (service) => Effect.provideService(body, Cli.Cli, service))
    ).pipe(
      Effect.onInterrupt(() => out.say("Cancelled.")),
      Effect.catchAllCause((cause) => {
        const failure = cause._tag === "Fail" ? cause.error : undefined
        const described = describe(failure)
        return Effect.zipRight(out.failure(described), Effect.fail(new Reported({ code: described.code })))
      })
    )
  })

const login = Command.make(
  "login",
  {
    jwt: Options.boolean("jwt").pipe(
      Options.withDescription("Sign in with a new device key and keep a Plex JWT (refreshed without a password).")
    ),
    link: Options.boolean("link").pipe(
      Options.withDescription("Show a 4-character code to enter at plex.tv/link instead of a sign-in URL.")
    ),
    noQr: Options.boolean("no-qr").pipe(Options.withDescription("Do not draw the QR code."))
  },
  (options) => handled(Login.login(options))
).pipe(Command.withDescription("Sign in with a PIN: open the URL (or scan the QR code) and approve; Ctrl-C cancels."))

const signin = Command.make(
  "signin",
  {
    login: Options.text("login").pipe(
      Options.withAlias("u"),
      Options.optional,
      Options.withDescription("Username or email (else PLEX_LOGIN, else a prompt).")
    ),
    passwordStdin: Options.boolean("password-stdin").pipe(
      Options.withDescription("Read the password from stdin (else PLEX_PASSWORD, else a hidden prompt).")
    ),
    code: Options.redacted("code").pipe(
      Options.optional,
      Options.withDescription("Two-factor verification code (else asked for when plex.tv wants one).")
    )
  },
  (options) => handled(Signin.signin(options))
).pipe(Command.withDescription("Sign in with a username and password (and a two-factor code when asked)."))

const whoami = Command.make("whoami", {}, () => handled(Account.whoami)).pipe(
  Command.withDescription("Show the signed-in account: username, email, Plex Pass, two-factor.")
)

const servers = Command.make(
  "servers",
  {
    connect: Options.text("connect").pipe(
      Options.optional,
      Options.withDescription("Only the connection the SDK chooses for this server (name or machine identifier).")
    ),
    timeout: Options.integer("timeout").pipe(
      Options.optional,
      Options.withDescription("Seconds each connection may take to answer (default 5).")
    )
  },
  (options) => handled(Servers.servers(options))
).pipe(Command.withDescription("List the account's servers, every connection, and how each answered."))

const transient = Command.make(
  "transient",
  { server: Options.text("server").pipe(Options.withDescription("The server's name (or machine identifier).")) },
  ({ server }) => handled(Servers.transientToken(server))
).pipe(Command.withDescription("Get a transient token (up to 48 h) from one of the account's servers."))

const token = Command.make("token").pipe(
  Command.withDescription("Tokens from the account's servers."),
  Command.withSubcommands([transient])
)

const ping = Command.make("ping", {}, () => handled(Account.ping)).pipe(
  Command.withDescription("Check that the stored token works (and keep it alive).")
)

const signout = Command.make("signout", {}, () => handled(Account.signout)).pipe(
  Command.withDescription("End the stored token at plex.tv and forget it here.")
)

const jwt = Command.make("jwt").pipe(
  Command.withDescription("The profile's Plex JWT (after login --jwt)."),
  Command.withSubcommands([
    Command.make("refresh", {}, () => handled(Jwt.refresh)).pipe(
      Command.withDescription("Get a new Plex JWT for the stored device key.")
    ),
    Command.make("verify", {}, () => handled(Jwt.verify)).pipe(
      Command.withDescription("Check the stored Plex JWT against Plex's keys.")
    )
  ])
)

const command = root.pipe(Command.withSubcommands([login, signin, whoami, servers, token, ping, signout, jwt]))

const footer = HelpDoc.blocks([
  HelpDoc.h1("EXIT CODES"),
  HelpDoc.p(
    "0 ok · 1 other failure · 2 usage · 3 unauthorized or expired · 4 bad request · 5 network or timeout · " +
      "6 rate limited · 130 interrupted"
  ),
  HelpDoc.h1("ENVIRONMENT"),
  HelpDoc.p(
    "PLEX_TOKEN (used instead of the stored profile), PLEX_CLIENT_IDENTIFIER, PLEX_PRODUCT, PLEX_DEVICE_NAME and the " +
      "other PLEX_* identity variables, PLEX_TV_URL, PLEX_CLIENTS_URL; PLEX_LOGIN and PLEX_PASSWORD for signin; " +
      "XDG_CONFIG_HOME (credentials in $XDG_CONFIG_HOME/effect-plex, else ~/.config/effect-plex)."
  )
])

const cli = Command.run(command, { name: "plex-auth", version: Cli.version, footer })

const plain = (stream: NodeJS.WriteStream) => (...args: ReadonlyArray<unknown>) =>
  Effect.sync(() => {
    const text = args.map(String).join(" ")
    // @effect/cli colours help and usage errors whatever the output: only a terminal gets colours.
    stream.write(`${stream.isTTY && process.env["NO_COLOR"] === undefined ? text : stripVTControlCharacters(text)}\n`)
  })

const withPlainConsole = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((current) =>
    Effect.withConsole(effect, { ...current, log: plain(process.stdout), error: plain(process.stderr) })
  )

const GLOBAL_FLAGS = new Set(["--json", "--fake", "--show-token"])

/**
 * The arguments with the global options moved in front of the command: @effect/cli reads a parent
 * command's options only before the subcommand's own, so `servers --fake --connect X` would
 * otherwise be refused. Stops at `--`.
 *
 * @since 0.2.0
 * @category running
 */
export const hoistGlobals = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [runtime = "node", script = "plex-auth", ...args] = argv
  const globals: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      rest.push(...args.slice(i))
      break
    }
    if (GLOBAL_FLAGS.has(arg) || arg.startsWith("--profile=")) {
      globals.push(arg)
    } else if (arg === "--profile" && i + 1 < args.length) {
      globals.push(arg, args[++i]!)
    } else {
      rest.push(arg)
    }
  }
  return [runtime, script, ...globals, ...rest]
}

/**
 * Runs `plex-auth` with `process.argv`-style arguments (the first two are dropped) and gives the
 * exit code; interruption (Ctrl-C) is left to the caller (exit 130).
 *
 * @since 0.2.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>) =>
  withPlainConsole(cli(hoistGlobals(argv))).pipe(
    Effect.as<number>(ExitCode.Ok),
    Effect.catchAll((error) => {
      if (error instanceof Reported) return Effect.succeed<number>(error.code)
      if (ValidationError.isValidationError(error)) {
        // @effect/cli has printed what is wrong; with --json, say so on stdout too.
        return argv.includes("--json")
          ? Effect.as(Output.make(true).jsonFailure(describe(error)), ExitCode.Usage)
          : Effect.succeed<number>(ExitCode.Usage)
      }
      return Effect.as(Output.make(argv.includes("--json")).failure(describe(error)), describe(error).code)
    })
  )
