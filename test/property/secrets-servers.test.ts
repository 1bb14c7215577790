/**
 * Secret hygiene of Resources and HomeUsers, as properties: for random account tokens, server
 * access tokens and Plex Home PINs, across failure modes where the server echoes every secret it
 * was sent (the PIN rides in the query string), none shows in the error's `String`, `message`,
 * `JSON.stringify` or `util.inspect`, in `Cause.pretty`, in log lines (string, logfmt, JSON loggers
 * with the error and cause logged), or in any span (names, attributes, events, recorded failure);
 * on success the decoded resources and users print without their tokens. The platform's
 * URL-recording `http.client` span is turned on, so the richest telemetry is the one proven clean.
 *
 * A PIN is 4 digits, which other numbers in a rendering can contain by chance (timestamps, fiber
 * ids, statuses): renderings are compared with those of the same case run with a PIN of letters,
 * and the PIN counts as leaked only where it appears more often than there.
 */
import type { HttpClientRequest } from "@effect/platform"
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { Exit } from "effect"
import { Effect, FastCheck as fc, Layer, Option, Redacted } from "effect"
import { HomeUsers, PlexConfig, PlexPolicy, PlexToken, Resources } from "../../src/index.js"
import { type Capture, capturing, makeCapture, renderExit } from "../support/capture.js"
import { filler, findSecret, secret, webResponse } from "./arbitraries.js"

// --- capture ------------------------------------------------------------------------------------

/** Everything printed of a run, as one text. */
const render = (exit: Exit.Exit<unknown, unknown>, capture: Capture) =>
  Object.values(renderExit(exit, capture)).join("\n")
    // Times and fiber ids differ from run to run; they are never secrets.
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")
    .replace(/#\d+/g, "#")

// --- a server that echoes what it was sent ------------------------------------------------------

const modes = [
  "403 1041",
  "401 JSON",
  "400 JSON",
  "500 echo",
  "2xx wrong shape",
  "transport error",
  "timeout",
  "2xx success"
] as const
type Mode = (typeof modes)[number]

const sent = (request: HttpClientRequest.HttpClientRequest, url: URL): Array<string> =>
  [request.headers["x-plex-token"], url.searchParams.get("pin") ?? undefined].filter((s): s is string =>
    s !== undefined
  )

const serverFor = (mode: Mode, serverToken: string) =>
  HttpClient.make((request, url, signal) => {
    const echo = `${filler(17)}${sent(request, url).join(" and ")} ${url.search} ${filler(9)}`
    const reply = (status: number, body: string, type = "application/json") =>
      Effect.succeed(
        HttpClientResponse.fromWeb(request, webResponse({ status, body, headers: { "content-type": type } }))
      )
    const errors = (status: number, code: number) => JSON.stringify({ errors: [{ code, message: echo, status }] })
    if (url.pathname === "/identity") {
      // Probes: every server answers as some other one, echoing what it was sent.
      return reply(200, JSON.stringify({ MediaContainer: { machineIdentifier: echo } }))
    }
    switch (mode) {
      case "403 1041":
        return reply(403, errors(403, 1041))
      case "401 JSON":
        return reply(401, errors(401, 1001))
      case "400 JSON":
        return reply(400, errors(400, 1000))
      case "500 echo":
        return reply(500, echo, "text/plain")
      case "2xx wrong shape":
        return reply(200, JSON.stringify({ users: echo, id: [echo], authToken: [echo] }))
      case "transport error":
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error(`reset: ${echo}`) })
        )
      case "timeout":
        return Effect.never.pipe(Effect.raceFirst(Effect.async<never>((resume) => {
          signal.addEventListener("abort", () => resume(Effect.interrupt))
        })))
      case "2xx success":
        return url.pathname.endsWith("/switch")
          ? reply(
            201,
            JSON.stringify({ id: 1, uuid: "u", title: "Kid", authToken: `${serverToken}-member` })
          )
          : reply(
            200,
            JSON.stringify([{
              name: "Box",
              clientIdentifier: "box",
              provides: "server",
              accessToken: serverToken,
              connections: [{ protocol: "http", address: "127.0.0.1", port: 1, uri: "http://127.0.0.1:1" }]
            }])
          )
    }
  })

const layerFor = (mode: Mode, token: string, serverToken: string) =>
  Layer.mergeAll(Resources.layer, HomeUsers.layer).pipe(
    Layer.provide(Layer.mergeAll(
      Layer.succeed(HttpClient.HttpClient, serverFor(mode, serverToken)),
      Layer.orDie(PlexConfig.layer({ clientIdentifier: "cid-secrets" })),
      PlexToken.layer(token),
      PlexPolicy.layer({ attemptTimeout: "50 millis", maxAttempts: 2, baseDelay: 0, httpClientSpans: true })
    )),
    Layer.orDie
  )

const operations = ["switchHomeUser", "listResources", "connect"] as const
type Operation = (typeof operations)[number]

const runCase = (operation: Operation, mode: Mode, token: string, serverToken: string, pin: string) =>
  Effect.gen(function*() {
    const capture = makeCapture()
    const program = operation === "switchHomeUser"
      ? HomeUsers.switchHomeUser({ uuid: "u" }, { pin })
      : operation === "listResources"
      ? Resources.listResources()
      : Resources.connect(Resources.PlexResource.make({
        name: "Box",
        clientIdentifier: "box",
        product: "Plex Media Server",
        provides: ["server"],
        owned: true,
        home: false,
        presence: true,
        httpsRequired: false,
        publicAddressMatches: false,
        relay: false,
        accessToken: Option.some(Redacted.make(serverToken)),
        connections: [
          Resources.ResourceConnection.make({
            protocol: "http",
            address: "127.0.0.1",
            port: 1,
            uri: "http://127.0.0.1:1",
            local: true,
            relay: false,
            IPv6: false
          })
        ]
      }))
    const exit = yield* Effect.exit(
      capturing(program as Effect.Effect<unknown, unknown, Resources.Resources | HomeUsers.HomeUsers>, capture)
        .pipe(Effect.provide(layerFor(mode, token, serverToken)))
    )
    return render(exit, capture)
  })

const count = (text: string, value: string) => text.split(value).length - 1

describe("secrets of Resources and HomeUsers", () => {
  it.live(
    "no token, server token or PIN in errors, logs or spans, whatever the server echoes",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...operations),
            fc.constantFrom(...modes),
            secret,
            secret,
            fc.stringMatching(/^[0-9]{4}$/),
            (operation, mode, token, serverToken, pin) =>
              Effect.runPromise(Effect.gen(function*() {
                const text = yield* runCase(operation, mode, token, serverToken, pin)
                for (const [what, value] of [["token", token], ["server token", serverToken]] as const) {
                  const found = findSecret(text, value)
                  assert.isUndefined(found, `${operation} / ${mode}: the ${what} shows (${found})`)
                }
                if (count(text, pin) > 0) {
                  const control = yield* runCase(operation, mode, token, serverToken, "PQRS")
                  assert.isAtMost(count(text, pin), count(control, pin), `${operation} / ${mode}: the PIN shows`)
                }
              }))
          ),
          { numRuns: 120 }
        )
      ),
    60_000
  )

  it.live("the checks can fail: an unscrubbed echo of the PIN and token is found", () =>
    Effect.sync(() => {
      const text = `pin=4821 token SECRETABCDEFGH12`
      assert.strictEqual(findSecret(text, "SECRETABCDEFGH12"), "whole")
      assert.isAbove(count(text, "4821"), count(text.replace("4821", "PQRS"), "4821"))
    }))
})
