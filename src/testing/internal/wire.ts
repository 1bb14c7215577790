/**
 * What PlexFake's answers look like on the wire, shared by every area: content types, plex.tv error
 * details and bodies (JSON or XML), the PMS's HTML error pages, XML helpers and reason phrases.
 * An area's own bodies (a user, a PIN, a device) live in that area's file.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"

/** plex.tv routes sit under this prefix; everything else on the origin is the PMS. */
export const PLEX_TV_PREFIX = "/api/v2"
/** plex.tv's JSON content type. */
export const JSON_CT = "application/json; charset=utf-8"
/** plex.tv's XML content type. */
export const XML_CT = "application/xml; charset=utf-8"
/** The PMS's JSON content type (no charset, as a real server sends it). */
export const PMS_JSON_CT = "application/json"
/** The PMS's XML content type (spelled as a real server spells it). */
export const PMS_XML_CT = "text/xml;charset=utf-8"
/** The prolog every XML body starts with. */
export const XML_PROLOG = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/** One plex.tv error: `{ code, message, status }` in `errors[]` (JSON) or `<error …/>` (XML). */
export interface ErrorDetail {
  readonly code: number
  readonly message: string
  readonly status: number
}

/** Any plex.tv route without `X-Plex-Client-Identifier`. */
export const missingClientIdentifier: ErrorDetail = {
  code: 1000,
  message: "X-Plex-Client-Identifier is missing",
  status: 400
}
/** A missing, unknown or revoked token, or a wrong login or password. */
export const unauthenticated: ErrorDetail = { code: 1001, message: "User could not be authenticated", status: 401 }
/** A plex.tv path no area answers. */
export const notFoundDetail: ErrorDetail = {
  code: 1002,
  message: "The requested resource or endpoint could not be found",
  status: 404
}

const reasonPhrases: Record<number, string> = {
  200: "OK",
  201: "Created",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

/** The reason phrase of a status, or `HTTP <status>` for one without a common phrase. */
export const reasonPhrase = (status: number): string => reasonPhrases[status] ?? `HTTP ${status}`

/** The plex.tv error a bare 4xx from `failNext` carries (429 → 1003, 401 → 1001, 404 → 1002, …). */
export const defaultErrorDetail = (status: number): ErrorDetail => {
  switch (status) {
    case 429:
      return { code: 1003, message: "API rate limit exceeded", status }
    case 401:
      return { ...unauthenticated, status }
    case 404:
      return { ...notFoundDetail, status }
    case 422:
      return {
        code: 1008,
        message: "The server could not perform the action required with the entity provided",
        status
      }
    default:
      return {
        code: 1004,
        message: status === 400 ?
          "The request was malformed, missed a required parameter or was otherwise invalid" :
          reasonPhrase(status),
        status
      }
  }
}

// A real PMS answers errors with a bare HTML page, not a plex.tv error body; its 401 page is
// copied from one (test/fixtures/pms.401.real.html).
const pmsHtml = (status: number): string => {
  if (status === 401) {
    return "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
  }
  const phrase = reasonPhrase(status)
  return `<html><head><title>${phrase}</title></head><body><h1>${status} ${phrase}</h1></body></html>`
}

/** Escapes text for an XML attribute value. */
export const escapeXml = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** A value an XML attribute can carry; `null`/`undefined` become `""`, booleans `1`/`0`. */
export type XmlScalar = string | number | boolean | null | undefined

/** ` name="value"` for each pair, escaped, in order. */
export const xmlAttrs = (attrs: ReadonlyArray<readonly [string, XmlScalar]>): string =>
  attrs.map(([name, value]) => {
    const text = value === null || value === undefined ? "" : typeof value === "boolean" ? (value ? "1" : "0") : value
    return ` ${name}="${escapeXml(String(text))}"`
  }).join("")

/** A plex.tv `<errors>` document with one error. */
export const xmlErrorBody = (detail: ErrorDetail): string =>
  `${XML_PROLOG}<errors>\n  <error${
    xmlAttrs([["code", detail.code], ["message", detail.message], ["status", detail.status]])
  }/>\n</errors>\n`

const jsonErrorBody = (detail: ErrorDetail): string => JSON.stringify({ errors: [detail] })

/** A plex.tv error response: JSON when the request accepts JSON, else XML (as plex.tv does). */
export const plexTvError = (json: boolean, detail: ErrorDetail, headers?: Record<string, string>) =>
  HttpServerResponse.text(json ? jsonErrorBody(detail) : xmlErrorBody(detail), {
    status: detail.status,
    contentType: json ? JSON_CT : XML_CT,
    ...(headers === undefined ? {} : { headers })
  })

/** A PMS error response: the HTML page, whatever the request accepts. */
export const pmsError = (status: number) =>
  HttpServerResponse.text(pmsHtml(status), { status, contentType: "text/html" })

/** A plex.tv success body: `json` serialised when the request accepts JSON, else `xml` as it is. */
export const plexTvBody = (json: boolean, status: number, body: unknown, xml: string) =>
  HttpServerResponse.text(json ? JSON.stringify(body) : xml, { status, contentType: json ? JSON_CT : XML_CT })

/** A PMS 200 body: `json` serialised when the request accepts JSON, else `xml` as it is. */
export const pmsBody = (json: boolean, body: unknown, xml: string) =>
  HttpServerResponse.text(json ? JSON.stringify(body) : xml, {
    status: 200,
    contentType: json ? PMS_JSON_CT : PMS_XML_CT
  })
