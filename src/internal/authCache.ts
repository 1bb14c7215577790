/**
 * The caches behind `PlexAuth`: who a token belongs to, and whether that account may use a server.
 * Storage, capacity (least recently used out first), time to live and single flight are Effect's
 * `Cache`; this file decides what goes in (a token's SHA-256, never the token), for how long (a
 * user for `timeToLive`, a refusal for `negativeTimeToLive`, an upstream failure not at all), and
 * works around one defect of that `Cache` (see {@link makeGenerations}).
 *
 * @internal
 */
import * as Cache from "effect/Cache"
import * as Clock from "effect/Clock"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Authentication from "../Authentication.js"
import { PlexUser } from "../Models.js"
import type { Options } from "../PlexAuth.js"
import * as PlexError from "../PlexError.js"
import * as PlexPolicy from "../PlexPolicy.js"
import * as Resources from "../Resources.js"
import {
  accessDenied,
  type PlexAuthError,
  PlexUnavailable,
  type ServerAccessDenied,
  type Service,
  type TokenInput,
  type Unauthenticated,
  unauthenticated
} from "./authModel.js"
import type { PlexResource } from "./resourceModels.js"

/** The options of `PlexAuth.make`, checked and with their defaults. @internal */
export interface Settings {
  readonly capacity: number
  readonly timeToLive: Duration.Duration
  readonly negativeTimeToLive: Duration.Duration
  readonly server: Option.Option<string>
  readonly policy: PlexPolicy.Options | undefined
}

const invalid = (key: string, message: string) =>
  Either.left(ConfigError.InvalidData([key], `PlexAuth.${key}: ${message}`))

const duration = (
  key: string,
  value: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, ConfigError.ConfigError> => {
  if (value === undefined) return Either.right(fallback)
  // Duration reads a negative or NaN number of millis as zero: refuse it rather than guess.
  const decoded = typeof value === "number" && !(value >= 0) ? Option.none() : Duration.decodeUnknown(value)
  if (Option.isNone(decoded) || !Duration.isFinite(decoded.value)) {
    return invalid(key, "not a finite duration Effect can read, or negative")
  }
  return Either.right(decoded.value)
}

/** The options, checked, with their defaults: a `ConfigError` naming one that cannot work. @internal */
export const settingsOf = (
  options: Options,
  defaults: {
    readonly capacity: number
    readonly timeToLive: Duration.Duration
    readonly negativeTimeToLive: Duration.Duration
  }
): Either.Either<Settings, ConfigError.ConfigError> =>
  Either.gen(function*() {
    const capacity = options.capacity ?? defaults.capacity
    if (!Number.isSafeInteger(capacity) || capacity < 1) return yield* invalid("capacity", "must be a whole number ≥ 1")
    const timeToLive = yield* duration("timeToLive", options.timeToLive, defaults.timeToLive)
    const negativeTimeToLive = yield* duration(
      "negativeTimeToLive",
      options.negativeTimeToLive,
      defaults.negativeTimeToLive
    )
    if (options.policy !== undefined) {
      const checked = PlexPolicy.make(options.policy)
      if (Either.isLeft(checked)) return yield* Either.left(checked.left)
    }
    const server = options.server === undefined || options.server.trim() === ""
      ? Option.none()
      : Option.some(options.server.trim())
    return { capacity, timeToLive, negativeTimeToLive, server, policy: options.policy }
  })

// --- hashing ----------------------------------------------------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const toHex = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!]
  return out
}

const encoder = new TextEncoder()

/** SHA-256 with WebCrypto: everywhere (browsers, Deno, Bun, workers, Node ≥ 19). @internal */
export const webCryptoSha256 = (text: string): Effect.Effect<string> =>
  Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", encoder.encode(text))),
    (digest) => toHex(new Uint8Array(digest))
  )

