/**
 * What an operation is, declared: the fields an endpoint gives the one request path
 * (`request.ts`), which does everything else.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import type * as PlexConfig from "../PlexConfig.js"
import type * as PlexError from "../PlexError.js"
import type * as Model from "./model.js"

/**
 * Per-call overrides accepted by every operation (public: defined in PlexConfig).
 *
 * @internal
 */
export type CallOptions = PlexConfig.CallOptions

type Method = "GET" | "POST" | "PUT" | "DELETE"

/** Query values; a `Redacted` one is a secret in the URL (scrubbed, and no `http.client` span). */
type Params = Record<string, string | Redacted.Redacted<string> | undefined>

/** A reason an operation gives a status or a plex.tv error code of its own. */
type Special = { readonly reason: PlexError.SdkErrorReason; readonly detail: string }

/**
 * What an operation is: everything else is the runner's job.
 *
 * @internal
 */
export interface Endpoint<I, A> {
  /** The span is `${module}.${operation}`; `operation` names the call in errors. */
  readonly module: string
  readonly operation: string
  /** Which base URL: `plexTvUrl`, `clientsUrl`, or the Plex Media Server's. */
  readonly host: "plexTv" | "clients" | "pms"
  readonly method: Method
  readonly path: (input: I) => string
  /** `required`: fail with InvalidRequest when there is no token; `none`: never send one. */
  readonly token: "required" | "none"
  /** Only idempotent operations are retried; sign-in and PIN creation are not. */
  readonly idempotent: boolean
  readonly query?: (input: I) => Params
  /** A form body (`application/x-www-form-urlencoded`). Redacted values are unwrapped only here. */
  readonly form?: (input: I) => Record<string, string | Redacted.Redacted<string> | undefined>
  /** A JSON body. Redacted values anywhere in it are unwrapped only here, and scrubbed from errors. */
  readonly json?: (input: I) => unknown
  /** A reason the input cannot be right, checked before anything is sent. */
  readonly validate?: (input: I) => string | undefined
  /**
   * Values in the path that are secrets (a PIN id redeems a token): scrubbed from error excerpts like
   * tokens, and the platform's `http.client` span, which records the full URL, is never created for
   * this operation (its own span still is).
   */
  readonly urlSecrets?: (input: I) => ReadonlyArray<string>
  /**
   * Further secrets of the call that the request carries only inside another value (a nonce inside
   * a signed device JWT): scrubbed from error texts like the rest, should a server echo them.
   */
  readonly secrets?: (input: I) => ReadonlyArray<Redacted.Redacted<string>>
  /** Non-secret span attributes. */
  readonly attributes?: (input: I) => Record<string, string | number | boolean>
  /** The JSON key wrapping the payload (`MediaContainer`); an XML root element stands for it. */
  readonly envelope?: string
  /**
   * How a 2xx body decodes: a lenient model decoder (which reports what it dropped on the span) or
   * a schema; `undefined` means the body is ignored and the result is `void`.
   */
  readonly success: Model.Decoder<A> | Schema.Schema<A, any> | undefined
  /** Statuses with an operation-specific meaning, e.g. 404 for an expired PIN. */
  readonly statusReasons?: Readonly<Record<number, Special>>
  /** Error codes with an operation-specific meaning, e.g. 1020 for an expired PIN. */
  readonly codeReasons?: Readonly<Record<number, Special>>
}

/**
 * Declares an endpoint; the identity function, for inference.
 *
 * @internal
 */
export const endpoint = <I, A>(definition: Endpoint<I, A>): Endpoint<I, A> => definition

/**
 * Turns endpoints into operations.
 *
 * @internal
 */
export interface Runner {
  <I, A>(endpoint: Endpoint<I, A>): (input: I, options?: CallOptions) => Effect.Effect<A, PlexError.PlexError>
}
