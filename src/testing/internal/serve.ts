/**
 * Running PlexFake's `HttpApp`: over real HTTP on loopback (Node), or in-process as an `HttpClient`
 * with no socket. Each runner turns the app's dropped-connection marker into its own kind of drop.
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { untilAborted } from "../../internal/abort.js"
import * as Bytes from "../../internal/bytes.js"
import { droppedConnection } from "./faults.js"
import type { InProcessEntry } from "./host.js"

const socketOf = (source: unknown): { destroy: () => void } | undefined => {
  if (typeof source !== "object" || source === null || !("socket" in source)) return undefined
  const socket = (source as { socket: unknown }).socket
  return typeof socket === "object" && socket !== null && "destroy" in socket &&
      typeof (socket as { destroy: unknown }).destroy === "function" ?
    socket as { destroy: () => void } :
    undefined
}

/**
 * The app for someone serving it themselves (`Service.app`): a dropped request destroys
 * `request.source.socket` where the platform exposes one (Node); elsewhere it dies, which the
 * platform answers with a 500.
 */
export const dropBySourceSocket = (raw: HttpApp.Default): HttpApp.Default =>
  Effect.flatMap(raw, (response) => {
    if (response !== droppedConnection) return Effect.succeed(response)
    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const socket = socketOf(request.source)
      if (socket === undefined) {
        return Effect.dieMessage("PlexFake.dropNext: this platform exposes no socket to drop")
      }
      socket.destroy()
      return Effect.succeed(response)
    })
  })

/**
 * Serves the raw app that `rawApp` reads from the context on `127.0.0.1` (a free port) for the
 * layer's lifetime, and provides `http://127.0.0.1:<port>` turned into `A` by `urlsFor` as `tag`.
 * Loads `node:http` and `@effect/platform-node` only when built, so importing this module stays
 * platform-agnostic. Fails with `ServeError` if it cannot listen.
 */
export const layerLoopback = <I, A, R>(
  rawApp: Effect.Effect<HttpApp.Default, never, R>,
  tag: Context.Tag<I, A>,
  urlsFor: (origin: string) => A
): Layer.Layer<I, ServeError, R> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() =>
        Promise.all([
          import("node:http"),
          import("@effect/platform-node/NodeHttpServer"),
          import("@effect/platform-node/NodeHttpServerRequest")
        ])
      ),
      ([Http, NodeHttpServer, NodeHttpServerRequest]) => {
        const serve = Layer.unwrapEffect(Effect.map(rawApp, (raw) => {
          const app: HttpApp.Default = Effect.flatMap(raw, (response) =>
            response !== droppedConnection ?
              Effect.succeed(response) :
              Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
                NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
                return response
              }))
          return HttpServer.serve(app)
        }))
        const urls = Layer.effect(
          tag,
          HttpServer.addressWith((address) =>
            address._tag === "TcpAddress" ?
              Effect.succeed(urlsFor(`http://${address.hostname}:${address.port}`)) :
              Effect.dieMessage("PlexFake.layerServer: expected a TCP address")
          )
        )
        return Layer.mergeAll(serve, urls).pipe(
          Layer.provide(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
        )
      }
    )
  )

const webBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<unknown, HttpClientError.RequestError> => {
  const body: HttpBody.HttpBody = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(undefined)
    case "Raw":
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "FormData":
      return Effect.succeed(body.formData)
    case "Stream":
      return Effect.mapError(
        Effect.map(Stream.runCollect(body.stream), (chunks) => Bytes.concat(Chunk.toReadonlyArray(chunks))),
        (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })
      )
  }
}

/**
 * An `HttpClient` that hands each request for `origin` to the raw app directly, on the calling
 * fiber (so its `Clock` is the caller's), and each request for an origin `others` knows (the fake
 * servers' connections) to that origin's app; it fails any other origin, a refusing one, an aborted
 * request and a dropped one with a `"Transport"` `RequestError`.
 */
export const makeInProcessClient = (
  main: HttpApp.Default,
  origin: string,
  others?: (origin: string) => InProcessEntry | undefined
): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) => {
    const other = url.origin === origin ? undefined : others?.(url.origin)
    if (url.origin !== origin && other === undefined) {
      return Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: `PlexFake in-process client only answers ${origin}, not ${url.origin}`
        })
      )
    }
    if (other?.refusing === true) {
      return Effect.fail(
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: Object.assign(new Error(`connect ECONNREFUSED ${url.host}`), { code: "ECONNREFUSED" }),
          description: "PlexFake: this fake server connection refuses connections"
        })
      )
    }
    const raw = other?.app ?? main
    return Effect.gen(function*() {
      const body = yield* webBody(request)
      // Headers and Request throw on what no transport could send (a CR in a value, a GET with a
      // body); a real client fails such a request, so this one does too.
      const webRequest = yield* Effect.try({
        try: () => {
          const headers = new globalThis.Headers()
          for (const [name, value] of Object.entries(request.headers)) {
            if (name !== "content-length") headers.set(name, value)
          }
          return new Request(url, { method: request.method, headers, body: body as any })
        },
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause })
      })
      // Raced against the signal: a delayed answer (delayNext) ends when the request is aborted.
      const response = yield* Effect.raceFirst(
        Effect.provideService(raw, HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(webRequest)),
        untilAborted(request, signal)
      )
      if (response === droppedConnection) {
        return yield* new HttpClientError.RequestError({
          request,
          reason: "Transport",
          cause: new Error("socket hang up"),
          description: "PlexFake dropped the connection (dropNext)"
        })
      }
      const runtime = yield* Effect.runtime<never>()
      return HttpClientResponse.fromWeb(
        request,
        HttpServerResponse.toWeb(response, { withoutBody: request.method === "HEAD", runtime })
      )
    })
  })
