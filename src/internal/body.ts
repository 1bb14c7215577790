/**
 * Response bodies: read within a byte cap, parsed by content type (JSON, XML, HTML), and plex.tv's
 * error bodies turned into `PlexErrorDetail`s.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as PlexError from "../PlexError.js"
import * as Bytes from "./bytes.js"
import { numberFrom } from "./model.js"
import { scrub } from "./secrets.js"
import * as Xml from "./xml.js"

/** The body passed the cap (`bytes` when `Content-Length` said so). @internal */
export class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
  constructor(readonly bytes: number | undefined) {}
}

const utf8 = new TextDecoder()

/**
 * Reads a body as text, never more than `cap` bytes. With a trustworthy `Content-Length` the body is
 * read in one go (streaming it costs ~40% of a call); otherwise it is streamed and counted, and
 * reading stops as soon as the cap is passed.
 *
 * @internal
 */
export const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  cap: number
): Effect.Effect<string, BodyTooLarge | HttpClientError.ResponseError> => {
  // No body by definition; fetch exposes none, and asking for its stream fails with EmptyBody.
  if (response.status === 204 || response.status === 205 || response.status === 304) return Effect.succeed("")
  const length = response.headers["content-length"]
  const encoding = response.headers["content-encoding"]
  const identity = encoding === undefined || encoding === "identity"
  if (length !== undefined && identity) {
    const bytes = Number(length)
    if (Number.isFinite(bytes) && bytes >= 0) {
      if (bytes <= cap) return response.text
      // Pull at most one chunk so the transport cancels the rest instead of buffering it.
      return Effect.zipRight(
        Effect.ignore(Stream.runHead(response.stream)),
        Effect.fail(new BodyTooLarge(bytes))
      )
    }
  }
  return Effect.map(
    Stream.runFoldEffect(
      response.stream,
      { chunks: [] as Array<Uint8Array>, size: 0 },
      (acc, chunk): Effect.Effect<{ chunks: Array<Uint8Array>; size: number }, BodyTooLarge> => {
        const size = acc.size + chunk.length
        if (size > cap) return Effect.fail(new BodyTooLarge(undefined))
        acc.chunks.push(chunk)
        acc.size = size
        return Effect.succeed(acc)
      }
    ),
    (acc) => utf8.decode(Bytes.concat(acc.chunks))
  ).pipe(Effect.catchIf(
    (e): e is HttpClientError.ResponseError => e._tag === "ResponseError" && e.reason === "EmptyBody",
    () => Effect.succeed("")
  ))
}

/** A body, parsed. @internal */
export type Parsed =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Xml"; readonly root: Xml.XmlElement }
  | { readonly _tag: "Html" }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Invalid"; readonly reason: string }

const looksLikeHtml = (text: string): boolean => /^\s*(<!doctype html|<html|<head|<body|<h1)/i.test(text)

/** Chooses the parser from `Content-Type`, falling back on the first character. Never throws. @internal */
export const parseBody = (text: string, contentType: string | undefined): Parsed => {
  const trimmed = text.trim()
  if (trimmed === "") return { _tag: "Empty" }
  const type = contentType?.toLowerCase() ?? ""
  if (type.includes("html") || looksLikeHtml(trimmed)) return { _tag: "Html" }
  const first = trimmed[0]
  if (type.includes("json") || first === "{" || first === "[") {
    try {
      return { _tag: "Json", value: JSON.parse(trimmed) }
    } catch {
      return { _tag: "Invalid", reason: "the response body is not valid JSON (malformed or truncated)" }
    }
  }
  if (type.includes("xml") || first === "<") {
    const root = Xml.parse(trimmed)
    return typeof root === "string"
      ? { _tag: "Invalid", reason: `the response body is not valid XML (${root})` }
      : { _tag: "Xml", root }
  }
  return { _tag: "Invalid", reason: `the response body is neither JSON nor XML (content-type ${type || "absent"})` }
}

const toDetail = (u: unknown, secrets: ReadonlyArray<string>): PlexError.PlexErrorDetail | undefined => {
  if (typeof u === "string") return new PlexError.PlexErrorDetail({ message: scrub(u, secrets) })
  if (typeof u !== "object" || u === null) return undefined
  const o = u as Record<string, unknown>
  const message = typeof o.message === "string" ? o.message : typeof o.error === "string" ? o.error : ""
  const code = numberFrom(o.code)
  const status = numberFrom(o.status)
  return new PlexError.PlexErrorDetail({
    message: scrub(message, secrets),
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { status })
  })
}

/** The `errors[]` of a plex.tv error body in JSON or XML form; empty for HTML or anything else. @internal */
export const errorDetails = (parsed: Parsed, secrets: ReadonlyArray<string>): Array<PlexError.PlexErrorDetail> => {
  let list: unknown
  if (parsed._tag === "Json") {
    const value = parsed.value as Record<string, unknown> | null
    list = typeof value === "object" && value !== null ? (value.errors ?? value.error) : undefined
  } else if (parsed._tag === "Xml") {
    list = Xml.toJson(parsed.root)
  } else {
    return []
  }
  const items = Array.isArray(list) ? list : list === undefined ? [] : [list]
  const out: Array<PlexError.PlexErrorDetail> = []
  for (const item of items.slice(0, 20)) {
    const detail = toDetail(item, secrets)
    if (detail !== undefined) out.push(detail)
  }
  return out
}
