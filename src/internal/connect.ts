/**
 * Reaching a Plex Media Server: every candidate connection probed at once, the best by preference
 * among those that answered as that server within the per-candidate timeout, the rest interrupted
 * (their requests aborted) as soon as the answer is decided; and the remembered choice behind
 * `Resources.layerServer`, raced again after a transport failure or timeout on it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
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

type Outcome =
  | { readonly _tag: "Ok"; readonly latency: number }
  | { readonly _tag: "Failed"; readonly why: string }

/** What a failed probe says in the error's detail: never a token, never a response body. */
const describe = (error: PlexError.PlexError, timeout: Duration.Duration): string => {
  if (error._tag !== "PlexSdkError") return `HTTP ${error.status}`
  switch (error.reason) {
    case "Transport":
      return error.errno === "ECONNREFUSED" ? "refused" : `unreachable${error.errno ? ` (${error.errno})` : ""}`
    case "Timeout":
      return `timed out after ${Duration.format(timeout)}`
    case "StatusCode":
    case "RateLimited":
      return error.status === undefined ? error.reason : `HTTP ${error.status}`
    case "Decode":
      return "answered with something that is not a server identity"
    case "InvalidRequest":
      return `not probed (${error.detail})`
    default:
      return error.reason
  }
}

const label = (resource: PlexResource) => `"${resource.name}" (${resource.clientIdentifier})`

const fail = (reason: PlexError.SdkErrorReason, detail: string) => Effect.fail(sdkError("connect", reason, detail))

/**
 * Probes every candidate of `resource` at once and returns the best that answered as that server:
 * the first in preference order once every better one has failed, or, after the window (the
 * per-candidate timeout), the best that has answered by then; with `fastest`, the first to answer.
 * Closing the race's scope interrupts the probes still running, which aborts their requests.
 *
 * @internal
 */
export const connect = (
  resource: PlexResource,
  probe: Probe,
  options?: ConnectOptions
): Effect.Effect<ServerConnection, PlexError.PlexError> =>
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
    const outcomes: Array<Outcome | undefined> = ordered.map(() => undefined)
    let windowOver = false

    const noConnection = () => {
      const lines = [
        ...ordered.map((c, i) => `${c.uri}: ${(outcomes[i] as Extract<Outcome, { _tag: "Failed" }>).why}`),
        ...skipped.map((c) => `${c.uri}: skipped (a local connection of a server this account does not own)`)
      ]
      return sdkError(
        "connect",
        "NoConnection",
        ordered.length === 0
          ? `${label(resource)} has no connection to try${lines.length > 0 ? `: ${lines.join("; ")}` : ""}`
          : `none of the connections of ${label(resource)} answered as that server: ${lines.join("; ")}`
      )
    }

    return Effect.scoped(Effect.gen(function*() {
      const done = yield* Deferred.make<ServerConnection, PlexError.PlexSdkError>()
      const decide = Effect.suspend(() => {
        let pending = false
        for (let i = 0; i < ordered.length; i++) {
          const outcome = outcomes[i]
          if (outcome === undefined) {
            // A better candidate may still answer: wait for it, unless the window is over.
            if (!fastest && !windowOver) return Effect.void
            pending = true
          } else if (outcome._tag === "Ok") {
            return Deferred.succeed(
              done,
              new ServerConnection({
                resource,
                connection: ordered[i],
                uri: ordered[i].uri,
                token,
                latency: Duration.millis(outcome.latency)
              }, true)
            )
          }
        }
        return pending ? Effect.void : Deferred.fail(done, noConnection())
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
            onSuccess: (identity): Outcome =>
              identity.machineIdentifier === resource.clientIdentifier
                ? { _tag: "Ok", latency }
                : {
                  _tag: "Failed",
                  // What a server answers is shown scrubbed: one could echo the token it was sent.
                  why: `wrong server (machineIdentifier ${
                    cut(scrub(identity.machineIdentifier, [Redacted.value(token)]), 64)
                  })`
                },
            onFailure: (cause): Outcome => {
              const error = cause._tag === "Fail" ? cause.error : undefined
              return { _tag: "Failed", why: error === undefined ? "failed" : describe(error, window) }
            }
          })
          yield* decide
        })
      if (ordered.length === 0) return yield* noConnection()
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
