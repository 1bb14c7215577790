/**
 * Reaching a Plex Media Server: every candidate connection probed at once, the best by preference
 * among those that answered as that server within the per-candidate timeout, the rest interrupted
 * (their requests aborted) as soon as the answer is decided; and the remembered choice behind
 * `Resources.layerServer`, raced again after a transport failure or timeout on it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as PlexError from "../PlexError.js"
import * as PlexPolicy from "../PlexPolicy.js"
import { sdkError } from "./request.js"
import type { Identity, PlexResource, ResourceConnection, ResourceList } from "./resourceModels.js"
import { ServerConnection } from "./resourceModels.js"
import { cut, scrub } from "./secrets.js"
import type { Target } from "./server.js"

/**
 * The options of `connect` (public as `Resources.ConnectOptions`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectOptions {
  readonly timeout?: Duration.DurationInput | undefined
  readonly fastest?: boolean | undefined
}

/** One `/identity` probe: the server at `uri`, asked with the server's own token. @internal */
export type Probe = (uri: string, token: Redacted.Redacted<string>) => Effect.Effect<Identity, PlexError.PlexError>

const DEFAULT_TIMEOUT = Duration.seconds(5)

// local before remote before relay; https before http within each.
const rank = (c: ResourceConnection): number =>
  (c.relay ? 4 : c.local ? 0 : 2) + (c.protocol.toLowerCase() === "https" ? 0 : 1)

/**
 * The connections worth probing, best first, and those left out: local connections of a server the
 * account does not own (its LAN is not ours; python-plexapi skips them too).
 *
 * @internal
 */
export const candidates = (resource: PlexResource): {
  readonly ordered: ReadonlyArray<ResourceConnection>
  readonly skipped: ReadonlyArray<ResourceConnection>
} => {
  const skipped = resource.owned ? [] : resource.connections.filter((c) => c.local && !c.relay)
  const kept = resource.owned ? resource.connections : resource.connections.filter((c) => !(c.local && !c.relay))
  // Array.prototype.sort is stable: equal ranks keep plex.tv's order.
  return { ordered: [...kept].sort((a, b) => rank(a) - rank(b)), skipped }
}

/**
 * How one candidate connection's `/identity` probe went (public as `Resources.ProbeOutcome`):
 *
 * - `Reachable { latency }`: it answered as that server;
 * - `WrongServer { machineIdentifier }`: another server answered (shown scrubbed and cut to 64
 *   characters: a server could echo the token it was sent);
 * - `Refused`: nothing listens there (`ECONNREFUSED`);
 * - `Unreachable { errno }`: any other transport failure (DNS, reset, unreachable network);
 * - `TimedOut { after }`: no answer within the probe's budget;
 * - `HttpStatus { status }`: it answered with an HTTP error status (or a 429);
 * - `BadAnswer`: it answered with something that is not a server identity;
 * - `NotProbed { why }`: the URI could not be asked (an unusable URI);
 * - `Skipped`: a local connection of a server the account does not own (its LAN is not ours);
 * - `Cancelled`: still running when `connect` had its answer (a better or faster one won).
 *
 * @since 0.2.0
 * @category models
 */
export type ProbeOutcome = Data.TaggedEnum<{
  Reachable: { readonly latency: Duration.Duration }
  WrongServer: { readonly machineIdentifier: string }
  Refused: Record<never, never>
  Unreachable: { readonly errno: string | undefined }
  TimedOut: { readonly after: Duration.Duration }
  HttpStatus: { readonly status: number }
  BadAnswer: Record<never, never>
  NotProbed: { readonly why: string }
  Skipped: Record<never, never>
  Cancelled: Record<never, never>
}>

/**
 * Constructors, `$is` and `$match` for {@link ProbeOutcome}.
 *
 * @since 0.2.0
 * @category constructors
 */
export const ProbeOutcome = Data.taggedEnum<ProbeOutcome>()

