/**
 * Generators and a scriptable in-process `HttpClient` shared by the property tests. Nothing here
 * opens a socket: every response is built in memory from a {@link ResponseSpec}.
 */
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import type { HttpClientRequest } from "@effect/platform"
import { Effect, FastCheck as fc, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { Authentication, PlexConfig, PlexPolicy, PlexToken } from "../../src/index.js"
import type { PlexError } from "../../src/index.js"

// --- fixtures -----------------------------------------------------------------------------------

const fixtureDir = new URL("../fixtures/", import.meta.url)

/** Every fixture body, by file name. */
export const fixtures: ReadonlyArray<{ readonly name: string; readonly text: string }> = readdirSync(fixtureDir)
  .filter((name) => /\.(json|xml|html)$/.test(name))
  .sort()
  .map((name) => ({ name, text: readFileSync(new URL(name, fixtureDir), "utf8") }))

/** The JSON fixtures, parsed. */
export const jsonFixtures: ReadonlyArray<unknown> = fixtures
  .filter((f) => f.name.endsWith(".json"))
  .map((f) => JSON.parse(f.text) as unknown)

/** The parsed body of one fixture file. */
export const fixtureJson = (name: string): unknown => {
  const found = fixtures.find((f) => f.name === name)
  if (found === undefined) throw new Error(`no fixture ${name}`)
  return JSON.parse(found.text) as unknown
}

// --- bodies -------------------------------------------------------------------------------------

interface Mutation {
  /** Child choices on the way down; the walk stops early at a leaf. */
  readonly path: ReadonlyArray<number>
  readonly op: "delete" | "retype" | "null" | "wrapInArray" | "unwrapArray" | "stringify"
  readonly replacement: unknown
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  op: fc.constantFrom("delete", "retype", "null", "wrapInArray", "unwrapArray", "stringify"),
  replacement: fc.jsonValue({ maxDepth: 2 })
})

const clone = (value: unknown): any => value === undefined ? undefined : JSON.parse(JSON.stringify(value))

const applyMutation = (root: unknown, m: Mutation): unknown => {
  const holder: { root: any } = { root: clone(root) }
  let parent: any = holder
  let key: string | number = "root"
  for (const choice of m.path) {
    const node = parent[key]
    if (node === null || typeof node !== "object") break
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)
    if (keys.length === 0) break
    parent = node
    key = keys[choice % keys.length]
  }
  const current = parent[key]
  switch (m.op) {
    case "delete":
      if (Array.isArray(parent)) parent.splice(key as number, 1)
      else if (parent === holder) holder.root = undefined
      else delete parent[key]
      break
    case "retype":
      parent[key] = m.replacement
      break
    case "null":
      parent[key] = null
      break
    case "wrapInArray":
      parent[key] = [current]
      break
    case "unwrapArray":
      parent[key] = Array.isArray(current) ? current[0] : current
      break
    case "stringify":
      parent[key] = JSON.stringify(current) ?? "undefined"
      break
  }
  return holder.root
}

/** A JSON fixture with 1–5 fields deleted, retyped, nulled, wrapped or unwrapped, as JSON text. */
export const mutatedFixtureJson: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...jsonFixtures), fc.array(mutation, { minLength: 1, maxLength: 5 }))
  .map(([fixture, mutations]) => JSON.stringify(mutations.reduce(applyMutation, fixture)) ?? "")

/** A prefix of a fixture: what a dropped connection or a lying `Content-Length` leaves. */
export const truncatedFixture: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...fixtures), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([f, at]) => f.text.slice(0, Math.floor(f.text.length * at)))

const xmlName = fc.constantFrom("MediaContainer", "user", "Device", "Connection", "errors", "error", "x", "a:b", "")
const xmlAttr = fc
  .tuple(fc.constantFrom("token", "id", "code", "message", "authToken", "port", "local", "=", "\""), fc.string())
  .map(([k, v]) => `${k}="${v}"`)

/** XML-looking text, well-formed or not: random tags, attributes, stray `<`, `&`, comments, CDATA. */
export const xmlish: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string(),
    fc.tuple(xmlName, fc.array(xmlAttr, { maxLength: 4 })).map(([n, attrs]) => `<${n} ${attrs.join(" ")}/>`),
    fc
      .tuple(xmlName, fc.array(xmlAttr, { maxLength: 3 }), fc.array(tie("node"), { maxLength: 3 }), xmlName)
      .map(([open, attrs, children, close]) => `<${open} ${attrs.join(" ")}>${children.join("")}</${close}>`),
    fc.constantFrom(
      "<?xml version=\"1.0\"?>",
      "<!-- c -->",
      "<![CDATA[x]]>",
      "<",
      "&amp;",
      "&#x41;",
      "<!DOCTYPE x>",
      "</>"
    )
  )
})).node

