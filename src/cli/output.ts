/**
 * Where `plex-auth` writes: results on stdout (JSON with `--json`, lines of text otherwise),
 * everything meant for the person at the keyboard (instructions, the QR code, the countdown,
 * errors) on stderr, so `--json` output can be piped and parsed as it is.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { renderUnicodeCompact } from "uqr"
import type { Described } from "./errors.js"

/**
 * The writer every command uses.
 *
 * @since 0.2.0
 * @category models
 */
export interface Output {
  readonly json: boolean
  /** Whether stderr is a terminal: the countdown is redrawn in place only there. */
  readonly interactive: boolean
  /** The command's result: `value` as one JSON line with `--json`, else `lines`. */
  readonly result: (value: Record<string, unknown>, lines: ReadonlyArray<string>) => Effect.Effect<void>
  /** A message for the person, on stderr. */
  readonly say: (...lines: ReadonlyArray<string>) => Effect.Effect<void>
  /** A line redrawn in place on a terminal (the countdown); elsewhere shown once per `key`. */
  readonly status: (text: string, key: string) => Effect.Effect<void>
  /** Ends the line `status` redraws. */
  readonly endStatus: Effect.Effect<void>
  /** A failure: the message (and hint) on stderr, and with `--json` an error object on stdout. */
  readonly failure: (described: Described) => Effect.Effect<void>
  /** Only the error object on stdout (the message is already on stderr). */
  readonly jsonFailure: (described: Described) => Effect.Effect<void>
}

/**
 * Streams an `Output` writes to (the process's own, or a test's).
 *
 * @since 0.2.0
 * @category models
 */
export interface Streams {
  readonly stdout: { write: (text: string) => unknown }
  readonly stderr: { write: (text: string) => unknown; readonly isTTY?: boolean | undefined }
}

const CLEAR_LINE = "\r\x1b[2K"

/**
 * An `Output` over the given streams.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (json: boolean, streams: Streams = process): Output => {
  const interactive = streams.stderr.isTTY === true
  let statusShown = false
  let lastKey: string | undefined
  const endStatus = Effect.sync(() => {
    if (statusShown) streams.stderr.write("\n")
    statusShown = false
  })
  const jsonFailure = (d: Described) =>
    Effect.sync(() => {
      const error = { exitCode: d.code, kind: d.kind, message: d.message, ...(d.hint ? { hint: d.hint } : {}) }
      streams.stdout.write(`${JSON.stringify({ ok: false, error })}\n`)
    })
  const say = (...lines: ReadonlyArray<string>) =>
    Effect.zipRight(endStatus, Effect.sync(() => streams.stderr.write(lines.map((l) => `${l}\n`).join(""))))
  return {
    json,
    interactive,
    result: (value, lines) =>
      Effect.zipRight(
        endStatus,
        Effect.sync(() =>
          streams.stdout.write(
            json ? `${JSON.stringify({ ok: true, ...value })}\n` : lines.map((l) => `${l}\n`).join("")
          )
        )
      ),
    say,
    status: (text, key) =>
      Effect.sync(() => {
        if (interactive) {
          streams.stderr.write(`${CLEAR_LINE}${text}`)
          statusShown = true
        } else if (key !== lastKey) {
          streams.stderr.write(`${text}\n`)
        }
        lastKey = key
      }),
    endStatus,
    failure: (d) =>
      Effect.zipRight(
        say(`plex-auth: ${d.message}`, ...(d.hint === undefined ? [] : [d.hint])),
        json ? jsonFailure(d) : Effect.void
      ),
    jsonFailure
  }
}

/**
 * A QR code of `text` for a terminal, two modules per character cell, with a quiet zone.
 *
 * @since 0.2.0
 * @category utils
 */
export const qrCode = (text: string): ReadonlyArray<string> =>
  renderUnicodeCompact(text, { border: 2 }).split("\n").map((line) => `  ${line}`)

/**
 * `mm:ss` (or `h:mm:ss`) for a number of seconds.
 *
 * @since 0.2.0
 * @category utils
 */
export const clock = (seconds: number): string => {
  const s = Math.max(0, Math.floor(seconds))
  const pad = (n: number) => String(n).padStart(2, "0")
  const hours = Math.floor(s / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(s % 60)}` : `${pad(minutes)}:${pad(s % 60)}`
}

/**
 * Left-aligned columns: each row's cells padded to the widest cell of its column.
 *
 * @since 0.2.0
 * @category utils
 */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>, indent = ""): ReadonlyArray<string> => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length))
  return rows.map((row) =>
    indent + row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ").trimEnd()
  )
}
