/**
 * Secret hygiene, as properties: for random tokens, passwords and verification codes, across every
 * operation and every failure mode (including servers and transports that echo the secrets back),
 * no secret shows — whole, or as an 8-character fragment — in the error's `String`, `message`,
 * `JSON.stringify`, `Inspectable.toStringUnknown`, `util.inspect`, `stack`, in `Cause.pretty`, in
 * log lines (string, logfmt and JSON loggers, with the error and the cause actually logged), or in
 * any span (names, attributes, events, and the failure an exporter would record from the span's
 * exit). On success, the decoded values print without their tokens.
 */
import type { HttpClientRequest } from "@effect/platform"
import { HttpClientError, HttpClientResponse } from "@effect/platform"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck as fc, Redacted } from "effect"
import { Authentication, PlexError, PlexPolicy } from "../../src/index.js"
import { untilAborted } from "../../src/internal/abort.js"
import { type Capture, capturing, renderExit } from "../support/capture.js"
import { filler, findSecret, fixtureJson, harness, secret, webResponse } from "./arbitraries.js"

// --- capture ------------------------------------------------------------------------------------

/** Fails listing every place a secret shows, with a little text around each. */
const assertNoSecret = (renderings: Record<string, string>, secrets: Record<string, string>, context: string) => {
  const leaks: Array<string> = []
  for (const [where, text] of Object.entries(renderings)) {
    for (const [what, value] of Object.entries(secrets)) {
      const found = findSecret(text, value)
      if (found === undefined) continue
      let at = -1
      for (let i = 0; at === -1 && i + 8 <= value.length; i++) at = text.indexOf(value.slice(i, i + 8))
      const around = text.slice(Math.max(0, at - 100), at + 60).replace(/\s+/g, " ")
      leaks.push(`- the ${what} (${found}) in ${where}: …${around}…`)
    }
  }
  assert.isEmpty(leaks, `${context}: secrets leak\n${leaks.join("\n")}`)
}

// --- the scripted server ------------------------------------------------------------------------

const decoder = new TextDecoder()

/** The secrets a request actually carries: a server can only echo what it was sent. */
const sentSecrets = (request: HttpClientRequest.HttpClientRequest): Array<string> => {
  const out: Array<string> = []
  const token = request.headers["x-plex-token"]
  if (token !== undefined) out.push(token)
  if (request.body._tag === "Uint8Array") {
    const form = new URLSearchParams(decoder.decode(request.body.body))
    for (const key of ["password", "verificationCode"]) {
      const value = form.get(key)
      if (value !== null) out.push(value)
    }
  }
  return out
}

const modes = [
  "400 JSON",
  "401 JSON",
  "401 XML",
  "401 HTML",
  "429 Retry-After",
  "500 echo",
  "2xx truncated JSON",
  "2xx wrong shape",
  "2xx broken XML",
  "transport error",
  "body stream error",
  "timeout",
  "invalid request",
  "invalid URL error",
  "cross-origin redirect",
  "same-origin redirect"
] as const

type Mode = (typeof modes)[number]