/**
 * One candidate connection of a server and how its probe went.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectionProbe {
  readonly connection: ResourceConnection
  readonly outcome: ProbeOutcome
}

/**
 * What `Resources.probeConnections` found for a server: every connection in preference order
 * (the skipped ones last) with its outcome, and the one `connect` chooses by the same rule, if any.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectionReport {
  readonly resource: PlexResource
  readonly probes: ReadonlyArray<ConnectionProbe>
  readonly chosen: Option.Option<ServerConnection>
}

/** What a failed probe was: never a token, never a response body. */
const outcomeOf = (error: PlexError.PlexError, timeout: Duration.Duration): ProbeOutcome => {
  if (error._tag !== "PlexSdkError") return ProbeOutcome.HttpStatus({ status: error.status })
  switch (error.reason) {
    case "Transport":
      return error.errno === "ECONNREFUSED"
        ? ProbeOutcome.Refused()
        : ProbeOutcome.Unreachable({ errno: error.errno })
    case "Timeout":
      return ProbeOutcome.TimedOut({ after: timeout })
    case "StatusCode":
    case "RateLimited":
      return error.status === undefined
        ? ProbeOutcome.NotProbed({ why: error.reason })
        : ProbeOutcome.HttpStatus({ status: error.status })
    case "Decode":
      return ProbeOutcome.BadAnswer()
    case "InvalidRequest":
      return ProbeOutcome.NotProbed({ why: error.detail })
    default:
      return ProbeOutcome.NotProbed({ why: error.reason })
  }
}

/** An outcome in words, as the `NoConnection` detail lists it. */
const describe = ProbeOutcome.$match({
  Reachable: ({ latency }) => `reachable in ${Duration.format(latency)}`,
  WrongServer: ({ machineIdentifier }) => `wrong server (machineIdentifier ${machineIdentifier})`,
  Refused: () => "refused",
  Unreachable: ({ errno }) => `unreachable${errno ? ` (${errno})` : ""}`,
  TimedOut: ({ after }) => `timed out after ${Duration.format(after)}`,
  HttpStatus: ({ status }) => `HTTP ${status}`,
  BadAnswer: () => "answered with something that is not a server identity",
  NotProbed: ({ why }) => `not probed (${why})`,
  Skipped: () => "skipped (a local connection of a server this account does not own)",
  Cancelled: () => "cancelled"
})

const label = (resource: PlexResource) => `"${resource.name}" (${resource.clientIdentifier})`

const fail = (reason: PlexError.SdkErrorReason, detail: string) => Effect.fail(sdkError("connect", reason, detail))

interface Raced {
  readonly ordered: ReadonlyArray<ResourceConnection>
  readonly skipped: ReadonlyArray<ResourceConnection>
  /** One per `ordered` candidate; `undefined` for a probe that had not finished. */
  readonly outcomes: ReadonlyArray<ProbeOutcome | undefined>
  readonly chosen: Option.Option<ServerConnection>
}

/**
 * The race behind `connect` and `probeConnections`: probes every candidate at once and decides on
 * the best that answered as that server: the first in preference order once every better one has
 * failed, or, after the window (the per-candidate timeout), the best that has answered by then; with
 * `fastest`, the first to answer. Unless `settle`, closing the race's scope once decided interrupts
 * the probes still running, which aborts their requests; with `settle` every probe runs to its end
 * (each is bounded by the window), so each has an outcome.
 */