/** A large body: a repeated unit, from a few KB to past the 4 MiB default body cap. */
export const hugeBody: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom("x", "{\"a\":1,", "[", "<a>", " ", "\"token\":\"transient-"),
    fc.constantFrom(10_000, 70_000, 1_000_000, 4 * 1024 * 1024 + 1)
  )
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)))

/** Any response body. */
export const body: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.json(),
  fc.constantFrom(...fixtures.map((f) => f.text)),
  mutatedFixtureJson,
  mutatedFixtureJson,
  truncatedFixture,
  xmlish,
  fc.constantFrom("", " ", "null", "[]", "{}", "\"\"", "0", "{\"MediaContainer\":null}", "{\"errors\":{}}"),
  // Rare: a few of these per run are enough, and each costs milliseconds.
  { weight: 1, arbitrary: fc.boolean().chain((rare) => rare ? hugeBody : fc.string()) }
)

const headerChar = fc.constantFrom(
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&'()*+,-./:;<=>?@[]^_`{|}~\""
)
const headerText = fc.string({ unit: headerChar, maxLength: 40 })

/** `Content-Type` values: the expected ones, wrong ones, none, and garbage. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/xml",
    "text/xml;charset=utf-8",
    "text/html",
    "text/plain",
    "application/octet-stream",
    undefined
  ),
  headerText
)

// --- responses ----------------------------------------------------------------------------------

/** What the scripted transport does for one request. */
export type ResponseSpec =
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly contentType: string | undefined
    readonly body: string
    /** `Content-Length` to send: the true length, a lie, garbage, or none. */
    readonly contentLength: "none" | "true" | "smaller" | "larger" | "huge" | "garbage"
    readonly retryAfter: string | undefined
    readonly location: string | undefined
    /** The body stream fails after its first half. */
    readonly breakBody: boolean
  }
  | { readonly _tag: "TransportError"; readonly message: string }

/** Statuses 100–599, weighted towards the ones Plex sends. */
export const status: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 100, max: 599 }),
  fc.constantFrom(200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 408, 429, 500, 502, 503)
)

export const responseSpec: fc.Arbitrary<ResponseSpec> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      _tag: fc.constant("Respond" as const),
      status,
      contentType,
      body,
      contentLength: fc.constantFrom(...(["none", "true", "true", "smaller", "larger", "huge", "garbage"] as const)),
      retryAfter: fc.option(
        fc.oneof(
          fc.nat({ max: 100_000 }).map(String),
          fc.constantFrom("Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", "-1", "1e309"),
          headerText
        ),
        { nil: undefined }
      ),
      location: fc.option(
        fc.oneof(
          fc.constantFrom("/user", "/api/v2/user", "http://127.0.0.2:1/elsewhere", "//127.0.0.3/x", "http://[::1", ""),
          headerText
        ),
        { nil: undefined }
      ),
      breakBody: fc.boolean()
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("TransportError" as const), message: fc.string() }) }
)

const encoder = new TextEncoder()

const contentLengthOf = (spec: Extract<ResponseSpec, { _tag: "Respond" }>, bytes: number): string | undefined => {
  switch (spec.contentLength) {
    case "none":
      return undefined
    case "true":
      return String(bytes)
    case "smaller":
      return String(Math.max(0, bytes - 1 - (bytes >> 1)))
    case "larger":
      return String(bytes + 17)
    case "huge":
      return "99999999999"
    case "garbage":
      return "12abc"
  }
}

/**
 * A web `Response` with any status, even those `new Response` refuses (1xx) or gives no body (204,
 * 304): the body is built as a 200 and the status is overridden on the instance.
 */
export const webResponse = (options: {
  readonly status: number
  readonly body: string
  readonly headers: Record<string, string | undefined>
  /** Make the body stream fail after its first half, with this error. */
  readonly breakWith?: Error | undefined
}): Response => {
  const bytes = encoder.encode(options.body)
  const headers = new Headers()
  for (const [name, value] of Object.entries(options.headers)) {
    if (value !== undefined) headers.set(name, value)
  }
  const breakWith = options.breakWith
  const source = breakWith === undefined
    ? bytes
    : new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, bytes.length >> 1))
        controller.error(breakWith)
      }
    })
  const response = new Response(source, { status: 200, headers })
  Object.defineProperty(response, "status", { value: options.status })
  Object.defineProperty(response, "ok", { value: options.status >= 200 && options.status < 300 })
  return response
}

