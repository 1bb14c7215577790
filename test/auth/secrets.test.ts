/**
 * A Plex token that reaches a PlexAuth server appears in no log line, no span attribute or event,
 * no error body and no cache key; nor do PIN codes outside the answers meant for the browser. The
 * example's server runs on loopback with a logger and a tracer that keep everything, the traffic a
 * backend sees goes through it (valid, refused, missing and revoked tokens, plex.tv failing and
 * echoing the token back, server access denied, the PIN flow, sign-out), then everything kept is
 * scanned. Plus the errors themselves, printed every way Node and Effect print them.
 */
import {
  FetchHttpClient,
  HttpApiBuilder,
  HttpClient,
  HttpClientRequest,
  HttpMiddleware,
  HttpServer
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Cause, Context, Duration, Effect, Exit, Layer, Option, Redacted, Tracer } from "effect"
import * as PlexAuth from "effect-plex/PlexAuth"
import { PlexFake } from "effect-plex/testing"
import { createServer } from "node:http"
import { inspect } from "node:util"
import * as Backend from "../../examples/backend.js"
import { build, type Built } from "../../src/internal/authCache.js"
import { CapturedSpan } from "../support/spans.js"
import { captureLogs } from "./support.js"

const logs: Array<string> = []
const spans: Array<CapturedSpan> = []
const bodies: Array<string> = []
let caches: Built | undefined

const tracer = Tracer.make({
  span: (name, parent, context, links, startTime, kind) => {
    const span = new CapturedSpan(name, parent, context, links, startTime, kind)
    spans.push(span)
    return span
  },
  context: (f) => f()
})

class Seeded extends Context.Tag("test/Seeded")<Seeded, Effect.Effect.Success<typeof Backend.seedFake>>() {}

// The example's API, with a PlexAuth whose caches the test can read (built as PlexAuth.layer
// builds it), everything traced and logged into the arrays above.
const Capturing = Layer.effect(
  PlexAuth.PlexAuth,
  Effect.flatMap(Seeded, ({ server }) =>
    Effect.map(
      build({
        capacity: 100,
        timeToLive: Duration.minutes(5),
        negativeTimeToLive: Duration.seconds(30),
        server: Option.some(server.machineIdentifier),
        policy: undefined
      }),
      (built) => {
        caches = built
        return built.service
      }
    ))
)

const Live = Layer.unwrapEffect(
  Effect.map(Seeded, ({ provider }) =>
    HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
      Layer.provide(Backend.ApiLive),
      Layer.provide(Capturing),
      Layer.provide(Backend.PlexLive),
      Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
      Layer.provide(Layer.setConfigProvider(provider)),
      Layer.provide(Layer.mergeAll(Layer.setTracer(tracer), captureLogs(logs)))
    ))
).pipe(
  Layer.provideMerge(Layer.effect(Seeded, Backend.seedFake)),
  Layer.provideMerge(PlexFake.layerServer),
  Layer.provideMerge(FetchHttpClient.layer)
)

// The test plays the browser: its own client spans are not the server's, and are not traced.
const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const response = yield* client.execute(
      HttpClientRequest.prependUrl(request, HttpServer.formatAddress(server.address))
    )
    const text = yield* response.text
    if (response.status >= 300) bodies.push(text)
    return { status: response.status, text, body: text === "" ? undefined : JSON.parse(text) }
  })

const withToken = (token: string) => HttpClientRequest.setHeader("x-plex-token", token)

/**
 * Every string of a span that an exporter ships: name, attributes, events, and a failure's cause.
 * (A success value stays in memory: the response that hands the browser its token is one.)
 */
const spanTexts = (span: CapturedSpan): Array<string> => [
  span.name,
  ...[...span.attributes].map(([key, value]) => `${key}=${typeof value === "string" ? value : inspect(value)}`),
  ...span.events.map((event) => `${event.name} ${inspect(event.attributes, { depth: 5 })}`),
  span.status._tag === "Ended" && Exit.isFailure(span.status.exit)
    ? `${Cause.pretty(span.status.exit.cause)} ${inspect(span.status.exit.cause, { depth: 8 })}`
    : ""
]

