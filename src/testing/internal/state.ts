/**
 * PlexFake's state: the core every area shares (accounts, tokens, pending faults, recorded
 * requests), one slot per area for the area's own state, and the {@link Store} that holds both in
 * a single `Ref` and hands each area an {@link AreaContext} onto the core plus its own slot.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type { CorruptionKind, FailResponse, RecordedRequest } from "../PlexFake.js"

// -------------------------------------------------------------------------------------------------
// Core state
// -------------------------------------------------------------------------------------------------

/** An account as the fake keeps it (with the secrets sign-in checks). */
export interface AccountRecord {
  readonly id: number
  readonly uuid: string
  readonly login: string
  readonly username: string
  readonly email: string
  readonly title: string
  readonly password: string
  readonly twoFactorCode: string | undefined
  /** The primary token: what sign-in returns while it stays valid. */
  readonly token: string
  /** Epoch seconds. */
  readonly joinedAt: number
}

/** What a valid token stands for. A transient token is one the PMS routes minted. */
export interface TokenRecord {
  readonly accountId: number
  readonly transient: boolean
  /** A Plex JWT (the jwt area): plex.tv answers 498 once `expiresAt` (epoch ms) has passed. */
  readonly jwtExpiresAt?: number | undefined
}

/** One of the fake's own Ed25519 keys that sign the Plex JWTs it issues. */
export interface SigningKey {
  readonly kid: string
  /** As `/auth/keys` publishes it. */
  readonly publicJwk: Readonly<Record<string, string>>
  /** A WebCrypto `CryptoKey`. */
  readonly privateKey: unknown
}

/** A device key registered with Plex: by `POST /auth/jwk`, or by approving a PIN created with it. */
export interface DeviceRecord {
  readonly kid: string
  readonly clientIdentifier: string
  readonly jwk: Readonly<Record<string, string>>
  readonly accountId: number
  /** The token `/auth/jwk` was called with: ended when a JWT is first issued for the device. */
  readonly legacyToken: string | undefined
}

/** Issuing Plex JWTs: shared by the jwt area and the PIN area (a PIN created with a key yields one). */
export interface JwtCore {
  /** Newest first: the first signs, all are published. Empty until first needed. */
  readonly signingKeys: ReadonlyArray<SigningKey>
  readonly devices: HashMap.HashMap<string, DeviceRecord>
  readonly lifetimeMillis: number
}

/** What a fail/corrupt/drop fault does to the request it catches. */
export type Outcome =
  | { readonly _tag: "Fail"; readonly response: FailResponse }
  | { readonly _tag: "Corrupt"; readonly kind: CorruptionKind }
  | { readonly _tag: "Drop" }

/** A pending fault: catches the next `remaining` requests whose path starts with `path`. */
export interface FaultEntry<A> {
  readonly value: A
  readonly remaining: number
  readonly path: string | undefined
}

/**
 * What every area may read and change. A token lives here, whoever minted it, so that revoking it
 * or checking it is one lookup for all areas.
 */
export interface CoreState {
  readonly accounts: ReadonlyArray<AccountRecord>
  /** Every valid token, account or transient. A revoked token is simply absent. */
  readonly tokens: HashMap.HashMap<string, TokenRecord>
  readonly nextAccountId: number
  readonly delays: ReadonlyArray<FaultEntry<Duration.Duration>>
  readonly outcomes: ReadonlyArray<FaultEntry<Outcome>>
  readonly requests: Chunk.Chunk<RecordedRequest>
  readonly jwt: JwtCore
}

const initialCore: CoreState = {
  accounts: [],
  tokens: HashMap.empty(),
  nextAccountId: 10_000_001,
  delays: [],
  outcomes: [],
  requests: Chunk.empty(),
  jwt: { signingKeys: [], devices: HashMap.empty(), lifetimeMillis: 7 * 24 * 60 * 60 * 1000 }
}

/**
 * The account a token stands for, if the token is valid. A transient token counts only when
 * `allowTransient` (the PMS routes accept one, plex.tv does not).
 */
export const validToken = (
  core: CoreState,
  token: string | undefined,
  allowTransient: boolean
): AccountRecord | undefined => {
  if (token === undefined || token === "") return undefined
  const record = Option.getOrUndefined(HashMap.get(core.tokens, token))
  if (record === undefined || (record.transient && !allowTransient)) return undefined
  return core.accounts.find((account) => account.id === record.accountId)
}

/** The account whose login, username or email is `login`, case-insensitively. */
export const findAccountByLogin = (core: CoreState, login: string): AccountRecord | undefined => {
  const key = login.toLowerCase()
  return core.accounts.find((account) =>
    account.login.toLowerCase() === key || account.username.toLowerCase() === key ||
    account.email.toLowerCase() === key
  )
}

/** `token` made valid for the account. */
export const addToken = (core: CoreState, token: string, accountId: number, transient: boolean): CoreState => ({
  ...core,
  tokens: HashMap.set(core.tokens, token, { accountId, transient })
})

/** The account's primary token, minting `fresh` as the new primary if it was revoked. */
export const ensurePrimaryToken = (
  core: CoreState,
  account: AccountRecord,
  fresh: string
): readonly [string, CoreState] => {
  if (HashMap.has(core.tokens, account.token)) return [account.token, core]
  const updated = { ...account, token: fresh }
  return [fresh, {
    ...addToken(core, fresh, account.id, false),
    accounts: core.accounts.map((a) => a.id === account.id ? updated : a)
  }]
}