const respond = (
  mode: Mode,
  request: HttpClientRequest.HttpClientRequest,
  pad: number,
  signal: AbortSignal
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
  const echoed = sentSecrets(request)
  // The secrets after `pad` characters of filler, so they land on both sides of every truncation.
  const echo = `${filler(pad)}${echoed.join(" and ")} ${filler(40)}`
  const reply = (status: number, contentType: string, body: string, headers: Record<string, string> = {}) =>
    Effect.succeed(HttpClientResponse.fromWeb(
      request,
      webResponse({ status, body, headers: { "content-type": contentType, ...headers } })
    ))
  const errors = (status: number, code: number) =>
    JSON.stringify({ errors: [{ code, message: echo, status }], request: echo })
  switch (mode) {
    case "400 JSON":
      return reply(400, "application/json", errors(400, 1000))
    case "401 JSON":
      return reply(401, "application/json", errors(401, 1001))
    case "401 XML":
      return reply(
        401,
        "application/xml",
        `<?xml version="1.0"?><errors><error code="1001" message="${echo}" status="401"/><error>${echo}</error></errors>`
      )
    case "401 HTML":
      return reply(401, "text/html", `<html><body><h1>401 Unauthorized</h1><p>${echo}</p></body></html>`)
    case "429 Retry-After":
      return reply(429, "application/json", errors(429, 1003), { "retry-after": "7" })
    case "500 echo":
      return reply(500, "text/plain", echo)
    case "2xx truncated JSON":
      return reply(200, "application/json", `{"authToken":"${echo}","MediaContainer":{"token":"${echo}"`)
    case "2xx wrong shape":
      return reply(
        200,
        "application/json",
        JSON.stringify({ id: echo, uuid: [echo], MediaContainer: { token: [echo] } })
      )
    case "2xx broken XML":
      return reply(
        200,
        "application/xml",
        `<MediaContainer token="${echo}"><user authToken="${echo}"></MediaContainer>`
      )
    case "transport error":
      return Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: new Error(`connect failed: ${echo}`, { cause: new Error(`sent ${echo}`) })
        })
      )
    case "body stream error":
      return Effect.succeed(HttpClientResponse.fromWeb(
        request,
        webResponse({
          status: 200,
          body: "{\"MediaContainer\":{\"token\":\"",
          headers: { "content-type": "application/json" },
          breakWith: new Error(`stream reset after ${echo}`)
        })
      ))
    case "timeout":
      return untilAborted(request, signal)
    case "invalid request":
      return Effect.dieMessage("invalid requests must never be sent")
    case "invalid URL error":
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: new Error(`bad url ${echo}`) })
      )
    case "cross-origin redirect":
      return reply(302, "text/plain", echo, {
        location: `http://127.0.0.2:1/steal?token=${encodeURIComponent(echoed.join(","))}`
      })
    case "same-origin redirect":
      // PMS URLs often carry X-Plex-Token as a query parameter; a redirect may hand one back.
      return request.url.includes("/moved")
        ? reply(500, "text/plain", echo)
        : reply(307, "text/plain", echo, { location: `/moved?X-Plex-Token=${encodeURIComponent(echoed.join(","))}` })
  }
}

const expected: Record<Mode, (error: PlexError.PlexError) => boolean> = {
  "400 JSON": (e) => e instanceof PlexError.PlexBadRequest,
  "401 JSON": (e) => e instanceof PlexError.PlexUnauthorized,
  "401 XML": (e) => e instanceof PlexError.PlexUnauthorized,
  "401 HTML": (e) => e instanceof PlexError.PlexUnauthorized,
  "429 Retry-After": (e) => PlexError.isReason(e, "RateLimited") && e.retryAfterMillis === 7000,
  "500 echo": (e) => PlexError.isReason(e, "StatusCode") && e.status === 500,
  "2xx truncated JSON": (e) => PlexError.isReason(e, "Decode"),
  "2xx wrong shape": (e) => PlexError.isReason(e, "Decode"),
  "2xx broken XML": (e) => PlexError.isReason(e, "Decode"),
  "transport error": (e) => PlexError.isReason(e, "Transport"),
  "body stream error": (e) => PlexError.isReason(e, "Transport"),
  "timeout": (e) => PlexError.isReason(e, "Timeout"),
  "invalid request": (e) => PlexError.isReason(e, "InvalidRequest"),
  "invalid URL error": (e) => PlexError.isReason(e, "InvalidRequest"),
  "cross-origin redirect": (e) => PlexError.isReason(e, "StatusCode") && e.status === 302,
  "same-origin redirect": (e) => PlexError.isReason(e, "StatusCode") && e.status === 500
}

// --- the property -------------------------------------------------------------------------------

// The platform's http.client span (off by default) records URLs and headers: turn it on so the
// richest telemetry a user can enable is the one proven clean.
const { runtime, script } = harness({ httpClientSpans: true })
afterAll(() => runtime.dispose())

const operationNames = [
  "getTransientToken",
  "getSourceConnectionInformation",
  "getTokenDetails",
  "postUsersSignInData"
] as const
type OperationName = (typeof operationNames)[number]

