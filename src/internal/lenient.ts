/**
 * Lenient primitives for Plex payloads. Real bodies differ from the spec (reference.md §0, §4):
 * flags come as booleans, 0/1 or "0"/"1" (XML); numbers as numbers or numeric strings; dates as epoch
 * seconds, numeric strings, ISO strings or "YYYY-MM-DD HH:MM:SS UTC"; single children as an object or
 * a one-element array. These schemas accept every form and decode to one type.
 *
 * @internal
 */
import type * as Arbitrary from "effect/Arbitrary"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

const flagFrom = (u: unknown): boolean | undefined => {
  switch (u) {
    case true:
    case 1:
    case "1":
    case "true":
      return true
    case false:
    case 0:
    case "0":
    case "false":
      return false
    default:
      return undefined
  }
}

/** A finite number from a number or a numeric string; `undefined` otherwise. @internal */
export const numberFrom = (u: unknown): number | undefined => {
  if (typeof u === "number") return Number.isFinite(u) ? u : undefined
  if (typeof u === "string" && u.trim() !== "") {
    const n = Number(u)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

/**
 * A type check as a plain guard. `Schema.NullOr(…)` and friends are unions, and union parsing was the
 * largest share of decoding a user object; these checks say the same thing for a fraction of it.
 */
const guard = <A>(
  is: (u: unknown) => u is A,
  identifier: string,
  arbitrary: Arbitrary.LazyArbitrary<A>
): Schema.Schema<A> => Schema.declare(is, { identifier, arbitrary: () => arbitrary })

const isBoolean = (u: unknown): u is boolean => typeof u === "boolean"
const isNumber = (u: unknown): u is number => typeof u === "number"

/** A schema from any input to `to`, accepting what `read` understands; `write` encodes back. */
const lenient = <A>(
  to: Schema.Schema<A>,
  read: (u: unknown) => A | undefined,
  expected: string,
  write: (a: A) => unknown = (a) => a
) =>
  Schema.transformOrFail(Schema.Unknown, to, {
    strict: true,
    decode: (u, _, ast) => {
      const value = read(u)
      return value === undefined ? ParseResult.fail(new ParseResult.Type(ast, u, expected)) : ParseResult.succeed(value)
    },
    encode: (a) => ParseResult.succeed(write(a))
  })

/** `read`, plus `null` and `""` (an empty XML attribute) as `null`. */
const orNull = <A>(read: (u: unknown) => A | undefined) => (u: unknown): A | null | undefined =>
  u === null || u === "" ? null : read(u)

/** @internal */
export const Flag: Schema.Schema<boolean, unknown> = lenient(
  guard(isBoolean, "Flag", (fc) => fc.boolean()),
  flagFrom,
  "Expected a flag"
)

/** @internal */
export const NullableFlag: Schema.Schema<boolean | null, unknown> = lenient(
  guard(
    (u): u is boolean | null => u === null || isBoolean(u),
    "NullableFlag",
    (fc) => fc.option(fc.boolean(), { nil: null })
  ),
  orNull(flagFrom),
  "Expected a flag or null"
)

/** @internal */
export const Num: Schema.Schema<number, unknown> = lenient(
  guard(isNumber, "Num", (fc) => fc.integer()),
  numberFrom,
  "Expected a number"
)

/** @internal */
export const NullableNum: Schema.Schema<number | null, unknown> = lenient(
  guard(
    (u): u is number | null => u === null || isNumber(u),
    "NullableNum",
    (fc) => fc.option(fc.integer(), { nil: null })
  ),
  orNull(numberFrom),
  "Expected a number or null"
)

/** @internal */
export const NullableText: Schema.Schema<string | null> = guard(
  (u): u is string | null => u === null || typeof u === "string",
  "NullableText",
  (fc) => fc.option(fc.string(), { nil: null })
)

/** @internal */
export const Id: Schema.Schema<string | number | null> = guard(
  (u): u is string | number | null => u === null || typeof u === "string" || typeof u === "number",
  "Id",
  (fc) => fc.oneof(fc.string(), fc.integer(), fc.constant(null))
)

const xmlUtc = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/

const dateFrom = (u: unknown): DateTime.Utc | undefined => {
  const seconds = numberFrom(u)
  if (seconds !== undefined) return Option.getOrUndefined(DateTime.make(seconds * 1000))
  if (typeof u !== "string" || u === "") return undefined
  const xml = xmlUtc.exec(u)
  return Option.getOrUndefined(DateTime.make(xml ? `${xml[1]}T${xml[2]}Z` : u))
}

/**
 * A date in any form Plex uses. A value that is null, empty or not a date decodes to `undefined`
 * rather than failing the whole object: these dates are informational, and one odd format must not
 * make a sign-in fail.
 *
 * @internal
 */
export const PlexDate: Schema.Schema<DateTime.Utc | undefined, unknown> = Schema.transform(
  Schema.Unknown,
  Schema.UndefinedOr(Schema.DateTimeUtcFromSelf),
  { strict: true, decode: dateFrom, encode: (d) => d === undefined ? undefined : DateTime.toEpochMillis(d) / 1000 }
)

/**
 * One value, or the first of a non-empty array of them (PMS JSON renders single children either way).
 *
 * @internal
 */
export const OneOrFirst = <A, I>(schema: Schema.Schema<A, I>): Schema.Schema<A, I | ReadonlyArray<I>> =>
  Schema.transform(Schema.Union(schema, Schema.NonEmptyArray(schema)), Schema.typeSchema(schema), {
    strict: false,
    decode: (value) => Array.isArray(value) ? value[0] : value,
    encode: (value) => value
  }) as any

/**
 * One value or an array of them, as an array (absent XML children, single JSON objects).
 *
 * @internal
 */
export const OneOrMany = <A, I>(schema: Schema.Schema<A, I>): Schema.Schema<ReadonlyArray<A>, I | ReadonlyArray<I>> =>
  Schema.transform(Schema.Union(Schema.Array(schema), schema), Schema.Array(Schema.typeSchema(schema)), {
    strict: false,
    decode: (value) => Array.isArray(value) ? value : [value],
    encode: (value) => value
  }) as any

/** @internal */
export const Secret = Schema.Redacted(Schema.String)

/** @internal */
export const NullableSecret: Schema.Schema<Redacted.Redacted<string> | null, unknown> = lenient(
  guard(
    (u): u is Redacted.Redacted<string> | null => u === null || Redacted.isRedacted(u),
    "NullableSecret",
    (fc) => fc.option(fc.string().map((s) => Redacted.make(s)), { nil: null })
  ),
  (u) => u === null ? null : typeof u === "string" ? Redacted.make(u) : undefined,
  "Expected a string or null",
  (secret) => secret === null ? null : Redacted.value(secret)
)

/**
 * A secret as given by a caller, `Redacted` at once: public APIs accept plain strings for
 * convenience and never keep them unwrapped.
 *
 * @internal
 */
export const redacted = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)
