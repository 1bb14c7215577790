/**
 * Secret hygiene for error texts: every secret of a call (token, password, PIN, JWT…) is scrubbed
 * from what a server echoes back and from platform error messages, in every form a server might echo
 * it in, before anything is cut or folded.
 *
 * @internal
 */
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"

const xmlEscape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

/** A secret as a server might echo it back: raw, JSON-escaped, URL- or form-encoded, XML-escaped. */
const echoForms = (secret: string): Array<string> =>
  [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      xmlEscape(secret)
    ])
  ].filter((form) => form.length >= 3).sort((a, b) => b.length - a.length)

/**
 * Replaces every occurrence of the call's secrets. Runs on whole texts, before any cutting or
 * whitespace folding, which would otherwise leave part of a secret unmatched.
 *
 * @internal
 */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) {
    for (const form of echoForms(secret)) out = out.split(form).join("<redacted>")
  }
  return out
}

/** @internal */
export const cut = (text: string, length: number): string => text.length > length ? text.slice(0, length) + "…" : text

const EXCERPT_LENGTH = 300

/** A short, scrubbed, single-line excerpt of an error body. @internal */
export const excerpt = (text: string, secrets: ReadonlyArray<string>): string =>
  cut(scrub(text, secrets).replace(/\s+/g, " ").trim(), EXCERPT_LENGTH)

const errnoPattern = /^E[A-Z0-9_]{2,}$|^UND_ERR_[A-Z_]+$/

/**
 * A platform failure as text that never includes the request (and so the token), and the system
 * error code found along its cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET`…), if any.
 *
 * @internal
 */
export const describeCause = (
  cause: unknown,
  secrets: ReadonlyArray<string>
): { readonly text: string | undefined; readonly errno: string | undefined } => {
  if (cause === undefined || cause === null) return { text: undefined, errno: undefined }
  const parts: Array<string> = []
  let errno: string | undefined
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (typeof current === "object") {
      const c = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown }
      const name = typeof c.name === "string" ? c.name : "Error"
      const code = typeof c.code === "string" ? c.code : undefined
      if (errno === undefined && code !== undefined && errnoPattern.test(code)) errno = code
      const message = typeof c.message === "string" ? `: ${cut(scrub(c.message, secrets).split("\n")[0], 160)}` : ""
      parts.push(scrub(`${name}${code === undefined ? "" : ` ${code}`}`, secrets) + message)
      current = c.cause
    } else {
      parts.push(cut(scrub(String(current), secrets), 160))
      break
    }
  }
  return { text: parts.join(" <- "), errno }
}

/**
 * Where a schema decode failed and what kind of failure, never the value: Schema messages quote the
 * values they saw, which can be tokens.
 *
 * @internal
 */
export const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const shown = issues.slice(0, 3).map((issue) => {
    const path = issue.path.length === 0 ? "the body" : issue.path.map((p) => JSON.stringify(p)).join(".")
    const kind = issue._tag === "Missing" ? "is missing" : "has an unexpected type or value"
    return `${path} ${kind}`
  })
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""
  return shown.join("; ") + more
}

/**
 * A secret as given by a caller, `Redacted` at once: public APIs accept plain strings for
 * convenience and never keep them unwrapped.
 *
 * @internal
 */
export const redacted = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)
