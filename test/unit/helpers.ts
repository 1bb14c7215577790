/**
 * Unit-test support: a recording `HttpClient` built with `HttpClient.make` that never opens a
 * socket, answers each request with a scripted reply, and keeps what it was sent (method, full URL,
 * lower-cased headers, body text). Plus fixture loading and an `Authentication` wired to it.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import * as Authentication from "../../src/Authentication.js"
import { untilAborted } from "../../src/internal/abort.js"
import * as PlexConfig from "../../src/PlexConfig.js"
import * as PlexToken from "../../src/PlexToken.js"

// --- recorded requests ------------------------------------------------------------------------

/** What the test client was sent. */
export interface RecordedRequest {
  readonly method: string
  /** The full URL, query included, as the transport would have used it. */
  readonly url: string
  /** Header names are lower-cased (the platform stores them so). */
  readonly headers: Readonly<Record<string, string>>
  /** The body as text; `""` for no body. */
  readonly body: string
}

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

const bodyText = (request: HttpClientRequest.HttpClientRequest): string => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return ""
    case "Uint8Array":
      return textDecoder.decode(body.body)
    case "Raw":
      return String(body.body)
    default:
      return `<${body._tag} body>`
  }
}

// --- scripted replies -------------------------------------------------------------------------

/** One scripted answer. */
export type Reply =
  | {
    readonly _tag: "Response"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    /** A fixed body, or chunks streamed without `Content-Length`. */
    readonly body: Uint8Array | { readonly chunks: ReadonlyArray<Uint8Array> }
  }
  | { readonly _tag: "TransportError"; readonly message: string }
  | { readonly _tag: "Never" }

/**
 * A script: one reply for every request; a list consumed in order whose last reply repeats; or a
 * function of the request and its 0-based index.
 */
export type Script = Reply | ReadonlyArray<Reply> | ((request: RecordedRequest, index: number) => Reply)

const contentTypeOf = (name: string): string =>
  name.endsWith(".json")
    ? "application/json"
    : name.endsWith(".xml")
    ? "application/xml"
    : name.endsWith(".html")
    ? "text/html"
    : "text/plain"

const fixturesDir = new URL("../fixtures/", import.meta.url)

/** The text of `test/fixtures/<name>`. */
export const fixture = (name: string): string => readFileSync(new URL(name, fixturesDir), "utf8")

/** `test/fixtures/<name>` parsed as JSON. */
export const fixtureJson = (name: string): any => JSON.parse(fixture(name))

const fixed = (
  status: number,
  body: string,
  headers: Readonly<Record<string, string>>,
  contentLength: boolean
): Reply => {
  const bytes = textEncoder.encode(body)
  return {
    _tag: "Response",
    status,
    // Real servers send Content-Length for fixed bodies; `chunked` replies leave it out.
    headers: contentLength ? { "content-length": String(bytes.length), ...headers } : headers,
    body: bytes
  }
}

/** Builders of {@link Reply}. Header names must be lower-case. */
export const reply = {
  /** A JSON body (a value is serialized, a string is sent as is) with `content-type: application/json`. */
  json: (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply =>
    fixed(
      status,
      typeof body === "string" ? body : JSON.stringify(body),
      { "content-type": "application/json", ...headers },
      true
    ),
  /** A body sent as given, with only the headers given (plus `content-length`). */
  text: (
    status: number,
    body: string,
    headers: Readonly<Record<string, string>> = {},
    options: { readonly chunked?: boolean } = {}
  ): Reply => fixed(status, body, headers, options.chunked !== true),
  /** A fixture file; its content type follows the extension (`.json`, `.xml`, `.html`). */
  fixture: (status: number, name: string, headers: Readonly<Record<string, string>> = {}): Reply =>
    fixed(status, fixture(name), { "content-type": contentTypeOf(name), ...headers }, true),
  /** A body streamed in chunks, with no `Content-Length`. */
  chunked: (status: number, chunks: ReadonlyArray<string>, headers: Readonly<Record<string, string>> = {}): Reply => ({
    _tag: "Response",
    status,
    headers,
    body: { chunks: chunks.map((chunk) => textEncoder.encode(chunk)) }
  }),
  /** A status with an empty body. */
  status: (status: number, headers: Readonly<Record<string, string>> = {}): Reply => fixed(status, "", headers, true),
  /** The transport fails (`RequestError` with reason `Transport`), as for a refused connection. */
  transportError: (message = "connect ECONNREFUSED 127.0.0.1:32400"): Reply => ({ _tag: "TransportError", message }),
  /** The server never answers. */
  never: { _tag: "Never" } as Reply
}

const toResponse = (
  request: HttpClientRequest.HttpClientRequest,
  answer: Extract<Reply, { _tag: "Response" }>
): HttpClientResponse.HttpClientResponse => {
  const body = answer.body
  const source = body instanceof Uint8Array
    ? body.length === 0 || answer.status === 204 || answer.status === 304 ? null : body
    : new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of body.chunks) controller.enqueue(chunk)
        controller.close()
      }
    })
  return HttpClientResponse.fromWeb(
    request,
    new Response(source, { status: answer.status, headers: { ...answer.headers } })
  )
}

