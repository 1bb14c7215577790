/**
 * Test support for `effect-plex`: `PlexFake`, a fake plex.tv + Plex Media Server with state and
 * fault controls, served over loopback HTTP (`PlexFake.layerServer`) or in-process
 * (`PlexFake.layerClient`).
 *
 * @since 0.1.0
 */
export * as PlexFake from "./PlexFake.js"
