/**
 * The Authentication operations as endpoints of the one request path.
 *
 * @internal
 */
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { SourceParams, TransientTokenParams } from "../Authentication.js"
import { PlexUser, type SignInRequest, SourceConnectionInformation, SourceDevice, TransientToken } from "../Models.js"
import { OneOrMany } from "./lenient.js"
import * as Request from "./request.js"

const module = "Authentication"

const TransientTokenBody = Schema.Struct({
  MediaContainer: Schema.Struct({ token: TransientToken.fields.token })
}).pipe(Schema.transform(Schema.typeSchema(TransientToken), {
  strict: true,
  decode: (body) => new TransientToken({ token: body.MediaContainer.token }, true),
  encode: (token) => ({ MediaContainer: { token: token.token } })
}))

const SourceBody = Schema.Struct({
  MediaContainer: Schema.Struct({ Device: OneOrMany(SourceDevice) })
}).pipe(Schema.transformOrFail(Schema.typeSchema(SourceConnectionInformation), {
  strict: true,
  decode: (body, _, ast) => {
    const [first, ...rest] = body.MediaContainer.Device
    return first === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, body, "MediaContainer has no Device"))
      : ParseResult.succeed(new SourceConnectionInformation({ devices: [first, ...rest] }, true))
  },
  encode: (info) => ParseResult.succeed({ MediaContainer: { Device: info.devices } })
}))

const sourcePattern = /^(server|provider):\/\/\S+$/

/**
 * The four operations, declared. Shared with TokenLifecycle, whose `validateToken` is `GET /user`.
 *
 * @internal
 */
export const endpoints = {
  getTransientToken: Request.endpoint<TransientTokenParams, TransientToken>({
    module,
    operation: "getTransientToken",
    host: "pms",
    method: "GET",
    path: () => "/security/token",
    token: "required",
    idempotent: true,
    validate: (p) =>
      (p.type ?? "delegation") !== "delegation" || (p.scope ?? "all") !== "all"
        ? "type must be \"delegation\" and scope \"all\" (the only values Plex supports)"
        : undefined,
    query: (p) => ({ type: p.type ?? "delegation", scope: p.scope ?? "all" }),
    envelope: "MediaContainer",
    success: TransientTokenBody
  }),
  getSourceConnectionInformation: Request.endpoint<SourceParams, SourceConnectionInformation>({
    module,
    operation: "getSourceConnectionInformation",
    host: "pms",
    method: "GET",
    path: () => "/security/resources",
    token: "required",
    idempotent: true,
    validate: (p) =>
      typeof p.source === "string" && sourcePattern.test(p.source)
        ? undefined
        : "source must look like server://<machineIdentifier> or provider://<providerIdentifier>",
    query: (p) => ({ source: p.source, refresh: p.refresh === undefined ? undefined : p.refresh ? "1" : "0" }),
    attributes: (p) => ({ "plex.source": p.source }),
    envelope: "MediaContainer",
    success: SourceBody
  }),
  getTokenDetails: Request.endpoint<void, PlexUser>({
    module,
    operation: "getTokenDetails",
    host: "plexTv",
    method: "GET",
    path: () => "/user",
    token: "required",
    idempotent: true,
    success: PlexUser
  }),
  postUsersSignInData: Request.endpoint<SignInRequest, PlexUser>({
    module,
    operation: "postUsersSignInData",
    host: "plexTv",
    method: "POST",
    path: () => "/users/signin",
    token: "none",
    idempotent: false,
    validate: (r) =>
      r.login.trim() === ""
        ? "login must not be empty"
        : Redacted.value(r.password) === ""
        ? "password must not be empty"
        : r.verificationCode !== undefined && Redacted.value(r.verificationCode).trim() === ""
        ? "verificationCode must not be empty when given"
        : undefined,
    form: (r) => ({
      login: r.login,
      password: r.password,
      rememberMe: r.rememberMe === undefined ? "false" : String(r.rememberMe),
      verificationCode: r.verificationCode
    }),
    success: PlexUser
  })
}