// --- the client -------------------------------------------------------------------------------

/** A recording client; `requests` is live (it grows as requests are sent). */
export interface TestClient {
  readonly client: HttpClient.HttpClient
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Replaces the script and restarts its sequence (recorded requests are kept). */
  readonly setScript: (script: Script) => void
  /** The last request sent; fails the test when there is none. */
  readonly last: () => RecordedRequest
}

/** A recording client answering with `script` (by default an empty JSON object with 200). */
export const makeTestClient = (script: Script = reply.json(200, {})): TestClient => {
  const requests: Array<RecordedRequest> = []
  let current: Script = script
  let offset = 0
  const next = (recorded: RecordedRequest): Reply => {
    const index = requests.length - 1 - offset
    if (typeof current === "function") return current(recorded, index)
    if (Array.isArray(current)) {
      const list = current as ReadonlyArray<Reply>
      assert.isAbove(list.length, 0, "test client: empty script")
      return list[Math.min(index, list.length - 1)]
    }
    return current as Reply
  }
  const client = HttpClient.make((request, url, signal) =>
    Effect.suspend(() => {
      const recorded: RecordedRequest = {
        method: request.method,
        url: url.toString(),
        headers: { ...request.headers },
        body: bodyText(request)
      }
      requests.push(recorded)
      const answer = next(recorded)
      switch (answer._tag) {
        case "Never":
          return untilAborted(request, signal)
        case "TransportError":
          return Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(answer.message) })
          )
        case "Response":
          return Effect.succeed(toResponse(request, answer))
      }
    })
  )
  return {
    client,
    layer: Layer.succeed(HttpClient.HttpClient, client),
    requests,
    setScript: (script) => {
      current = script
      offset = requests.length
    },
    last: () => {
      assert.isAbove(requests.length, 0, "test client: no request was sent")
      return requests[requests.length - 1]
    }
  }
}

// --- Authentication over the test client --------------------------------------------------------

/** The token the default setup sends. */
export const TOKEN = "tok-unit-Zq9xW3"

/** The PMS base URL of the default setup (never contacted: the test client answers). */
export const SERVER_URL = "http://127.0.0.1:32400"

/** The default identity: only the required client identifier and a server URL. */
export const baseConfig: PlexConfig.Options = { clientIdentifier: "unit-test-client", serverUrl: SERVER_URL }

export interface SetupOptions {
  /** Replaces {@link baseConfig} entirely. */
  readonly config?: PlexConfig.Options
  /** The token source: a token, `null` for `PlexToken.none`, or a layer. Default {@link TOKEN}. */
  readonly token?: string | Redacted.Redacted<string> | null | Layer.Layer<PlexToken.PlexToken>
}

const tokenLayer = (token: SetupOptions["token"]): Layer.Layer<PlexToken.PlexToken> =>
  token === undefined
    ? PlexToken.layer(TOKEN)
    : token === null
    ? PlexToken.none
    : Layer.isLayer(token)
    ? token as Layer.Layer<PlexToken.PlexToken>
    : PlexToken.layer(token as string | Redacted.Redacted<string>)

/** `Authentication.layer` over `client`, a `PlexConfig` and a `PlexToken`. */
export const authLayer = (
  client: TestClient,
  options: SetupOptions = {}
): Layer.Layer<Authentication.Authentication> =>
  Authentication.layer.pipe(
    Layer.provide(
      Layer.mergeAll(
        client.layer,
        Layer.orDie(PlexConfig.layer(options.config ?? baseConfig)),
        tokenLayer(options.token)
      )
    )
  )

/** Builds the service over a new test client answering with `script`. */
export const setup = (
  script?: Script,
  options: SetupOptions = {}
): Effect.Effect<{ readonly auth: Authentication.Service; readonly client: TestClient }> => {
  const client = makeTestClient(script)
  return Effect.map(
    Effect.provide(Authentication.Authentication, authLayer(client, options)),
    (auth) => ({ auth, client })
  )
}

// --- assertions -------------------------------------------------------------------------------

/**
 * Runs `self`, asserts it failed with exactly one typed failure (a `Fail`: no defect, no
 * interruption) and returns that error.
 */
export const expectFailure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) {
      assert.fail(`expected a failure, got a success: ${String(exit.value)}`)
    }
    const cause = exit.cause
    assert.isFalse(Cause.isDie(cause), `expected a Fail, got a defect: ${Cause.pretty(cause)}`)
    assert.isFalse(Cause.isInterrupted(cause), `expected a Fail, got an interruption: ${Cause.pretty(cause)}`)
    const failures = Chunk.toArray(Cause.failures(cause))
    assert.strictEqual(failures.length, 1, `expected one failure: ${Cause.pretty(cause)}`)
    return failures[0]
  })

/** Query parameters of a recorded URL, in order. */
export const queryOf = (url: string): Array<[string, string]> => [...new URL(url).searchParams.entries()]

/** Path and raw query of a recorded URL, e.g. `/security/token?type=delegation&scope=all`. */
export const pathAndQuery = (url: string): string => {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}