/** Answers one request as `spec` says. */
export const answer = (
  request: HttpClientRequest.HttpClientRequest,
  spec: ResponseSpec
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  if (spec._tag === "TransportError") {
    return Effect.fail(
      new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(spec.message) })
    )
  }
  const bytes = encoder.encode(spec.body).length
  return Effect.succeed(HttpClientResponse.fromWeb(
    request,
    webResponse({
      status: spec.status,
      body: spec.body,
      headers: {
        "content-type": spec.contentType,
        "content-length": contentLengthOf(spec, bytes),
        "retry-after": spec.retryAfter,
        location: spec.location
      },
      breakWith: spec.breakBody ? new Error("socket hang up") : undefined
    })
  ))
}

/** An `HttpClient` that answers every request from `spec`. */
export const specClient = (spec: ResponseSpec): HttpClient.HttpClient =>
  HttpClient.make((request) => answer(request, spec))

// --- the SDK under test -------------------------------------------------------------------------

/** Loopback-looking base URLs; the transport is in-process, so nothing is ever dialled. */
export const serverUrl = "http://127.0.0.1:32400"
export const plexTvUrl = "http://127.0.0.1:32401/api/v2"

/** `Authentication` over the given client, with retries off so every run is one request. */
export const authenticationLayer = (
  client: HttpClient.HttpClient,
  token: string,
  policy: PlexPolicy.Options = {}
): Layer.Layer<Authentication.Authentication> =>
  Authentication.layer.pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
    Layer.provide(
      PlexConfig.layer({ clientIdentifier: "property-tests", product: "effect-plex", serverUrl, plexTvUrl })
    ),
    Layer.provide(PlexToken.layer(token)),
    // Provided to the SDK's layer: the default of its operations.
    Layer.provide(PlexPolicy.layer({ maxAttempts: 1, ...policy })),
    Layer.orDie
  )

/** What a {@link Harness}'s transport and token store do on the next call; tests swap these per run. */
export interface Script {
  respond: (
    request: HttpClientRequest.HttpClientRequest,
    signal: AbortSignal
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
  token: string
}

/**
 * One `Authentication` runtime reused across property runs (building the layer per run costs more
 * than the call under test). Each run sets `script` first; runs are sequential, so they never race.
 */
export const harness = (policy: PlexPolicy.Options = {}) => {
  const script: Script = {
    respond: (request) => answer(request, { _tag: "TransportError", message: "unset" }),
    token: ""
  }
  const client = HttpClient.make((request, _url, signal) => Effect.suspend(() => script.respond(request, signal)))
  const runtime = ManagedRuntime.make(
    Authentication.layer.pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
      Layer.provide(
        PlexConfig.layer({ clientIdentifier: "property-tests", product: "effect-plex", serverUrl, plexTvUrl })
      ),
      Layer.provide(Layer.succeed(PlexToken.PlexToken, {
        get: Effect.sync(() => Option.some(Redacted.make(script.token)))
      })),
      Layer.merge(PlexPolicy.layer({ maxAttempts: 1, ...policy }))
    )
  )
  return { script, runtime }
}

/** The four operations, each with valid input. */
export const operations = {
  getTransientToken: () => Authentication.getTransientToken(),
  getSourceConnectionInformation: () =>
    Authentication.getSourceConnectionInformation({ source: "server://243b471948ace337a8f92f129ec97d1902fcb1df" }),
  getTokenDetails: () => Authentication.getTokenDetails(),
  postUsersSignInData: () => Authentication.postUsersSignInData({ login: "someone@example.com", password: "hunter22" })
} satisfies Record<string, () => Effect.Effect<unknown, PlexError.PlexError, Authentication.Authentication>>

export type OperationName = keyof typeof operations

export const operationNames = Object.keys(operations) as ReadonlyArray<OperationName>

// --- secrets ------------------------------------------------------------------------------------

/**
 * A secret that cannot collide with anything the SDK writes: `SECRET` and 8–34 characters of
 * [A-Z0-9]. Fillers around echoed secrets use other characters, so any 8-character window of a
 * secret found in the output is a leak, whole or partial.
 */
export const secret: fc.Arbitrary<string> = fc
  .string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), minLength: 8, maxLength: 34 })
  .map((tail) => `SECRET${tail}`)

/** Filler text that shares no character with {@link secret}'s alphabet. */
export const filler = (length: number): string =>
  "lorem ipsum dolor sit amet, ".repeat(Math.ceil(length / 28)).slice(0, length)

/**
 * Where a secret shows in `haystack`: `"whole"`, `"partial"` (an 8-character window of it, e.g. the
 * prefix left by a truncation), or `undefined`.
 */
export const findSecret = (haystack: string, value: string): "whole" | "partial" | undefined => {
  if (haystack.includes(value)) return "whole"
  for (let i = 0; i + 8 <= value.length; i++) {
    if (haystack.includes(value.slice(i, i + 8))) return "partial"
  }
  return undefined
}
