/**
 * A file-system `KeyValueStore` fit for secrets: the directory is created `0700`, every file is
 * written `0600`, and a write goes to a temporary file in the same directory, is flushed to disk,
 * and is then renamed over the old one, so a reader (or a process started after a crash mid-write)
 * sees the old value or the new one, never a torn one. `@effect/platform`'s own file store writes
 * `0644` files in place (a crash leaves a truncated file) and its `clear` removes the whole
 * directory.
 *
 * One file per key, named `encodeURIComponent(key)` as the platform's store does, so the two read
 * each other's files. Temporary files carry a `+`, which that encoding never produces, so they are
 * never taken for a key; one left by a crash is ignored, and removed by `clear`.
 *
 * @internal
 */
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"

const TEMP_MARK = "+"

const encoder = new TextEncoder()

/**
 * The store in `directory`, which is created (with its parents) with mode `0700` when missing. An
 * existing directory keeps its mode: the files in it are `0600` either way.
 *
 * @internal
 */
export const make = (
  directory: string
): Effect.Effect<KeyValueStore.KeyValueStore, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (!(yield* fs.exists(directory))) yield* fs.makeDirectory(directory, { recursive: true, mode: 0o700 })

    const fileOf = <A>(
      method: string,
      key: string,
      f: (file: string) => Effect.Effect<A, PlatformError.PlatformError>
    ): Effect.Effect<A, PlatformError.PlatformError> =>
      key === "" || key === "." || key === ".."
        ? Effect.fail(
          new PlatformError.BadArgument({
            module: "KeyValueStore",
            method,
            description: "Key must not be empty, . or .."
          })
        )
        : f(path.join(directory, encodeURIComponent(key)))

    const orNone = <A>(self: Effect.Effect<A, PlatformError.PlatformError>) =>
      self.pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => e._tag === "SystemError" && e.reason === "NotFound",
          () => Effect.succeed(Option.none<A>())
        )
      )

    const write = (file: string, bytes: Uint8Array) =>
      Effect.gen(function*() {
        const suffix = (yield* Random.nextInt).toString(36).replace("-", "n")
        const temp = `${file}${TEMP_MARK}${suffix}.tmp`
        // `wx`: never follows or reuses a file someone else put there.
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* fs.open(temp, { flag: "wx", mode: 0o600 })
          yield* handle.writeAll(bytes)
          yield* handle.sync
        }))
        yield* fs.rename(temp, file).pipe(Effect.tapError(() => Effect.ignore(fs.remove(temp))))
      })

    const entries = Effect.map(fs.readDirectory(directory), (names) => names.filter((n) => !n.includes(TEMP_MARK)))

    return KeyValueStore.make({
      get: (key) => fileOf("get", key, (file) => orNone(fs.readFileString(file))),
      getUint8Array: (key) => fileOf("getUint8Array", key, (file) => orNone(fs.readFile(file))),
      set: (key, value) =>
        fileOf("set", key, (file) => write(file, typeof value === "string" ? encoder.encode(value) : value)),
      remove: (key) =>
        fileOf("remove", key, (file) =>
          fs.remove(file).pipe(
            Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "NotFound", () => Effect.void)
          )),
      has: (key) => fileOf("has", key, fs.exists),
      // Only this store's files (and stray temporary ones): never the directory, nor its mode.
      clear: Effect.flatMap(
        fs.readDirectory(directory),
        (names) => Effect.forEach(names, (name) => fs.remove(path.join(directory, name)), { discard: true })
      ),
      size: Effect.map(entries, (names) => names.length)
    })
  })

/**
 * The store as a layer, on Node's file system (loaded when the layer is built).
 *
 * @internal
 */
export const layerNode = (
  directory: string
): Layer.Layer<KeyValueStore.KeyValueStore, PlatformError.PlatformError> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() =>
        Promise.all([import("@effect/platform-node/NodeFileSystem"), import("@effect/platform-node/NodePath")])
      ),
      ([NodeFileSystem, NodePath]) =>
        Layer.effect(KeyValueStore.KeyValueStore, make(directory)).pipe(
          Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))
        )
    )
  )