// -------------------------------------------------------------------------------------------------
// Randomness (effect's Random, so tests can seed it)
// -------------------------------------------------------------------------------------------------

/** Token alphabet. */
export const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
/** Lower-case hex digits. */
export const HEX = "0123456789abcdef"

/** `length` characters drawn from `alphabet`. */
export const randomString = (alphabet: string, length: number): Effect.Effect<string> =>
  Effect.map(
    Effect.replicateEffect(Random.nextIntBetween(0, alphabet.length), length),
    (indexes) => indexes.map((i) => alphabet[i]).join("")
  )

/** A fresh account token: 20 alphanumerics, as plex.tv issues. */
export const randomToken: Effect.Effect<string> = randomString(ALNUM, 20)

/** A fresh v4-shaped UUID. */
export const randomUuid: Effect.Effect<string> = Effect.map(
  randomString(HEX, 32),
  (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`
)

// -------------------------------------------------------------------------------------------------
// The store: core + one slot per area, in one Ref
// -------------------------------------------------------------------------------------------------

/**
 * What an area tells the store about its own state. `initial` is run by `make` and again by
 * `reset`, so a fresh and a reset fake start alike; `onResetFaults`, when present, is what
 * `resetFaults` clears in that state (e.g. sign-in failure counters).
 */
export interface AreaState<S> {
  /** Unique among the areas: it names the area's slot. */
  readonly name: string
  readonly initial: Effect.Effect<S>
  readonly onResetFaults?: ((state: S) => S) | undefined
}

/** The core and one area's own state, read or written together. */
export interface Slice<S> {
  readonly core: CoreState
  readonly own: S
}

/**
 * An area's handle on the state: the core plus its own slot, always read and written together in
 * one atomic step (e.g. approving a PIN and minting the token it carries cannot interleave with a
 * revocation). The functions given to `modify`/`update` run inside `Ref.modify`: keep them pure and
 * draw randomness or the clock before the call.
 */
export interface AreaContext<S> {
  readonly get: Effect.Effect<Slice<S>>
  readonly modify: <A>(f: (slice: Slice<S>) => readonly [A, Slice<S>]) => Effect.Effect<A>
  readonly update: (f: (slice: Slice<S>) => Slice<S>) => Effect.Effect<void>
}

/** The whole state: the core and each area's slot by area name. */
export interface StoreState {
  readonly core: CoreState
  readonly areas: Readonly<Record<string, unknown>>
}

/** The fake's state and the operations that span every area. */
export interface Store {
  /** The whole state; the request pipeline and the core-only controls use it directly. */
  readonly ref: Ref.Ref<StoreState>
  /** An area's context. Throws (a defect inside `make`) if the area was not registered with the store. */
  readonly context: <S>(area: AreaState<S>) => AreaContext<S>
  /** Back to the state of a fresh fake: the initial core and every area's `initial`. */
  readonly reset: Effect.Effect<void>
  /** Drops pending faults and applies every area's `onResetFaults`. */
  readonly resetFaults: Effect.Effect<void>
}

/**
 * A store for these areas, each in its initial state. Dies if two areas share a name (two slots
 * would silently be one).
 */
export const makeStore = (areas: ReadonlyArray<AreaState<any>>): Effect.Effect<Store> =>
  Effect.gen(function*() {
    const names = new Set(areas.map((area) => area.name))
    if (names.size !== areas.length) return yield* Effect.dieMessage("PlexFake: two areas share a name")
    const initial: Effect.Effect<StoreState> = Effect.map(
      Effect.forEach(areas, (area) => Effect.map(area.initial, (state) => [area.name, state] as const)),
      (slots) => ({ core: initialCore, areas: Object.fromEntries(slots) })
    )
    const ref = yield* Ref.make(yield* initial)
    const context = <S>(area: AreaState<S>): AreaContext<S> => {
      if (!names.has(area.name)) throw new Error(`PlexFake: area ${area.name} is not registered`)
      const slice = (s: StoreState): Slice<S> => ({ core: s.core, own: s.areas[area.name] as S })
      const put = (s: StoreState, next: Slice<S>): StoreState => ({
        core: next.core,
        areas: next.own === s.areas[area.name] ? s.areas : { ...s.areas, [area.name]: next.own }
      })
      return {
        get: Effect.map(Ref.get(ref), slice),
        modify: (f) =>
          Ref.modify(ref, (s) => {
            const [a, next] = f(slice(s))
            return [a, put(s, next)]
          }),
        update: (f) => Ref.update(ref, (s) => put(s, f(slice(s))))
      }
    }
    return {
      ref,
      context,
      reset: Effect.flatMap(initial, (fresh) => Ref.set(ref, fresh)),
      resetFaults: Ref.update(ref, (s) => {
        const areaStates = { ...s.areas }
        for (const area of areas) {
          if (area.onResetFaults !== undefined) areaStates[area.name] = area.onResetFaults(areaStates[area.name])
        }
        return { core: { ...s.core, delays: [], outcomes: [] }, areas: areaStates }
      })
    }
  })
