/**
 * Profiles: one entry per profile in the credentials `KeyValueStore` (`PlexJwt.layerFileStore`: a
 * `0700` directory, `0600` files, atomic writes). An entry holds either a legacy token with the
 * client identifier it was issued to, or the `PlexJwt.Credentials` of a device key, stored with
 * `PlexJwt.saveCredentials` so that `PlexToken.layerJwt` reads and refreshes it under the same key.
 * Profiles of the embedded fake (`--fake`) live under keys of their own, so a demo never replaces
 * real credentials.
 *
 * @since 0.2.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { PlexJwt } from "../index.js"
import { CliError, ExitCode } from "./errors.js"

/**
 * What a profile holds.
 *
 * @since 0.2.0
 * @category models
 */
export type Entry =
  | {
    readonly _tag: "Token"
    readonly clientIdentifier: string
    readonly token: Redacted.Redacted<string>
  }
  | { readonly _tag: "Jwt"; readonly clientIdentifier: string; readonly credentials: PlexJwt.Credentials }

// The file of a legacy-token profile. `kind` tells it apart from a JWT profile's `Credentials`.
const TokenFile = Schema.Struct({
  kind: Schema.Literal("token"),
  clientIdentifier: Schema.String,
  token: Schema.Redacted(Schema.String)
})

const EntryFile = Schema.Union(TokenFile, PlexJwt.Credentials)

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

/**
 * The store key of a profile (`profile.<name>`, or `fake.<name>` for the embedded fake), after
 * checking the name: letters, digits, `-` and `_`, at most 64.
 *
 * @since 0.2.0
 * @category utils
 */
export const keyOf = (name: string, fake: boolean): Effect.Effect<string, CliError> =>
  NAME.test(name)
    ? Effect.succeed(`${fake ? "fake" : "profile"}.${name}`)
    : Effect.fail(
      new CliError({
        code: ExitCode.Usage,
        message: `Invalid profile name ${JSON.stringify(name)}: use letters, digits, - and _ (at most 64).`
      })
    )

const unreadable = (key: string) =>
  new CliError({
    code: ExitCode.Failure,
    message: `The stored profile ${JSON.stringify(key)} cannot be read.`,
    hint: "Sign in again to replace it: plex-auth login."
  })

/**
 * The entry under `key`, if any. An entry that does not decode fails with a `CliError` that names
 * the key, never the content.
 *
 * @since 0.2.0
 * @category storage
 */
export const load = (store: KeyValueStore.KeyValueStore, key: string): Effect.Effect<Option.Option<Entry>, CliError> =>
  store.forSchema(EntryFile).get(key).pipe(
    Effect.mapError(() => unreadable(key)),
    Effect.map(Option.map((file): Entry =>
      file instanceof PlexJwt.Credentials
        ? { _tag: "Jwt", clientIdentifier: file.clientIdentifier, credentials: file }
        : { _tag: "Token", clientIdentifier: file.clientIdentifier, token: file.token }
    ))
  )

const writeFailed = (key: string) =>
  new CliError({ code: ExitCode.Failure, message: `The profile ${JSON.stringify(key)} cannot be written.` })

/**
 * Stores a legacy token for the profile, replacing whatever it held.
 *
 * @since 0.2.0
 * @category storage
 */
export const saveToken = (
  store: KeyValueStore.KeyValueStore,
  key: string,
  clientIdentifier: string,
  token: Redacted.Redacted<string>
): Effect.Effect<void, CliError> =>
  store.forSchema(TokenFile).set(key, { kind: "token", clientIdentifier, token }).pipe(
    Effect.mapError(() => writeFailed(key))
  )

/**
 * Stores JWT credentials for the profile, replacing whatever it held.
 *
 * @since 0.2.0
 * @category storage
 */
export const saveJwt = (
  store: KeyValueStore.KeyValueStore,
  key: string,
  credentials: PlexJwt.Credentials
): Effect.Effect<void, CliError> =>
  PlexJwt.saveCredentials(key, credentials).pipe(
    Effect.provideService(KeyValueStore.KeyValueStore, store),
    Effect.mapError(() => writeFailed(key))
  )

/**
 * Forgets the profile.
 *
 * @since 0.2.0
 * @category storage
 */
export const remove = (store: KeyValueStore.KeyValueStore, key: string): Effect.Effect<void, CliError> =>
  Effect.mapError(store.remove(key), () => writeFailed(key))
