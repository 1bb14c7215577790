/**
 * "Sign in with Plex" for a single-page app, run by the backend: two endpoints over `PinLogin`, so
 * the browser never talks to plex.tv and the client identifier stays on the server.
 *
 * What the browser sees, and why it is safe: a PIN's `id` and `code`, and the auth app URL. Whoever
 * checks an approved PIN id with this backend's client identifier gets the token, and plex.tv's PIN
 * ids are sequential, so the backend asks for the PIN's `code` too (a strong code, ~25 random
 * characters, only ever given to the browser that created the PIN) and answers 404 to a wrong one,
 * as to an unknown PIN. The approved token goes to the browser once: the response that reports the
 * approval carries it (`Cache-Control: no-store`), a later check of the same PIN reads `expired`,
 * and the backend neither keeps nor logs it.
 *
 * @since 0.2.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Cache from "effect/Cache"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as PinLogin from "../PinLogin.js"
import * as PlexError from "../PlexError.js"
import { layerRedactHeaders } from "./authHttp.js"
import { PlexUnreachable, unreachable } from "./authModel.js"

/**
 * `POST /auth/pin`: a new PIN. Send the user to `authUrl` (a popup or a redirect); `code` is what
 * `GET /auth/pin/:id` asks for in its `X-Plex-Pin-Code` header; `expiresIn` is in seconds.
 *
 * @since 0.2.0
 * @category models
 */
export class PinCreated extends Schema.Class<PinCreated>("PlexAuth.PinCreated")({
  id: Schema.Number,
  code: Schema.String,
  authUrl: Schema.String,
  expiresIn: Schema.optional(Schema.Number)
}) {}

/**
 * `GET /auth/pin/:id`: `waiting` (ask again in a second or two), `approved` with the token (keep
 * it; it is not handed out again), or `expired` (the PIN expired, or its token was already handed
 * out: start over).
 *
 * @since 0.2.0
 * @category models
 */
export const PinStatus = Schema.Union(
  Schema.Struct({ state: Schema.Literal("waiting"), expiresIn: Schema.optional(Schema.Number) }),
  Schema.Struct({ state: Schema.Literal("approved"), token: Schema.Redacted(Schema.String) }),
  Schema.Struct({ state: Schema.Literal("expired") })
).annotations({ identifier: "PlexAuth.PinStatus" })

/**
 * The type of {@link PinStatus}; the token is `Redacted` on the server, a string on the wire.
 *
 * @since 0.2.0
 * @category models
 */
export type PinStatus = typeof PinStatus.Type

/**
 * 404: no PIN of this backend has that id and code.
 *
 * @since 0.2.0
 * @category errors
 */
export class PinNotFound extends Schema.TaggedError<PinNotFound>("PlexAuth.PinNotFound")(
  "PinNotFound",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No PIN of this service has that id and code." })
) {}

/**
 * The header `GET /auth/pin/:id` reads the PIN's code from (not the URL, which logs keep).
 *
 * @since 0.2.0
 * @category constants
 */
export const pinCodeHeader = "x-plex-pin-code"

/**
 * The sign-in endpoints, as an `HttpApiGroup` named `plexPin` to add to your `HttpApi`:
 * `POST /auth/pin` → 201 {@link PinCreated}; `GET /auth/pin/:id` with header `X-Plex-Pin-Code` →
 * {@link PinStatus}, 404 {@link PinNotFound}. Both answer 503 `PlexUnreachable` when plex.tv cannot
 * be reached. Public (no middleware); implement them with `layerPinApi`.
 *
 * @since 0.2.0
 * @category api
 */
export class PinApi extends HttpApiGroup.make("plexPin")
  .add(
    HttpApiEndpoint.post("createPin", "/auth/pin")
      .addSuccess(PinCreated, { status: 201 })
      .addError(PlexUnreachable)
      .annotate(OpenApi.Summary, "Start signing in with Plex: a new PIN and the Plex auth URL")
  )
  .add(
    HttpApiEndpoint.get("checkPin", "/auth/pin/:id")
      .setPath(Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()) }))
      .setHeaders(Schema.Struct({ [pinCodeHeader]: Schema.String }))
      .addSuccess(PinStatus)
      .addError(PinNotFound)
      .addError(PlexUnreachable)
      .annotate(OpenApi.Summary, "Whether the PIN is approved yet; the Plex token once it is")
  )
  .annotate(OpenApi.Description, "Sign in with Plex: the PIN flow, run by this server for the browser.")
{}

/**
 * Options of the sign-in endpoints: `forwardUrl`, where the Plex auth app sends the browser once
 * the user has signed in (your app's page; the browser's own value is never used); `strong`
 * (default `true`): long PIN codes, which the 404 above relies on (a 4-character code can be
 * guessed); `claims`: how many handed-out PINs are remembered, so none is handed out twice (default
 * 10,000, each for an hour, longer than a PIN lives).
 *
 * @since 0.2.0
 * @category models
 */
