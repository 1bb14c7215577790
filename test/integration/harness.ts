/**
 * Shared wiring for the loopback integration tests: PlexFake served on 127.0.0.1 (port 0) and the
 * SDK pointed at it, the way a user of effect-plex/testing wires their own tests.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Authentication, PlexConfig, PlexToken } from "effect-plex"
import { PlexFake } from "effect-plex/testing"

/** PlexConfig pointing at the fake the layer below serves. */
export const configFor = (urls: PlexFake.FakeUrls) =>
  PlexConfig.layer({
    clientIdentifier: "effect-plex-integration",
    product: "effect-plex tests",
    version: "0.1.0",
    plexTvUrl: urls.plexTvUrl,
    serverUrl: urls.serverUrl
  })

/** Authentication over the given HttpClient layer, configured from the running fake. */
export const sdkOver = (client: Layer.Layer<HttpClient.HttpClient>) =>
  Layer.unwrapEffect(
    Effect.map(PlexFake.PlexFakeServer, (urls) =>
      Authentication.layer.pipe(Layer.provide(Layer.mergeAll(configFor(urls), PlexToken.none, client))))
  )

/** The fake over loopback HTTP plus the SDK on FetchHttpClient. */
export const LoopbackLive = sdkOver(FetchHttpClient.layer).pipe(Layer.provideMerge(PlexFake.layerServer))

let counter = 0
/** A login no other test uses, so tests sharing one fake do not see each other's accounts. */
export const uniqueLogin = (prefix: string) => `${prefix}-${++counter}-${Date.now()}@example.com`
