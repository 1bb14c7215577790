/**
 * The lenient-model rule (Models): a user fails only when a field it cannot do without (id, uuid,
 * authToken, a name) is absent or unreadable. Any other field set to a value of the wrong type is
 * dropped — absent, or its default — with every other field intact, and the drop is counted on the
 * operation's span by path (never by value). Checked for every non-essential field of a real
 * account, one at a time and in random groups, through the request path; and the model's own
 * schema (`Schema.decodeUnknown(PlexUser)`) agrees with the request path's single-pass decoder.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Redacted, Schema } from "effect"
import { Models } from "../../src/index.js"
import { type CapturedSpan, withCapturedSpans } from "../support/spans.js"
import { fixtureJson, reply, setup } from "../unit/helpers.js"

const FIXTURE = "get-token-details.200.plex-api-rs-plexpass.json"
const base: Record<string, unknown> = fixtureJson(FIXTURE)
const essential = new Set(["id", "uuid", "authToken"])
const withDefault: Record<string, unknown> = { username: "", title: "", email: "" }

/** A value of the wrong type for whatever was there: an object for a scalar, a string for a list or object. */
const junkFor = (original: unknown): unknown =>
  original !== null && typeof original === "object" ? "[]" : { unexpected: ["x"] }

type Path = ReadonlyArray<string | number>

const show = (path: Path) =>
  path.map((key, i) => typeof key === "number" ? `[${key}]` : i === 0 ? key : `.${key}`).join("")

const get = (value: unknown, path: Path): unknown =>
  path.reduce<unknown>((at, key) => (at as Record<string | number, unknown>)?.[key], value)

/** A deep copy of `value` with `path` set to `to` (or removed when `to` is `undefined`). */
const set = (value: unknown, path: Path, to: unknown): any => {
  const copy = structuredClone(value) as any
  let at = copy
  for (const key of path.slice(0, -1)) at = at[key]
  const last = path[path.length - 1]
  if (to === undefined) delete at[last]
  else at[last] = to
  return copy
}

const topLevel: Array<Path> = Object.keys(base).filter((key) => !essential.has(key)).map((key) => [key])
const nested: Array<Path> = [
  ["subscription", "active"],
  ["subscription", "subscribedAt"],
  ["subscription", "features"],
  ["profile", "autoSelectAudio"],
  ["profile", "defaultAudioLanguage"],
  ["services", 0, "token"],
  ["services", 0, "status"],
  ["pastSubscriptions", 0, "canceled"],
  ["pastSubscriptions", 0, "endsAt"]
].filter((path) => get(base, path) !== undefined)

const encode = Schema.encodeSync(Models.PlexUser)

/** Decodes `body` through getTokenDetails, returning the user and the operation's span. */
const decode = (body: unknown) =>
  Effect.gen(function*() {
    const spans: Array<CapturedSpan> = []
    const { auth } = yield* setup(reply.json(200, body))
    const user = yield* withCapturedSpans(auth.getTokenDetails(), spans)
    const span = spans.find((s) => s.name === "Authentication.getTokenDetails")
    assert.isDefined(span)
    return { user, span: span! }
  })

/** What the decoded user looks like on the wire, for field-by-field comparison. */
const wire = (user: Models.PlexUser): Record<string, unknown> => JSON.parse(JSON.stringify(encode(user)))

describe("a non-essential field of the wrong type is dropped, never fatal", () => {
  it.effect(`the fixture itself decodes with nothing dropped (${FIXTURE})`, () =>
    Effect.gen(function*() {
      const { span } = yield* decode(base)
      assert.isFalse(span.attributes.has("plex.decode.dropped"))
    }))

  for (const path of [...topLevel, ...nested]) {
    it.effect(`${show(path)}: dropped and counted, the rest intact`, () =>
      Effect.gen(function*() {
        const baseline = wire((yield* decode(base)).user)
        const junk = junkFor(get(base, path))
        const { span, user } = yield* decode(set(base, path, junk))
        assert.strictEqual(span.attributes.get("plex.decode.dropped"), 1)
        assert.strictEqual(span.attributes.get("plex.decode.dropped_fields"), show(path))
        assert.notInclude(String(span.attributes.get("plex.decode.dropped_fields")), "unexpected")
        const fallback = path.length === 1 ? withDefault[path[0] as string] : undefined
        const expected = set(baseline, path, fallback)
        assert.deepStrictEqual(wire(user), expected)
        assert.strictEqual(Redacted.value(user.authToken), base.authToken)
      }))
  }

  it.effect("any group of them at once: each dropped and counted, the rest intact", () =>
    Effect.gen(function*() {
      const baseline = wire((yield* decode(base)).user)
      const groups = fc.sample(fc.subarray([...topLevel, ...nested], { minLength: 1 }), { numRuns: 25, seed: 42 })
      for (const group of groups) {
        // A nested path under a top-level one in the group would be hidden by it.
        const paths = group.filter((p) => p.length === 1 || !group.some((q) => q.length === 1 && q[0] === p[0]))
        let body: unknown = base
        let expected: unknown = baseline
        for (const path of paths) {
          body = set(body, path, junkFor(get(base, path)))
          expected = set(expected, path, path.length === 1 ? withDefault[path[0] as string] : undefined)
        }
        // Both names dropped would leave the user with none: that one is essential.
        if (paths.some((p) => p[0] === "username") && paths.some((p) => p[0] === "title")) continue
        const { span, user } = yield* decode(body)
        assert.strictEqual(span.attributes.get("plex.decode.dropped"), paths.length, paths.map(show).join(","))
        assert.deepStrictEqual(wire(user), expected)
      }
    }))

  it.effect("the essential fields still fail the user, with a Decode error that names them", () =>
    Effect.gen(function*() {
      for (const key of ["id", "uuid", "authToken"]) {
        const { auth } = yield* setup(reply.json(200, set(base, [key], junkFor(base[key]))))
        const error = yield* Effect.flip(auth.getTokenDetails())
        assert.strictEqual(error._tag, "PlexSdkError")
        assert.include(error.message, JSON.stringify(key))
      }
      const { auth } = yield* setup(reply.json(200, set(set(base, ["username"], 1), ["title"], 2)))
      assert.include((yield* Effect.flip(auth.getTokenDetails())).message, "name")
    }))
})

describe("the model's schema and the request path agree", () => {
  it.effect("on the fixture and on every single-field mutation", () =>
    Effect.gen(function*() {
      for (const path of [[] as Path, ...topLevel, ...nested]) {
        const body = path.length === 0 ? base : set(base, path, junkFor(get(base, path)))
        const viaSchema = Schema.decodeUnknownSync(Models.PlexUser)(body)
        const { user } = yield* decode(body)
        assert.deepStrictEqual(wire(viaSchema), wire(user), show(path))
      }
    }))
})