interface Secrets {
  /** The token in PlexToken. */
  readonly token: string
  /** A per-call `options.token` that replaces it (sometimes). */
  readonly callToken: string
  readonly password: string
  readonly verificationCode: string
}

const secrets: fc.Arbitrary<Secrets> = fc.record({
  token: secret,
  callToken: secret,
  password: secret,
  verificationCode: secret
})

const call = (
  name: OperationName,
  s: Secrets,
  viaOption: boolean,
  invalid: boolean
): Effect.Effect<unknown, PlexError.PlexError, Authentication.Authentication> => {
  const options = {
    ...(viaOption ? { token: Redacted.make(s.callToken) } : {}),
    ...(invalid ? { serverUrl: "not a url" } : {})
  }
  switch (name) {
    case "getTransientToken":
      return Authentication.getTransientToken(undefined, options)
    case "getSourceConnectionInformation":
      return Authentication.getSourceConnectionInformation({ source: "server://abcdef0123456789" }, options)
    case "getTokenDetails":
      return Authentication.getTokenDetails(options)
    case "postUsersSignInData":
      return Authentication.postUsersSignInData({
        // An empty login makes the sign-in invalid while still carrying the password and code.
        login: invalid ? " " : "someone@example.com",
        password: s.password,
        verificationCode: Redacted.make(s.verificationCode)
      }, options)
  }
}

const padding = fc.oneof(
  fc.integer({ min: 0, max: 400 }),
  // Straddle the 300-character body excerpt and the 160-character cause line.
  fc.integer({ min: 270, max: 300 }),
  fc.integer({ min: 130, max: 165 })
)

/**
 * Paddings that put the echoed secret ~10 characters before a cut the SDK makes (the 300-character
 * body excerpt, the 160-character cause line), always tried first so those edges are never missed.
 */
const straddle: Partial<Record<Mode, number>> = {
  "500 echo": 290,
  "429 Retry-After": 255,
  "transport error": 130,
  "body stream error": 130
}

const exampleSecrets: Secrets = {
  token: "SECRETQ7W3E9R5T1Y8U2",
  callToken: "SECRETK4J6H8G0F2D4S6",
  password: "SECRETP9O7I5U3Y1T0R8",
  verificationCode: "SECRETZ1X3C5V7B9N2M4"
}