type NodeCrypto = {
  readonly hash?: (algorithm: string, data: string, encoding: "hex") => string
  readonly createHash: (algorithm: string) => {
    update(data: string, encoding: "utf8"): { digest(encoding: "hex"): string }
  }
}

/**
 * Node's own SHA-256, when the runtime offers it through `process.getBuiltinModule` (Node ≥ 20.16,
 * Bun, Deno): synchronous, 0.2 µs of CPU with the one-shot `crypto.hash` (Node ≥ 20.12), where
 * WebCrypto's `digest` costs about 15 µs and a trip through libuv's thread pool on every request.
 * No import, so bundles for other platforms stay free of `node:` modules and fall back to
 * WebCrypto. All give the same hex digest.
 *
 * @internal
 */
export const nodeSha256 = (): ((text: string) => string) | undefined => {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule
  if (typeof getBuiltin !== "function") return undefined
  try {
    const crypto = getBuiltin("node:crypto") as NodeCrypto | undefined
    if (crypto === undefined || typeof crypto.createHash !== "function") return undefined
    const oneShot = crypto.hash
    if (typeof oneShot === "function") return (text) => oneShot("sha256", text, "hex")
    return (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex")
  } catch {
    return undefined
  }
}

let syncSha256: ((text: string) => string) | null | undefined

/** The lowercase hex SHA-256 of a token: the only form in which a token becomes a cache key. @internal */
export const hashToken = (token: string): Effect.Effect<string> => {
  const sync = hashSync()
  return sync === undefined ? webCryptoSha256(token) : Effect.sync(() => sync(token))
}

/** Node's SHA-256 where there is one (looked up once), else `undefined`: then WebCrypto's. */
const hashSync = (): ((text: string) => string) | undefined => {
  if (syncSha256 === undefined) syncSha256 = nodeSha256() ?? null
  return syncSha256 ?? undefined
}

// Visible ASCII only (Plex tokens are alphanumeric, JWTs base64url with dots), and a bound on the
// length: anything else cannot be a token plex.tv issued, and is refused without asking it.
const tokenShape = /^[\x21-\x7e]{1,8192}$/

// --- the caches -------------------------------------------------------------------------------------

/** A cached answer, and how long it may be kept (0: hand it to the waiting callers, then drop it). */
interface Entry<A, E> {
  readonly result: Either.Either<A, E>
  readonly ttlMillis: number
}

/** A cache of answers by key, which loads a missing key with the loader its caller passes. @internal */
export interface Generations<A, E> {
  readonly get: (key: string, load: Effect.Effect<Entry<A, E>>) => Effect.Effect<A, E>
  readonly invalidate: (key: string) => Effect.Effect<void>
  readonly invalidateWhere: (predicate: (key: string) => boolean) => Effect.Effect<void>
  readonly size: Effect.Effect<number>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
  readonly lookups: () => number
  /** The `Cache` in use now (tests read its recency list). */
  readonly current: () => Cache.Cache<string, Entry<A, E>>
}

interface Generation<A, E> {
  readonly cache: Cache.Cache<string, Entry<A, E>>
  lookups: number
}

/**
 * Effect's `Cache`, replaced by a fresh one (holding the live entries, with the time they have
 * left) after every `capacity` lookups.
 *
 * Why: `Cache` keeps its least-recently-used order in a linked list that gets a new node whenever
 * an entry is loaded or first read after loading, and drops nodes only while evicting, which it does
 * only when over capacity. An entry that expires or is invalidated leaves its nodes behind. So a
 * cache that stays under its capacity (the usual case: fewer active users than 10,000) grows by
 * about two nodes per user every time to live, forever (effect 3.22.4; `test/auth/capacity.test.ts`
 * shows it on the `Cache` itself). A node left behind also evicts its key when it reaches the head
 * of the list, however recently the key was read since. Replacing the cache every `capacity`
 * lookups bounds the list at about twice the capacity, at the cost of one copy per `capacity`
 * lookups.
 *
 * The key comes from the caller (a hash) but the lookup needs the token itself: the caller passes
 * its loader through a fiber ref, read by the lookup, which `Cache` runs on the fiber that asked.
 * The token therefore never sits in the cache, only in the loader's closure while it runs.
 *
 * @internal
 */
export const makeGenerations = <A, E>(capacity: number): Effect.Effect<Generations<A, E>> =>
  Effect.gen(function*() {
    const loader = FiberRef.unsafeMake<Effect.Effect<Entry<A, E>> | undefined>(undefined)
    let total = 0
    const lookup = (_key: string): Effect.Effect<Entry<A, E>> =>
      Effect.flatMap(FiberRef.get(loader), (load) => {
        // Only `get` starts lookups, always with its loader set.
        if (load === undefined) return Effect.dieMessage("PlexAuth: a cache lookup without a loader")
        current.lookups++
        total++
        return load
      })
    const makeCache = Cache.makeWith<string, Entry<A, E>>({
      capacity,
      lookup,
      timeToLive: (exit) => Exit.isSuccess(exit) ? Duration.millis(exit.value.ttlMillis) : Duration.zero
    })
    let current: Generation<A, E> = { cache: yield* makeCache, lookups: 0 }
    let rotating = false

    // The live entries move with the time they have left (a TTL counts from when `set` runs), and
    // are then read once each, oldest load first, which gives them their place in the recency list
    // (an entry with no place there could never be evicted). The old cache's stale nodes go with
    // it. Lookups finishing in the old cache meanwhile are lost: at worst a key is looked up again.
    const rotate = Effect.gen(function*() {
      const old = current.cache
      const now = yield* Clock.currentTimeMillis
      const moving: Array<{ readonly key: string; readonly entry: Entry<A, E>; readonly loaded: number }> = []
      for (const [key, entry] of yield* old.entries) {
        const stats = yield* old.entryStats(key)
        if (Option.isNone(stats)) continue
        const left = stats.value.loadedMillis + entry.ttlMillis - now
        if (left > 0) {
          moving.push({ key, entry: { result: entry.result, ttlMillis: left }, loaded: stats.value.loadedMillis })
        }
      }
      moving.sort((a, b) => a.loaded - b.loaded)
      const next = yield* makeCache
      for (const { entry, key } of moving) yield* next.set(key, entry)
      for (const { key } of moving) yield* next.getOptionComplete(key)
      current = { cache: next, lookups: 0 }
    }).pipe(Effect.ensuring(Effect.sync(() => rotating = false)))

    // An answer that must not be kept (plex.tv down) is dropped at once, but only that very entry:
    // a fresh one loaded meanwhile by another caller stays.
    const settle = (cache: Cache.Cache<string, Entry<A, E>>, key: string, entry: Entry<A, E>): Effect.Effect<A, E> =>
      entry.ttlMillis > 0
        ? entry.result
        : Effect.zipRight(cache.invalidateWhen(key, (held) => held === entry), entry.result)

    // Starting a lookup, or waiting for one: on a daemon fiber, so that interrupting this caller
    // (a client that hung up) neither interrupts the lookup nor the other callers waiting for it
    // (`Effect.disconnect` does not do that: it interrupts its fiber in the background). A key the
    // cache does not hold at all is loaded with `refresh`, the one `Cache` method that adds no
    // node to the recency list for it (`get` would, at the position of this first access, and
    // the key would then be evicted from there however recently it is used). The answer is the
    // entry the lookup made, not a second read: by then the clock may have moved past a TTL of 0.
    // A kept entry is read once, which gives it its place in the recency list.
    const load = (cache: Cache.Cache<string, Entry<A, E>>, key: string, loader_: Effect.Effect<Entry<A, E>>) =>
      Effect.flatMap(
        Effect.forkDaemon(Effect.suspend(() => {
          let made: Entry<A, E> | undefined
          const recording = Effect.tap(loader_, (entry) => Effect.sync(() => made = entry))
          const start = Effect.flatMap(cache.refresh(key), () =>
            made === undefined
              ? cache.get(key)
              : made.ttlMillis > 0
              ? Effect.as(cache.getOptionComplete(key), made)
              : Effect.succeed(made))
          return Effect.locally(
            Effect.flatMap(cache.contains(key), (held) => held ? cache.get(key) : start),
            loader,
            recording
          )
        })),
        Fiber.join
      )

    const get = (key: string, loader_: Effect.Effect<Entry<A, E>>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        const needsRotation = current.lookups >= capacity && !rotating
        if (needsRotation) rotating = true
        const read = Effect.suspend(() => {
          const cache = current.cache
          const miss = Effect.flatMap(load(cache, key, loader_), (entry) => settle(cache, key, entry))
          // A hit forks no fiber (a fork costs ten times the hit) and records the access.
          return Effect.flatMap(cache.contains(key), (held) =>
            held
              ? Effect.flatMap(
                cache.getOptionComplete(key),
                (hit) => Option.isSome(hit) ? settle(cache, key, hit.value) : miss
              )
              : miss)
        })
        return needsRotation ? Effect.zipRight(rotate, read) : read
      })

    return {
      get,
      invalidate: (key) => Effect.suspend(() => current.cache.invalidate(key)),
      invalidateWhere: (predicate) =>
        Effect.suspend(() => {
          const cache = current.cache
          return Effect.flatMap(
            cache.keys,
            (keys) => Effect.forEach(keys.filter(predicate), (key) => cache.invalidate(key), { discard: true })
          )
        }),
      size: Effect.suspend(() => current.cache.size),
      keys: Effect.suspend(() => current.cache.keys),
      lookups: () => total,
      current: () => current.cache
    }
  })

