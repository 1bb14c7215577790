/**
 * Shared by the PlexAuth tests: PlexAuth over the SDK wired to a fresh PlexFake (in-process, so
 * `TestClock` drives the caches' TTL and the fake alike), and counting plex.tv calls at the fake.
 */
import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { Effect, Layer, Logger } from "effect"
import * as PlexAuth from "effect-plex/PlexAuth"
import { PlexFake } from "effect-plex/testing"

/** PlexAuth with these options over `PlexFake.layerTest` (in-process unless told otherwise). */
export const authOverFake = (options: PlexAuth.Options = {}, fake: PlexFake.TestOptions = {}) =>
  PlexAuth.layer(options).pipe(Layer.provideMerge(PlexFake.layerTest(fake)))

/** How many requests the fake got for a plex.tv path (`/user`, `/resources`). */
export const callsTo = (path: "/user" | "/resources") =>
  Effect.map(PlexFake.PlexFake, (fake) => fake.requests).pipe(
    Effect.flatten,
    Effect.map((requests) => requests.filter((r) => r.path === `/api/v2${path}`).length)
  )

/** A logger that keeps every line it is asked to write, message and annotations, as text. */
export const captureLogs = (into: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, cause, message }) => {
      into.push(
        [
          ...(Array.isArray(message) ? message : [message]).map((part) =>
            typeof part === "string" ? part : JSON.stringify(part)
          ),
          String(cause),
          JSON.stringify([...annotations])
        ].join(" ")
      )
    })
  )

/** A request to the HTTP server under test (`HttpServer` in context): status, headers and parsed body. */
export const call = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(
      HttpClientRequest.prependUrl(request, HttpServer.formatAddress(server.address))
    )
    const text = yield* response.text
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: (text === "" ? undefined : JSON.parse(text)) as any
    }
  })
