/**
 * Lenient models, declared once. A model is a table of fields, each a {@link Kind} (how a value is
 * read from a Plex payload, what type it has, how it is written back) and a mode:
 *
 * - `required`: the model cannot do without it; an absent or unreadable value fails the model;
 * - `optional`: an absent value stays absent; an unreadable one (a string where a list belongs) is
 *   dropped, counted in {@link Issues}, and the rest of the model decodes as usual;
 * - `withDefault`: like `optional`, but the field is always there (the fallback fills the gap).
 *
 * From the table come the `Schema.Class` fields (so `Schema.decodeUnknown(Model)`, `encode` and
 * `Arbitrary` work, with the same leniency) and a single-pass decoder that the request path uses:
 * plain checks, no per-field schema machinery, and the dropped fields reported by path (never by
 * value) so that bad data does not go unnoticed.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
import type * as Arbitrary from "effect/Arbitrary"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/** A value that cannot be read as the kind. */
export const Invalid: unique symbol = Symbol.for("effect-plex/model/Invalid") as any
/** No value: `undefined`, or what a kind reads as "none" (a null date). */
export const Absent: unique symbol = Symbol.for("effect-plex/model/Absent") as any

type Read<A> = A | typeof Invalid | typeof Absent

/**
 * What a decode dropped: how many values and where (paths only, at most 16). `failure` says why a
 * required field failed, for the error message.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export interface Issues {
  dropped: number
  readonly paths: Array<string>
  failure: string | undefined
}

export const makeIssues = (): Issues => ({ dropped: 0, paths: [], failure: undefined })

const child = (path: string, key: string | number): string =>
  typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`

const drop = (issues: Issues, path: string): void => {
  issues.dropped++
  if (issues.paths.length < 16) issues.paths.push(path)
}

/**
 * How one value is read, typed and written. `type` is the decoded side (with an arbitrary, for
 * property tests); `read` never throws.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export interface Kind<A> {
  readonly type: Schema.Schema<A>
  /** `path` is where the value sits, for what a nested kind drops; only nested kinds use it. */
  readonly read: (u: unknown, issues: Issues, path: string) => Read<A>
  readonly write: (a: A) => unknown
  /** Holds other values (a list, a struct): its reads need their own path. */
  readonly nested: boolean
}

const kind = <A>(
  type: Schema.Schema<A>,
  read: (u: unknown, issues: Issues, path: string) => Read<A>,
  write: (a: A) => unknown = (a) => a,
  nested = false
): Kind<A> => ({ type, read, write, nested })

/** A type check as a plain guard with its arbitrary; cheaper than unions of schemas. */
const guard = <A>(is: (u: unknown) => u is A, identifier: string, arbitrary: Arbitrary.LazyArbitrary<A>) =>
  Schema.declare(is, { identifier, arbitrary: () => arbitrary })

// --- primitive readers ----------------------------------------------------------------------