const race = (
  resource: PlexResource,
  probe: Probe,
  options: ConnectOptions | undefined,
  settle: boolean
): Effect.Effect<Raced, PlexError.PlexSdkError> =>
  Effect.suspend(() => {
    const timeout = options?.timeout === undefined ? Option.some(DEFAULT_TIMEOUT) : Duration.decodeUnknown(
      options.timeout
    )
    if (Option.isNone(timeout) || Duration.toMillis(timeout.value) <= 0) {
      return fail("InvalidRequest", "timeout must be a positive duration")
    }
    const window = timeout.value
    if (Option.isNone(resource.accessToken)) {
      return fail("InvalidRequest", `${label(resource)} has no accessToken: it is not a server this account can use`)
    }
    const token = resource.accessToken.value
    const { ordered, skipped } = candidates(resource)
    const fastest = options?.fastest === true
    const outcomes: Array<ProbeOutcome | undefined> = ordered.map(() => undefined)
    let windowOver = false

    const result = (chosen: Option.Option<ServerConnection>): Raced => ({
      ordered,
      skipped,
      outcomes: [...outcomes],
      chosen
    })

    if (ordered.length === 0) return Effect.succeed(result(Option.none()))

    return Effect.scoped(Effect.gen(function*() {
      const done = yield* Deferred.make<Raced>()
      const decide = Effect.suspend(() => {
        let pending = false
        let best: number | undefined
        for (let i = 0; i < ordered.length; i++) {
          const outcome = outcomes[i]
          if (outcome === undefined) {
            // A better candidate may still answer: wait for it, unless the window is over.
            if (!fastest && !windowOver && best === undefined) return Effect.void
            pending = true
          } else if (outcome._tag === "Reachable" && best === undefined) {
            best = i
            if (!settle) break
          }
        }
        if (settle && pending) return Effect.void
        if (best === undefined) return pending ? Effect.void : Deferred.succeed(done, result(Option.none()))
        const outcome = outcomes[best] as Extract<ProbeOutcome, { _tag: "Reachable" }>
        return Deferred.succeed(
          done,
          result(Option.some(
            new ServerConnection({
              resource,
              connection: ordered[best],
              uri: ordered[best].uri,
              token,
              latency: outcome.latency
            }, true)
          ))
        )
      })
      const run = (connection: ResourceConnection, i: number) =>
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(
            probe(connection.uri, token).pipe(
              PlexPolicy.withPolicy({ attemptTimeout: window, maxAttempts: 1, deadline: window })
            )
          )
          const latency = (yield* Clock.currentTimeMillis) - started
          outcomes[i] = Exit.match(exit, {
            onSuccess: (identity): ProbeOutcome =>
              identity.machineIdentifier === resource.clientIdentifier
                ? ProbeOutcome.Reachable({ latency: Duration.millis(latency) })
                : ProbeOutcome.WrongServer({
                  // What a server answers is shown scrubbed: one could echo the token it was sent.
                  machineIdentifier: cut(scrub(identity.machineIdentifier, [Redacted.value(token)]), 64)
                }),
            onFailure: (cause): ProbeOutcome => {
              const error = cause._tag === "Fail" ? cause.error : undefined
              return error === undefined ? ProbeOutcome.NotProbed({ why: "failed" }) : outcomeOf(error, window)
            }
          })
          yield* decide
        })
      yield* Effect.forkScoped(Effect.forEach(ordered, run, { concurrency: "unbounded", discard: true }))
      yield* Effect.forkScoped(Effect.zipRight(
        Effect.sleep(window),
        Effect.suspend(() => {
          windowOver = true
          return decide
        })
      ))
      return yield* Deferred.await(done)
    }))
  })

/**
 * Probes every candidate of `resource` at once and returns the best that answered as that server
 * (see {@link race}); fails with `NoConnection`, naming each candidate's outcome, when none did.
 *
 * @internal
 */
export const connect = (
  resource: PlexResource,
  probe: Probe,
  options?: ConnectOptions
): Effect.Effect<ServerConnection, PlexError.PlexError> =>
  Effect.flatMap(race(resource, probe, options, false), (raced) => {
    if (Option.isSome(raced.chosen)) return Effect.succeed(raced.chosen.value)
    const lines = [
      ...raced.ordered.map((c, i) => `${c.uri}: ${describe(raced.outcomes[i] ?? ProbeOutcome.Cancelled())}`),
      ...raced.skipped.map((c) => `${c.uri}: ${describe(ProbeOutcome.Skipped())}`)
    ]
    return fail(
      "NoConnection",
      raced.ordered.length === 0
        ? `${label(resource)} has no connection to try${lines.length > 0 ? `: ${lines.join("; ")}` : ""}`
        : `none of the connections of ${label(resource)} answered as that server: ${lines.join("; ")}`
    )
  })