describe("secrets never leak from a failure", () => {
  for (const mode of modes) {
    it(`${mode}: no token, password or verification code in errors, causes, logs or spans`, () =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...operationNames),
          secrets,
          fc.boolean(),
          padding,
          async (name, s, viaOption, pad) => {
            const requests: Array<HttpClientRequest.HttpClientRequest> = []
            script.token = s.token
            script.respond = (request, signal) => {
              requests.push(request)
              return respond(mode, request, pad, signal)
            }
            const capture: Capture = { spans: [], lines: [] }
            let program = call(name, s, viaOption, mode === "invalid request")
            if (mode === "timeout") program = PlexPolicy.withPolicy(program, { attemptTimeout: "5 millis" })
            const exit = await runtime.runPromiseExit(capturing(program, capture))

            const context = `${name} / ${mode} / pad ${pad}`
            assert.isTrue(Exit.isFailure(exit), `${context}: expected a failure`)
            const error = Exit.isFailure(exit) && Cause.isFailType(exit.cause) ? exit.cause.error : undefined
            assert.isTrue(PlexError.isPlexError(error), `${context}: not one PlexError: ${String(exit)}`)
            assert.isTrue(expected[mode](error as PlexError.PlexError), `${context}: unexpected ${String(error)}`)

            // The scenario is real: a request that carried secrets was sent (except when invalid).
            if (mode === "invalid request") {
              assert.strictEqual(requests.length, 0)
            } else {
              assert.isAtLeast(requests.length, 1)
              assert.isAtLeast(sentSecrets(requests[0]).length, 1, `${context}: the request carried no secret`)
              // The platform's http.client span records request headers: x-plex-token must be redacted.
              const client = capture.spans.find((span) => span.name.startsWith("http.client"))
              assert.isDefined(client, `${context}: no http.client span`)
              if (name !== "postUsersSignInData") {
                assert.strictEqual(client!.attributes.get("http.request.header.x-plex-token"), "<redacted>")
              }
            }
            // The SDK's own span is there too, so a span leak would be seen.
            assert.isTrue(capture.spans.some((span) => span.name === `Authentication.${name}`))
            assert.isAtLeast(capture.lines.length, 3)

            assertNoSecret(renderExit(exit, capture), { ...s }, context)
          }
        ),
        {
          numRuns: 24,
          examples: straddle[mode] === undefined
            ? []
            : operationNames.map((
              name
            ): [OperationName, Secrets, boolean, number] => [name, exampleSecrets, false, straddle[mode]!])
        }
      ))
  }

  it("the scrubbing is visible: echoed secrets become <redacted> in details and excerpts", async () => {
    const s: Secrets = {
      token: "SECRETAAAAAAAAAAAA",
      callToken: "SECRETBBBBBBBBBBBB",
      password: "SECRETCCCCCCCCCCCC",
      verificationCode: "SECRETDDDDDDDDDDDD"
    }
    script.token = s.token
    script.respond = (request, signal) => respond("401 JSON", request, 5, signal)
    const unauthorized = await runtime.runPromise(Effect.flip(call("getTokenDetails", s, false, false)))
    assert.instanceOf(unauthorized, PlexError.PlexUnauthorized)
    assert.include((unauthorized as PlexError.PlexUnauthorized).errors[0].message, "<redacted>")

    script.respond = (request, signal) => respond("500 echo", request, 5, signal)
    const status = await runtime.runPromise(Effect.flip(call("postUsersSignInData", s, false, false)))
    assert.isTrue(PlexError.isReason(status, "StatusCode"))
    const excerpt = (status as PlexError.PlexSdkError).bodyExcerpt ?? ""
    assert.include(excerpt, "<redacted> and <redacted>")
    assert.include(excerpt, "lorem")

    script.respond = (request, signal) => respond("transport error", request, 5, signal)
    const transport = await runtime.runPromise(Effect.flip(call("getTransientToken", s, true, false)))
    assert.include((transport as PlexError.PlexSdkError).cause ?? "", "<redacted>")
  })
})

// --- passwords that are not plain words ---------------------------------------------------------

/**
 * Passwords may hold spaces, tabs, quotes and symbols. A server that echoes one back writes it raw,
 * JSON-escaped or form-encoded; every form must be hidden. The password starts with `SECRET` and four
 * plain characters, so any echo of it (escaped or not) still holds an 8-character window of it.
 */
const oddPassword: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), minLength: 4, maxLength: 4 }),
    fc.string({ unit: fc.constantFrom(..."ABCXYZ0189  \t\n\"\\<>&%+=/?#é"), minLength: 4, maxLength: 24 })
  )
  .map(([plain, odd]) => `SECRET${plain}${odd}`)

const echoForms = {
  "raw text": (password: string) => `${filler(20)}${password} ${filler(20)}`,
  "a JSON body": (password: string) => JSON.stringify({ error: "bad request", echo: { login: "someone", password } }),
  "a form-encoded body": (password: string) => new URLSearchParams({ login: "someone", password }).toString()
} as const