layer(Live, { excludeTestServices: true })("PlexAuth keeps tokens out of sight", (it) => {
  it.effect("no log line, span, error body or cache key holds a token or a PIN code", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const { ada, mallory } = yield* Seeded
      const secrets: Array<string> = [ada.token, mallory.token]

      // The Authentication middleware, and the server-access one (PLEX_AUTH_SERVER is set).
      assert.strictEqual((yield* send(HttpClientRequest.get("/me").pipe(withToken(ada.token)))).status, 200)
      assert.strictEqual((yield* send(HttpClientRequest.get("/server").pipe(withToken(ada.token)))).status, 200)
      assert.strictEqual((yield* send(HttpClientRequest.get("/server").pipe(withToken(mallory.token)))).status, 403)
      assert.strictEqual((yield* send(HttpClientRequest.get("/me"))).status, 401)
      const refused = "refusedTOKENabcdefghij"
      secrets.push(refused)
      assert.strictEqual((yield* send(HttpClientRequest.get("/me").pipe(withToken(refused)))).status, 401)

      // plex.tv failing, with the token echoed in its error page, and dropping the connection.
      const echoed = yield* fake.issueToken("ada@example.com")
      secrets.push(echoed)
      yield* fake.failNext(3, { status: 502, body: `<html>bad gateway for ${echoed}</html>` }, { path: "/api/v2/user" })
      assert.strictEqual((yield* send(HttpClientRequest.get("/me").pipe(withToken(echoed)))).status, 503)
      yield* fake.dropNext(3, { path: "/api/v2/user" })
      assert.strictEqual((yield* send(HttpClientRequest.get("/me").pipe(withToken(echoed)))).status, 503)
      yield* fake.failNext(3, { status: 503, body: `{"token":"${echoed}"}` }, { path: "/api/v2/resources" })
      assert.strictEqual((yield* send(HttpClientRequest.get("/server").pipe(withToken(echoed)))).status, 503)

      // The PIN flow: the code and the token go to the browser only in the answers meant for it.
      const created = yield* send(HttpClientRequest.post("/auth/pin"))
      const code: string = created.body.code
      secrets.push(code)
      const check = (pinCode: string) =>
        send(
          HttpClientRequest.get(`/auth/pin/${created.body.id}`).pipe(
            HttpClientRequest.setHeader("x-plex-pin-code", pinCode)
          )
        )
      assert.strictEqual((yield* check(`${code}x`)).status, 404)
      yield* fake.approvePin(created.body.id, mallory.token)
      const approved = yield* check(code)
      assert.deepStrictEqual(approved.body, { state: "approved", token: mallory.token })
      assert.deepStrictEqual((yield* check(code)).body, { state: "expired" })

      // Sign-out, then the revoked token.
      const signedOut = yield* send(HttpClientRequest.post("/signout").pipe(withToken(ada.token)))
      assert.strictEqual(signedOut.status, 204)
      yield* fake.revokeToken(mallory.token)
      yield* send(HttpClientRequest.post("/signout").pipe(withToken(mallory.token)))
      assert.strictEqual((yield* send(HttpClientRequest.get("/me").pipe(withToken(mallory.token)))).status, 401)

      // Give the server's last spans and log lines time to be written.
      yield* Effect.sleep("100 millis")
      const spanText = spans.flatMap(spanTexts)
      const keys = [...(yield* caches!.users.keys), ...(yield* caches!.access.keys)]
      assert.isAbove(logs.length, 10)
      assert.isAbove(spans.filter((s) => s.name.startsWith("http.server")).length, 10)
      assert.isAbove(keys.length, 2)
      assert.isAtLeast(bodies.length, 8)
      // The server's own span saw the token header, and recorded it redacted.
      assert.isTrue(spanText.some((text) => text === "http.request.header.x-plex-token=<redacted>"))
      assert.isTrue(spanText.some((text) => text === "http.request.header.x-plex-pin-code=<redacted>"))
      for (const secret of secrets) {
        for (const line of logs) assert.notInclude(line, secret, "a log line")
        for (const text of spanText) assert.notInclude(text, secret, "a span")
        for (const body of bodies) assert.notInclude(body, secret, "an error body")
        for (const key of keys) assert.notInclude(key, secret, "a cache key")
      }
      // The cause of a 503 was logged (secret-free), so the operator can see why.
      assert.isTrue(logs.some((line) => line.includes("answering 503") && line.includes("getTokenDetails")))
    }))

  it.effect("the errors print without the token, however they are printed", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      const auth = caches!.service
      const token = yield* fake.issueToken("grace@example.com")
      yield* fake.failNext(3, { status: 500, body: `oops ${token}` }, { path: "/api/v2/user" })
      const unavailable = yield* Effect.flip(auth.authenticate(token))
      yield* fake.revokeToken(token)
      const refused = yield* Effect.flip(auth.authenticate(Redacted.make(token)))
      const denied = yield* Effect.flip(
        auth.requireServerAccess("no-such-server", yield* fake.issueToken("grace@example.com"))
      )
      assert.deepStrictEqual([unavailable._tag, refused._tag, denied._tag], [
        "PlexUnavailable",
        "Unauthenticated",
        "ServerAccessDenied"
      ])
      for (const error of [unavailable, refused, denied]) {
        for (
          const printed of [
            String(error),
            error.message,
            JSON.stringify(error),
            inspect(error, { depth: 10 }),
            Cause.pretty(Cause.fail(error)),
            inspect(Cause.fail(error), { depth: 10 })
          ]
        ) {
          assert.notInclude(printed, token)
        }
      }
    }))
})