/**
 * The same race as {@link connect}, but every probe runs to its end (each bounded by the timeout)
 * and each candidate's outcome is reported, with the one `connect` would choose.
 *
 * @internal
 */
export const probeConnections = (
  resource: PlexResource,
  probe: Probe,
  options?: ConnectOptions
): Effect.Effect<ConnectionReport, PlexError.PlexError> =>
  Effect.map(race(resource, probe, options, true), (raced) => ({
    resource,
    probes: [
      ...raced.ordered.map((connection, i) => ({
        connection,
        outcome: raced.outcomes[i] ?? ProbeOutcome.Cancelled()
      })),
      ...raced.skipped.map((connection) => ({ connection, outcome: ProbeOutcome.Skipped() }))
    ],
    chosen: raced.chosen
  }))

/**
 * Which server `layerServer` uses: by name, by `clientIdentifier` (= `machineIdentifier`), or the
 * first server a predicate accepts (public as `Resources.Select`).
 *
 * @since 0.2.0
 * @category models
 */
export type Select =
  | { readonly name: string }
  | { readonly clientIdentifier: string }
  | ((resource: PlexResource) => boolean)

const describeSelect = (select: Select): string =>
  typeof select === "function"
    ? "the predicate"
    : "name" in select
    ? `name ${JSON.stringify(select.name)}`
    : `clientIdentifier ${JSON.stringify(select.clientIdentifier)}`

/** @internal */
export const pick = (servers: ReadonlyArray<PlexResource>, select: Select): PlexResource | undefined => {
  const matches: (resource: PlexResource) => boolean = typeof select === "function"
    ? select as (resource: PlexResource) => boolean
    : "name" in select
    ? (r) => r.name === select.name
    : (r) => r.clientIdentifier === select.clientIdentifier
  return servers.find((r) => matches(r))
}

/**
 * The remembered choice behind `layerServer`: listed, picked and raced on first use, and then kept.
 * Concurrent first uses share one race (`Effect.cachedInvalidateWithTTL` runs it once). A transport
 * failure or timeout reported for the chosen URI forgets it, so the next call races again; it is
 * forgotten once per failure (concurrent reports of the same URI, or a late report of a URI no
 * longer chosen, change nothing). A failed race is not kept either: the next call tries again.
 *
 * @internal
 */
export const makeTarget = (
  list: Effect.Effect<ResourceList, PlexError.PlexError>,
  reach: (resource: PlexResource) => Effect.Effect<ServerConnection, PlexError.PlexError>,
  select: Select
): Effect.Effect<Target> =>
  Effect.gen(function*() {
    const race = Effect.flatMap(list, (resources) => {
      const servers = resources.filter((r) => r.isServer)
      const chosen = pick(servers, select)
      return chosen === undefined
        ? fail(
          "NoConnection",
          `no server of this account matches ${describeSelect(select)} (servers: ${
            servers.map((s) => JSON.stringify(s.name)).join(", ") || "none"
          })`
        )
        : reach(chosen)
    })
    // The cached exit; `latest` is the one to forget, compared by identity, so each is forgotten once.
    const latest = yield* Ref.make<Exit.Exit<ServerConnection, PlexError.PlexError> | undefined>(undefined)
    const [cached, invalidate] = yield* Effect.cachedInvalidateWithTTL(
      Effect.tap(Effect.exit(race), (exit) => Ref.set(latest, exit)),
      Duration.infinity
    )
    const forget = (matches: (exit: Exit.Exit<ServerConnection, PlexError.PlexError>) => boolean) =>
      Effect.flatMap(
        Ref.modify(latest, (exit) => exit !== undefined && matches(exit) ? [true, undefined] : [false, exit]),
        (forgot) => forgot ? invalidate : Effect.void
      )
    return {
      current: Effect.flatMap(cached, (exit) =>
        Exit.isSuccess(exit)
          ? Effect.succeed({ uri: exit.value.uri, token: exit.value.token })
          : Effect.zipRight(forget((e) => e === exit), exit)),
      reportFailure: (uri) => forget((exit) => Exit.isSuccess(exit) && exit.value.uri === uri)
    }
  })