describe("passwords with spaces, quotes and symbols", () => {
  for (const [form, render] of Object.entries(echoForms)) {
    it(`a 500 echoing the password as ${form} does not leak it`, () =>
      fc.assert(
        fc.asyncProperty(oddPassword, async (password) => {
          script.respond = (request) =>
            Effect.succeed(HttpClientResponse.fromWeb(
              request,
              webResponse({ status: 500, body: render(password), headers: { "content-type": "text/plain" } })
            ))
          const capture: Capture = { spans: [], lines: [] }
          const exit = await runtime.runPromiseExit(
            capturing(Authentication.postUsersSignInData({ login: "someone", password }), capture)
          )
          assert.isTrue(Exit.isFailure(exit))
          assertNoSecret(renderExit(exit, capture), { password }, `500 echoing ${form}`)
        }),
        { numRuns: 40, examples: [["SECRETAB12\tX  Y"], ["SECRETAB12\"quoted\" & 50%+"]] }
      ))
  }

  it("a 401 whose JSON error message quotes the password does not leak it", () =>
    fc.assert(
      fc.asyncProperty(oddPassword, async (password) => {
        script.respond = (request) =>
          Effect.succeed(HttpClientResponse.fromWeb(
            request,
            webResponse({
              status: 401,
              body: JSON.stringify({ errors: [{ code: 1001, message: `wrong password ${password}`, status: 401 }] }),
              headers: { "content-type": "application/json" }
            })
          ))
        const capture: Capture = { spans: [], lines: [] }
        const exit = await runtime.runPromiseExit(
          capturing(Authentication.postUsersSignInData({ login: "someone", password }), capture)
        )
        assert.isTrue(Exit.isFailure(exit))
        assertNoSecret(renderExit(exit, capture), { password }, "401 quoting the password")
      }),
      { numRuns: 40 }
    ))
})

// --- success ------------------------------------------------------------------------------------

const withSecrets = (name: OperationName, values: ReadonlyArray<string>): string => {
  const [a, b, c, d] = values
  switch (name) {
    case "getTransientToken":
      return JSON.stringify({ MediaContainer: { size: 0, token: a } })
    case "getSourceConnectionInformation": {
      const body = fixtureJson("get-source-connection-information.200.json") as any
      const device = body.MediaContainer.Device
      return JSON.stringify({
        MediaContainer: { size: 2, Device: [{ ...device, accessToken: a }, { ...device, accessToken: b }] }
      })
    }
    case "getTokenDetails":
    case "postUsersSignInData": {
      const body = fixtureJson("get-token-details.200.plex-api-rs-plexpass.json") as any
      return JSON.stringify({
        ...body,
        authToken: a,
        pin: d,
        services: [
          {
            identifier: "metadata-dev",
            endpoint: "https://metadata.provider.plex.tv",
            token: b,
            secret: c,
            status: "online"
          },
          { identifier: "tidal", endpoint: "https://tidal.provider.plex.tv", token: null, secret: null }
        ]
      })
    }
  }
}

describe("secrets never leak from a success", () => {
  it("decoded PlexUser / TransientToken / SourceConnectionInformation print without their tokens", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operationNames),
        secrets,
        fc.array(secret, { minLength: 4, maxLength: 4 }),
        async (name, s, returned) => {
          script.token = s.token
          script.respond = (request) =>
            Effect.succeed(HttpClientResponse.fromWeb(
              request,
              webResponse({
                status: 200,
                body: withSecrets(name, returned),
                headers: { "content-type": "application/json" }
              })
            ))
          const capture: Capture = { spans: [], lines: [] }
          const exit = await runtime.runPromiseExit(capturing(call(name, s, false, false), capture))
          assert.isTrue(Exit.isSuccess(exit), `${name}: ${String(exit)}`)
          const value = Exit.isSuccess(exit) ? exit.value as any : undefined

          // The tokens really were decoded (so the renderings below had them to hide).
          const held: Array<Redacted.Redacted<string> | null | undefined> = name === "getTransientToken"
            ? [value.token]
            : name === "getSourceConnectionInformation"
            ? value.devices.map((d: any) => d.accessToken)
            : [value.authToken, value.pin, ...value.services.flatMap((x: any) => [x.token, x.secret])]
          const plain = held.filter((r): r is Redacted.Redacted<string> => Redacted.isRedacted(r)).map(Redacted.value)
          assert.includeMembers(returned, plain)
          assert.isAtLeast(plain.length, 1)

          const renderings = renderExit(exit, capture)
          assert.include(renderings["log lines"], "result")
          assertNoSecret(
            renderings,
            {
              ...s,
              "returned token 1": returned[0],
              "returned token 2": returned[1],
              "service secret": returned[2],
              "pin": returned[3]
            },
            name
          )
        }
      ),
      { numRuns: 40 }
    ))
})