/** A flag from `true`/`false`, 0/1, "0"/"1", "true"/"false" (JSON and XML); `undefined` otherwise. */
export const flagFrom = (u: unknown): boolean | undefined => {
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

/** A finite number from a number or a numeric string; `undefined` otherwise. */
export const numberFrom = (u: unknown): number | undefined => {
  if (typeof u === "number") return Number.isFinite(u) ? u : undefined
  if (typeof u === "string" && u.trim() !== "") {
    const n = Number(u)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

const xmlUtc = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/

/** A date from epoch seconds (number or numeric string), ISO-8601, or "YYYY-MM-DD HH:MM:SS UTC". */
export const dateFrom = (u: unknown): DateTime.Utc | undefined => {
  const seconds = numberFrom(u)
  if (seconds !== undefined) return Option.getOrUndefined(DateTime.make(seconds * 1000))
  if (typeof u !== "string" || u === "") return undefined
  const xml = xmlUtc.exec(u)
  return Option.getOrUndefined(DateTime.make(xml ? `${xml[1]}T${xml[2]}Z` : u))
}

const orInvalid = <A>(value: A | undefined): Read<A> => value === undefined ? Invalid : value

// --- kinds ------------------------------------------------------------------------------------

const isString = (u: unknown): u is string => typeof u === "string"

export const text: Kind<string> = kind(Schema.String, (u) => typeof u === "string" ? u : Invalid)

/** `null` stays `null`. */
export const nullableText: Kind<string | null> = kind(
  guard(
    (u): u is string | null => u === null || isString(u),
    "NullableText",
    (fc) => fc.option(fc.string(), { nil: null })
  ),
  (u) => u === null || typeof u === "string" ? u : Invalid
)

export const flag: Kind<boolean> = kind(
  guard((u): u is boolean => typeof u === "boolean", "Flag", (fc) => fc.boolean()),
  (u) => orInvalid(flagFrom(u))
)

/** `null` and `""` (an empty XML attribute) are `null`. */
export const nullableFlag: Kind<boolean | null> = kind(
  guard(
    (u): u is boolean | null => u === null || typeof u === "boolean",
    "NullableFlag",
    (fc) => fc.option(fc.boolean(), { nil: null })
  ),
  (u) => u === null || u === "" ? null : orInvalid(flagFrom(u))
)

export const num: Kind<number> = kind(
  guard((u): u is number => typeof u === "number" && Number.isFinite(u), "Num", (fc) => fc.integer()),
  (u) => orInvalid(numberFrom(u))
)

/** `null` and `""` are `null`. */
export const nullableNum: Kind<number | null> = kind(
  guard(
    (u): u is number | null => u === null || (typeof u === "number" && Number.isFinite(u)),
    "NullableNum",
    (fc) => fc.option(fc.integer(), { nil: null })
  ),
  (u) => u === null || u === "" ? null : orInvalid(numberFrom(u))
)

/** An id as plex.tv sends it: a string, a number, or `null`. */
export const id: Kind<string | number | null> = kind(
  guard(
    (u): u is string | number | null => u === null || typeof u === "string" || typeof u === "number",
    "Id",
    (fc) => fc.oneof(fc.string(), fc.integer(), fc.constant(null))
  ),
  (u) => u === null || typeof u === "string" || (typeof u === "number" && Number.isFinite(u)) ? u : Invalid
)

/**
 * A date in any form Plex uses. `null` and `""` mean "no date" (absent, not an error); a value that
 * is not a date is dropped and counted.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const date: Kind<DateTime.Utc> = kind(
  Schema.DateTimeUtcFromSelf,
  (u) => u === null || u === "" ? Absent : orInvalid(dateFrom(u)),
  (d) => DateTime.toEpochMillis(d) / 1000
)

/** A token-like string, `Redacted` at once. */
export const secret: Kind<Redacted.Redacted<string>> = kind(
  Schema.RedactedFromSelf(Schema.String),
  (u) => typeof u === "string" ? Redacted.make(u) : Invalid,
  (r) => Redacted.value(r)
)

export const nullableSecret: Kind<Redacted.Redacted<string> | null> = kind(
  Schema.NullOr(Schema.RedactedFromSelf(Schema.String)),
  (u) => u === null ? null : typeof u === "string" ? Redacted.make(u) : Invalid,
  (r) => r === null ? null : Redacted.value(r)
)

/** Any JSON value, kept as it is. */
export const unknown: Kind<unknown> = kind(Schema.Unknown, (u) => u)

/**
 * A list. A single value stands for a list of one (XML and PMS JSON render single children either
 * way); an element that cannot be read is dropped and counted, and the rest are kept.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const list = <A>(item: Kind<A>): Kind<ReadonlyArray<A>> =>
  kind(
    Schema.Array(item.type),
    (u, issues, path) => {
      if (u === null || typeof u !== "object") return Invalid
      if (!Array.isArray(u)) {
        const one = item.read(u, issues, path)
        if (one === Invalid || one === Absent) {
          issues.failure = undefined
          return Invalid
        }
        return [one]
      }
      const out: Array<A> = []
      for (let i = 0; i < u.length; i++) {
        const value = item.read(u[i], issues, item.nested ? child(path, i) : path)
        if (value === Invalid || value === Absent) {
          issues.failure = undefined
          drop(issues, child(path, i))
        } else {
          out.push(value)
        }
      }
      return out
    },
    (a) => a.map(item.write),
    true
  )

/** `null`, or a value of `k`. */
export const nullable = <A>(k: Kind<A>): Kind<A | null> =>
  kind(
    Schema.NullOr(k.type),
    (u, issues, path) => u === null ? null : k.read(u, issues, path),
    (a) => a === null ? null : k.write(a),
    k.nested
  )

/** A list with at least one readable element. */
export const nonEmptyList = <A>(item: Kind<A>): Kind<readonly [A, ...Array<A>]> => {
  const inner = list(item)
  return kind(
    Schema.NonEmptyArray(item.type),
    (u, issues, path) => {
      const value = inner.read(u, issues, path)
      if (value === Invalid || value === Absent) return value
      return value.length === 0 ? Invalid : value as readonly [A, ...Array<A>]
    },
    inner.write as (a: readonly [A, ...Array<A>]) => unknown,
    true
  )
}

/** A list of strings, as `list(text)`. */
export const textList: Kind<ReadonlyArray<string>> = list(text)

/** One value, or the first of a non-empty list of them. */
export const oneOrFirst = <A>(item: Kind<A>): Kind<A> =>
  kind(
    item.type,
    (u, issues, path) => {
      if (!Array.isArray(u)) return item.read(u, issues, path)
      return u.length === 0 ? Invalid : item.read(u[0], issues, child(path, 0))
    },
    item.write,
    item.nested
  )

// --- fields and structs -----------------------------------------------------------------------

export interface Field<A, M extends "required" | "optional" | "default"> {
  readonly kind: Kind<A>
  readonly mode: M
  readonly fallback?: () => A
  /** The key on the wire, when it differs from the model's (`Connection` for `connections`). */
  readonly key?: string
}

/** The model cannot do without it. */
export const required = <A>(kind: Kind<A>, key?: string): Field<A, "required"> =>
  key === undefined ? { kind, mode: "required" } : { kind, mode: "required", key }

/** Absent when absent or unreadable (then counted). */
export const optional = <A>(kind: Kind<A>, key?: string): Field<A, "optional"> =>
  key === undefined ? { kind, mode: "optional" } : { kind, mode: "optional", key }

/** `fallback()` when absent or unreadable (then counted). */
export const withDefault = <A>(kind: Kind<A>, fallback: () => A, key?: string): Field<A, "default"> =>
  key === undefined ? { kind, mode: "default", fallback } : { kind, mode: "default", fallback, key }

export type Fields = Record<string, Field<any, "required" | "optional" | "default">>

/** The decoded type of a field table. */
export type Type<F extends Fields> =
  & {
    readonly [K in keyof F as F[K]["mode"] extends "optional" ? never : K]: F[K] extends Field<infer A, any> ? A : never
  }
  & {
    readonly [K in keyof F as F[K]["mode"] extends "optional" ? K : never]?: F[K] extends Field<infer A, any> ? A
      : never
  }

type Flatten<T> = { readonly [K in keyof T]: T[K] } & {}

/**
 * Reads a table of fields from an object into `target`, in one pass. `false` when a required field
 * is absent or unreadable (with `issues.failure` saying which).
 */
const readFields = (
  fields: Fields,
  keys: ReadonlyArray<string>,
  o: Record<string, unknown>,
  target: Record<string, unknown>,
  issues: Issues,
  path: string
): boolean => {
  for (let i = 0; i < keys.length; i++) {
    const name = keys[i]
    const field = fields[name]
    const raw = o[field.key ?? name]
    // Paths are built only for nested kinds: a string per field per decode is not free.
    let value: unknown = raw === undefined
      ? Absent
      : field.kind.read(raw, issues, field.kind.nested ? child(path, name) : path)
    if (value === Invalid || value === Absent) {
      if (field.mode === "required") {
        issues.failure = `${JSON.stringify(child(path, name))} ${
          value === Absent ? "is missing" : "has an unexpected type or value"
        }`
        return false
      }
      if (value === Invalid) {
        issues.failure = undefined
        drop(issues, child(path, name))
      }
      if (field.mode === "optional") continue
      value = field.fallback!()
    }
    target[name] = value
  }
  return true
}

/**
 * A struct of fields, as a kind (for nested objects). `check` is a rule across fields (a reason the
 * whole value cannot be right); a failing struct is `Invalid`.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const struct = <F extends Fields>(
  fields: F,
  check?: (value: Type<F>) => string | undefined
): Kind<Flatten<Type<F>>> => {
  const keys = Object.keys(fields)
  const typeFields: Record<string, Schema.Schema.All | Schema.PropertySignature.All> = {}
  for (const name of keys) {
    const field = fields[name]
    typeFields[name] = field.mode === "optional"
      ? Schema.optionalWith(field.kind.type, { exact: true })
      : field.kind.type
  }
  return kind<Flatten<Type<F>>>(
    Schema.Struct(typeFields) as any,
    (u, issues, path) => {
      if (u === null || typeof u !== "object" || Array.isArray(u)) return Invalid
      const out: Record<string, unknown> = {}
      if (!readFields(fields, keys, u as Record<string, unknown>, out, issues, path)) return Invalid
      const problem = check?.(out as Type<F>)
      if (problem !== undefined) {
        issues.failure = problem
        return Invalid
      }
      return out as Flatten<Type<F>>
    },
    (value) => writeFields(fields, keys, value as Record<string, unknown>),
    true
  )
}

const writeFields = (fields: Fields, keys: ReadonlyArray<string>, value: Record<string, unknown>) => {
  const out: Record<string, unknown> = {}
  for (const name of keys) {
    const v = value[name]
    if (v !== undefined) out[fields[name].key ?? name] = fields[name].kind.write(v)
  }
  return out
}

// --- Schema.Class fields ----------------------------------------------------------------------

/**
 * A kind as a schema from any input: decodes with the kind's leniency (what the kind drops inside
 * is dropped here too), fails where the kind cannot read the value, encodes to the wire form.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const schemaOf = <A>(k: Kind<A>): Schema.Schema<A, unknown> =>
  Schema.transformOrFail(Schema.Unknown, k.type, {
    strict: true,
    decode: (u, _, ast) => {
      const value = u === undefined ? Absent : k.read(u, makeIssues(), "")
      return value === Invalid || value === Absent
        ? ParseResult.fail(new ParseResult.Type(ast, u, "Expected a readable value"))
        : ParseResult.succeed(value)
    },
    encode: (a) => ParseResult.succeed(k.write(a))
  })

/** The `Schema.Class` field of a table entry. */
export type SchemaField<F> = F extends Field<infer A, infer M> ?
  M extends "optional" ? Schema.PropertySignature<"?:", A, PropertyKey, "?:", unknown, false, never>
  : M extends "default" ? Schema.PropertySignature<":", A, PropertyKey, "?:", unknown, false, never>
  : Schema.Schema<A, unknown>
  : never

/**
 * The table as `Schema.Class` fields: each decodes from any input with the table's leniency (an
 * optional field that cannot be read is left out, a default one falls back) and encodes back to
 * the wire form.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const schemaFields = <F extends Fields>(fields: F): { readonly [K in keyof F]: SchemaField<F[K]> } => {
  const out: Record<string, unknown> = {}
  for (const name of Object.keys(fields)) {
    const field = fields[name]
    const k = field.kind
    const read = (u: unknown): Option.Option<unknown> => {
      const value = k.read(u, makeIssues(), "")
      return value === Invalid || value === Absent ? Option.none() : Option.some(value)
    }
    let signature: Schema.Schema.All | Schema.PropertySignature.All
    switch (field.mode) {
      case "required":
        signature = schemaOf(k)
        if (field.key !== undefined) {
          signature = Schema.propertySignature(signature as Schema.Schema.Any).pipe(Schema.fromKey(field.key))
        }
        break
      case "optional":
        signature = Schema.optionalToOptional(Schema.Unknown, k.type, {
          decode: (o) => Option.flatMap(o, read),
          encode: (o) => Option.map(o, k.write)
        })
        if (field.key !== undefined) signature = (signature as any).pipe(Schema.fromKey(field.key))
        break
      case "default":
        signature = Schema.optionalToRequired(Schema.Unknown, k.type, {
          decode: (o) => Option.getOrElse(Option.flatMap(o, read), field.fallback!),
          encode: (a) => Option.some(k.write(a))
        })
        if (field.key !== undefined) signature = (signature as any).pipe(Schema.fromKey(field.key))
        break
    }
    out[name] = signature
  }
  return out as any
}

// --- decoders ---------------------------------------------------------------------------------

/**
 * A body decoder for the request path: the value, or `Invalid` with `issues.failure` set.
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export interface Decoder<A> {
  readonly _tag: "Decoder"
  readonly decode: (u: unknown, issues: Issues) => A | typeof Invalid
}

export const isDecoder = (u: unknown): u is Decoder<unknown> =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Decoder"

/**
 * A decoder reading the body as `k`; with `at`, the value under that key (`MediaContainer`).
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const decoder = <A>(k: Kind<A>, at?: string): Decoder<A> => ({
  _tag: "Decoder",
  decode: (body, issues) => {
    let u = body
    if (at !== undefined) {
      u = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[at] : undefined
      if (u === undefined) {
        issues.failure = `${JSON.stringify(at)} is missing`
        return Invalid
      }
    }
    const value = k.read(u, issues, at ?? "")
    if (value === Invalid || value === Absent) {
      issues.failure ??= "the body is not the expected shape"
      return Invalid
    }
    return value
  }
})

/**
 * A model class as a kind: the table read in one pass, then the class built without validating
 * again (the table's reads already did).
 *
 * Internal: not part of the public API (the package exports map refuses the path).
 */
export const classOf = <F extends Fields, C>(
  fields: F,
  make: (props: Type<F>) => C,
  check?: (value: Type<F>) => string | undefined
): Kind<C> => {
  const inner = struct(fields, check)
  return {
    type: inner.type as any,
    read: (u, issues, path): Read<C> => {
      const value = inner.read(u, issues, path)
      if (value === Invalid) return Invalid
      if (value === Absent) return Absent
      return make(value as unknown as Type<F>)
    },
    write: inner.write as any,
    nested: true
  }
}

/** The span attributes that report what a decode dropped; empty when nothing was. */
export const issueAttributes = (issues: Issues): Record<string, string | number> | undefined =>
  issues.dropped === 0
    ? undefined
    : { "plex.decode.dropped": issues.dropped, "plex.decode.dropped_fields": issues.paths.join(",") }

/**
 * A connection as plex.tv and a PMS describe one (`/security/resources` `Connection`, `/resources`
 * `connections[]`): what to call, and whether it is local or through Plex's relay. `relay` and
 * `local` default to `false` (legacy XML omits them).
 */
export const connectionFields = {
  protocol: required(text),
  address: required(text),
  port: required(num),
  uri: required(text),
  local: withDefault(flag, () => false),
  relay: withDefault(flag, () => false)
}