export interface PinApiOptions {
  readonly forwardUrl?: string | undefined
  readonly strong?: boolean | undefined
  readonly claims?: number | undefined
}

// No early exit: how long a wrong code takes to refuse says nothing about where it differs.
const sameCode = (a: string, b: string): boolean => {
  let diff = a.length ^ b.length
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i % Math.max(1, b.length))
  return diff === 0
}

const notFound = new PinNotFound({ message: "no PIN of this service has that id and code" })

// A PlexConfig without `product`, a request plex.tv calls bad: the backend's fault, a 500. The rest
// (unreachable, 5xx, 429, undecodable) is plex.tv's: a 503, logged.
const upstream = (error: PlexError.PlexError): Effect.Effect<never, PlexUnreachable> =>
  PlexError.isPlexBadRequest(error) || PlexError.isReason(error, "InvalidRequest")
    ? Effect.die(error)
    : Effect.zipRight(
      Effect.logWarning(`PlexAuth: the sign-in endpoints answer 503: ${error.message}`),
      Effect.fail(unreachable())
    )

const noStore = HttpApp.appendPreResponseHandler((_request, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "cache-control", "no-store"))
)

/**
 * The handlers of {@link PinApi}, from the `PinLogin` in context (its `PlexConfig` needs `product`:
 * the app name users see when they approve). Used by `layerPinApi`.
 *
 * @internal
 */
export const makePinHandlers = (options?: PinApiOptions) =>
  Effect.gen(function*() {
    const pins = yield* PinLogin.PinLogin
    const strong = options?.strong ?? true
    const forward = options?.forwardUrl === undefined ? undefined : { forwardUrl: options.forwardUrl }
    // Which PINs have handed out their token: the first check to claim one gets its own fiber id back.
    const claims = yield* Cache.make({
      capacity: Math.max(1, Math.floor(options?.claims ?? 10_000)),
      timeToLive: "1 hour",
      lookup: (_id: number) => Effect.fiberId
    })
    const claim = (id: number) =>
      Effect.flatMap(Effect.fiberId, (self) => Effect.map(claims.get(id), (owner) => Equal.equals(owner, self)))

    const createPin = () =>
      pins.createPin({ strong }).pipe(
        Effect.map((pin) =>
          new PinCreated({
            id: pin.id,
            code: pin.code,
            authUrl: pins.authUrl(pin, forward),
            ...(typeof pin.expiresIn === "number" ? { expiresIn: pin.expiresIn } : {})
          })
        ),
        Effect.catchAll(upstream)
      )

    const checkPin = (id: number, code: string): Effect.Effect<PinStatus, PinNotFound | PlexUnreachable> =>
      Effect.zipRight(
        noStore,
        pins.checkPin(id).pipe(
          Effect.flatMap((pin): Effect.Effect<PinStatus, PinNotFound> => {
            if (!sameCode(pin.code, code)) return Effect.fail(notFound)
            const token = pin.authToken
            if (token === undefined) {
              return Effect.succeed(
                typeof pin.expiresIn === "number"
                  ? { state: "waiting", expiresIn: pin.expiresIn }
                  : { state: "waiting" }
              )
            }
            return Effect.map(claim(pin.id), (first) => first ? { state: "approved", token } : { state: "expired" })
          }),
          Effect.catchIf(PlexError.isReason("PinExpired"), () => Effect.succeed<PinStatus>({ state: "expired" })),
          Effect.catchIf(PlexError.isPlexError, upstream)
        )
      )

    return { createPin, checkPin }
  })

/**
 * Implements {@link PinApi} in your `HttpApi` (which must hold it) with the `PinLogin` in context,
 * whose `PlexConfig` keeps the client identifier and names the app (`product`) users approve.
 * Also keeps the PIN code header out of spans.
 *
 * ```ts
 * const api = HttpApi.make("app").add(PlexAuth.PinApi).add(MyGroup)
 * const PinLive = PlexAuth.layerPinApi(api, { forwardUrl: "https://app.example/signed-in" })
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerPinApi = <ApiId extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, ApiE, ApiR>(
  api: HttpApi.HttpApi<ApiId, Groups, ApiE, ApiR>,
  options?: PinApiOptions
): Layer.Layer<HttpApiGroup.ApiGroup<ApiId, "plexPin">, never, PinLogin.PinLogin> =>
  Layer.merge(
    HttpApiBuilder.group(
      api as unknown as HttpApi.HttpApi<ApiId, typeof PinApi, never, never>,
      "plexPin",
      (handlers) =>
        Effect.map(makePinHandlers(options), (pins) =>
          handlers
            .handle("createPin", () => pins.createPin())
            .handle("checkPin", ({ headers, path }) => pins.checkPin(path.id, headers[pinCodeHeader])))
    ),
    layerRedactHeaders
  )