// --- the service ------------------------------------------------------------------------------------

/** 401 (or 498 for an expired JWT) is a verdict on the token; anything else is plex.tv failing. */
const classify = (error: PlexError.PlexError): Unauthenticated | PlexUnavailable =>
  PlexError.isPlexUnauthorized(error)
    ? unauthenticated(error.status === 498 ? "ExpiredToken" : "InvalidToken")
    : new PlexUnavailable({ cause: error })

/** The service and, for tests, its caches. @internal */
export interface Built {
  readonly service: Service
  readonly users: Generations<PlexUser, Unauthenticated | PlexUnavailable>
  readonly access: Generations<PlexResource, PlexAuthError>
}

/** Builds the service over the SDK's `Authentication` and `Resources`. @internal */
export const build = (
  settings: Settings
): Effect.Effect<Built, never, Authentication.Authentication | Resources.Resources> =>
  Effect.gen(function*() {
    const authentication = yield* Authentication.Authentication
    const resources = yield* Resources.Resources
    const users = yield* makeGenerations<PlexUser, Unauthenticated | PlexUnavailable>(settings.capacity)
    const access = yield* makeGenerations<PlexResource, PlexAuthError>(settings.capacity)
    const ttl = Duration.toMillis(settings.timeToLive)
    const negativeTtl = Duration.toMillis(settings.negativeTimeToLive)
    const policy = settings.policy

    const ttlOf = (error: PlexAuthError): number => error._tag === "PlexUnavailable" ? 0 : negativeTtl

    // The lookup runs in the cache's context, not the caller's: it is put back under the caller's
    // span, so a miss shows where it happened.
    const asLookup = <A, B, E extends PlexAuthError>(
      call: Effect.Effect<A, PlexError.PlexError>,
      check: (a: A) => Either.Either<B, E>
    ): Effect.Effect<Entry<B, E | Unauthenticated | PlexUnavailable>> =>
      Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
        const withPolicy = policy === undefined ? call : PlexPolicy.withPolicy(call, policy)
        const traced = Option.isSome(span) ? Effect.withParentSpan(withPolicy, span.value) : withPolicy
        return Effect.map(Effect.either(traced), (result) => {
          const checked: Either.Either<B, E | Unauthenticated | PlexUnavailable> = Either.isRight(result)
            ? check(result.right)
            : Either.left(classify(result.left))
          return { result: checked, ttlMillis: Either.isRight(checked) ? ttl : ttlOf(checked.left) }
        })
      })

    // The hash of each cached user's `authToken` (the `Redacted` every later check of that user
    // passes: `CurrentPlexUser.authToken`), so those checks hash nothing. A request's own token is
    // a new `Redacted` each time and is hashed once; remembering those too would cost more (a weak
    // entry per request for the collector to clear) than the 0.2 µs of hashing it saves.
    const hashes = new WeakMap<Redacted.Redacted<string>, string>()

    const withToken = <A, E>(
      token: TokenInput,
      f: (plain: string, hash: string) => Effect.Effect<A, E | Unauthenticated>
    ): Effect.Effect<A, E | Unauthenticated> =>
      Effect.suspend(() => {
        const redacted = Redacted.isRedacted(token) ? token : undefined
        const plain = redacted === undefined ? token : Redacted.value(redacted)
        if (typeof plain !== "string" || plain === "") return Effect.fail(unauthenticated("MissingToken"))
        const known = redacted === undefined ? undefined : hashes.get(redacted)
        if (known !== undefined) return f(plain as string, known)
        if (!tokenShape.test(plain)) return Effect.fail(unauthenticated("InvalidToken"))
        const sync = hashSync()
        return sync === undefined
          ? Effect.flatMap(webCryptoSha256(plain), (hash) => f(plain, hash))
          : f(plain, sync(plain))
      })

    // Built only on a miss: a hit constructs no request.
    const lookupUser = (plain: string, hash: string) =>
      Effect.suspend(() =>
        asLookup(
          authentication.getTokenDetails({ token: Redacted.make(plain) }),
          // The user's `authToken` is the token it was looked up with, whatever plex.tv echoes,
          // so a handler holding `CurrentPlexUser` holds the request's token (for sign-out,
          // `requireServerAccess`, calls on the user's behalf).
          (user): Either.Either<PlexUser, never> => {
            const kept = Redacted.value(user.authToken) === plain
              ? user
              : new PlexUser({ ...user, authToken: Redacted.make(plain) }, true)
            hashes.set(kept.authToken, hash)
            return Either.right(kept)
          }
        )
      )

    const lookupAccess = (plain: string, machineIdentifier: string) =>
      Effect.suspend(() =>
        asLookup(
          resources.listResources({}, { token: Redacted.make(plain) }),
          (list): Either.Either<PlexResource, ServerAccessDenied> => {
            const server = list.find((r) => r.clientIdentifier === machineIdentifier && r.isServer)
            return server === undefined ? Either.left(accessDenied()) : Either.right(server)
          }
        )
      )

    const authenticate: Service["authenticate"] = (token) =>
      withToken(token, (plain, hash) => users.get(hash, lookupUser(plain, hash)))

    const requireServerAccess: Service["requireServerAccess"] = (machineIdentifier, token) =>
      withToken(token, (plain, hash) =>
        access.get(`${hash}/${machineIdentifier}`, lookupAccess(plain, machineIdentifier)))

    const invalidate: Service["invalidate"] = (token) =>
      Effect.catchAll(
        withToken(
          token,
          (_, hash) =>
            Effect.zipRight(
              users.invalidate(hash),
              access.invalidateWhere((key) =>
                key.startsWith(`${hash}/`)
              )
            )
        ),
        () => Effect.void
      )

    const service: Service = {
      authenticate,
      requireServerAccess,
      invalidate,
      server: settings.server,
      stats: Effect.map(
        Effect.all([users.size, access.size]),
        ([userCount, accessCount]) => ({
          users: userCount,
          serverAccess: accessCount,
          lookups: users.lookups() + access.lookups()
        })
      )
    }
    return { service, users, access }
  })
