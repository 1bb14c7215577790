/**
 * Run by store.test.ts in a child Node process that it kills (SIGKILL) at a random moment: rewrites
 * one key of a file store in `STORE_DIR`, over and over, with one of two 16 MiB values, so that
 * nearly all of its time is spent writing and the kill lands inside a write. It prints `writing`
 * once, as the first write starts. The store is `PlexJwt.layerFileStore`, or, with
 * `STORE_KIND=platform`, `@effect/platform-node`'s own (which a kill leaves truncated: what the test
 * would catch).
 */
import { KeyValueStore } from "@effect/platform"
import * as NodeKeyValueStore from "@effect/platform-node/NodeKeyValueStore"
import { Effect } from "effect"
import * as PlexJwt from "../../src/PlexJwt.js"

const dir = process.env.STORE_DIR!
const store = process.env.STORE_KIND === "platform"
  ? NodeKeyValueStore.layerFileSystem(dir)
  : PlexJwt.layerFileStore(dir)

const padding = "x".repeat(16 * 1024 * 1024)
// Bytes made once: no time goes to encoding between writes.
const values = [1, 2].map((n) => new TextEncoder().encode(`{"n":${n},"padding":"${padding}"}`))

const program = Effect.gen(function*() {
  const kv = yield* KeyValueStore.KeyValueStore
  process.stdout.write("writing\n")
  for (let n = 0;; n++) yield* kv.set("plex/main", values[n % 2]!)
})

void Effect.runPromise(Effect.provide(program, store))
