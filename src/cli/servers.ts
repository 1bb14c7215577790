/**
 * The account's Plex Media Servers: `servers` lists each with every connection and how its probe
 * went (`Resources.probeConnections`: the SDK's race, every probe run to its end), `servers
 * --connect <name>` prints the connection `Resources.connect` chooses, and `token transient
 * --server <name>` asks that server for a transient token with its own access token.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Authentication, Resources } from "../index.js"
import * as Cli from "./context.js"
import { CliError, ExitCode } from "./errors.js"
import { table } from "./output.js"

/**
 * The options of `servers`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly connect: Option.Option<string>
  readonly timeout: Option.Option<number>
}

// Slower than this and a reachable connection is marked slow.
const SLOW_MILLIS = 1000

const where = (c: Resources.ResourceConnection) => c.relay ? "relay" : c.local ? "local" : "remote"

const millisOf = (latency: Duration.Duration) => Math.round(Duration.toMillis(latency))

/** The outcome as a word for `--json` and as words for a person. */
const outcomeOf = Resources.ProbeOutcome.$match({
  Reachable: ({ latency }) => ({
    status: millisOf(latency) >= SLOW_MILLIS ? "slow" : "reachable",
    latencyMs: millisOf(latency),
    words: `reachable in ${millisOf(latency)} ms${millisOf(latency) >= SLOW_MILLIS ? " (slow)" : ""}`
  }),
  WrongServer: ({ machineIdentifier }) => ({
    status: "wrong-server",
    words: `wrong server (answered as ${machineIdentifier})`
  }),
  Refused: () => ({ status: "refused", words: "refused" }),
  Unreachable: ({ errno }) => ({ status: "unreachable", words: `unreachable${errno ? ` (${errno})` : ""}` }),
  TimedOut: ({ after }) => ({ status: "timeout", words: `no answer within ${Duration.format(after)}` }),
  HttpStatus: ({ status }) => ({ status: "http-error", httpStatus: status, words: `answered HTTP ${status}` }),
  BadAnswer: () => ({ status: "bad-answer", words: "answered, but not as a Plex server" }),
  NotProbed: ({ why }) => ({ status: "not-probed", words: `not probed (${why})` }),
  Skipped: () => ({ status: "skipped", words: "skipped (a local address of a server shared with you)" }),
  Cancelled: () => ({ status: "cancelled", words: "cancelled" })
})

const timeoutOf = (options: Options): Resources.ConnectOptions =>
  Option.match(options.timeout, { onNone: () => ({}), onSome: (seconds) => ({ timeout: Duration.seconds(seconds) }) })

const notFound = (name: string, servers: ReadonlyArray<Resources.PlexResource>) =>
  new CliError({
    code: ExitCode.BadRequest,
    message: `This account has no server named ${JSON.stringify(name)}.`,
    hint: servers.length === 0
      ? "It has no servers at all."
      : `Its servers: ${servers.map((s) => JSON.stringify(s.name)).join(", ")}.`
  })

/** The server named `name` (or with that machine identifier). */
const find = (name: string) =>
  Effect.flatMap(Resources.servers(), (servers) => {
    const found = servers.find((s) => s.name === name) ?? servers.find((s) => s.clientIdentifier === name)
    return found === undefined ? Effect.fail(notFound(name, servers)) : Effect.succeed(found)
  })

const connectOne = (name: string, options: Options) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const server = yield* find(name)
    const chosen = yield* Resources.connect(server, timeoutOf(options))
    yield* cli.out.result(
      {
        server: server.name,
        clientIdentifier: server.clientIdentifier,
        uri: chosen.uri,
        where: where(chosen.connection),
        latencyMs: millisOf(chosen.latency),
        ...Cli.shown(cli, chosen.token)
      },
      [
        chosen.uri,
        `  ${server.name}: ${where(chosen.connection)} connection, answered in ${millisOf(chosen.latency)} ms`,
        ...(cli.globals.showToken ? [`  Server token: ${Cli.shown(cli, chosen.token).token}`] : [])
      ]
    )
  })

const listAll = (options: Options) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const servers = yield* Resources.servers()
    const reports = yield* Effect.forEach(
      servers,
      (server) => Resources.probeConnections(server, timeoutOf(options)),
      { concurrency: "unbounded" }
    )
    const lines = reports.flatMap((report) => {
      const { resource } = report
      const chosen = Option.map(report.chosen, (c) => c.uri)
      const owner = resource.owned ? "owned" : `shared by ${resource.sourceTitle ?? "another account"}`
      const product = [resource.product, resource.productVersion].filter(Boolean).join(" ")
      const head = `${resource.name}  (${owner}${product === "" ? "" : `, ${product}`})`
      const rows = report.probes.map((probe) => {
        const mark = probe.outcome._tag === "Reachable" ? "✓" : probe.outcome._tag === "Skipped" ? "-" : "✗"
        const isChosen = Option.isSome(chosen) && chosen.value === probe.connection.uri
        return [
          mark,
          where(probe.connection),
          probe.connection.uri,
          outcomeOf(probe.outcome).words + (isChosen ? "  ← chosen" : "")
        ]
      })
      return [
        head,
        ...table(rows, "  "),
        ...(Option.isNone(chosen) ? ["  No connection answered as this server."] : []),
        ""
      ]
    })
    yield* cli.out.result(
      {
        servers: reports.map((report) => ({
          name: report.resource.name,
          clientIdentifier: report.resource.clientIdentifier,
          owned: report.resource.owned,
          chosen: Option.getOrNull(Option.map(report.chosen, (c) => c.uri)),
          connections: report.probes.map((probe) => {
            const { words: _, ...outcome } = outcomeOf(probe.outcome)
            return {
              uri: probe.connection.uri,
              where: where(probe.connection),
              protocol: probe.connection.protocol,
              ...outcome
            }
          })
        }))
      },
      servers.length === 0 ? ["This account has no Plex Media Servers."] : lines.slice(0, -1)
    )
  })

/**
 * Runs `servers` (with `--connect`, only the chosen connection of that server).
 *
 * @since 0.2.0
 * @category commands
 */
export const servers = (options: Options) =>
  Effect.gen(function*() {
    const { layer } = yield* Cli.signedIn
    yield* (Option.isSome(options.connect) ? connectOne(options.connect.value, options) : listAll(options)).pipe(
      Effect.provide(layer)
    )
  })

/**
 * Runs `token transient --server <name>`: the server's best connection, then
 * `GET /security/token?type=delegation&scope=all` there with the server's own token.
 *
 * @since 0.2.0
 * @category commands
 */
export const transientToken = (name: string) =>
  Effect.gen(function*() {
    const cli = yield* Cli.Cli
    const { layer } = yield* Cli.signedIn
    yield* Effect.gen(function*() {
      const server = yield* find(name)
      const chosen = yield* Resources.connect(server)
      const transient = yield* Authentication.getTransientToken({}, { serverUrl: chosen.uri, token: chosen.token })
      yield* cli.out.result(
        { server: server.name, uri: chosen.uri, ...Cli.shown(cli, transient.token) },
        cli.globals.showToken
          ? [Cli.shown(cli, transient.token).token!]
          : [
            `Got a transient token from ${server.name} (${chosen.uri}): valid up to 48 hours, until the server restarts.`,
            "Pass --show-token to print it."
          ]
      )
    }).pipe(Effect.provide(layer))
  })
