/**
 * The Authentication operations as endpoints of the one request path.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import type { SourceParams, TransientTokenParams } from "../Authentication.js"
import {
  kinds,
  type PlexUser,
  type SignInRequest,
  type SourceConnectionInformation,
  type TransientToken
} from "../Models.js"
import * as Model from "./model.js"
import * as Request from "./request.js"

const module = "Authentication"

/** `GET /user` and sign-in bodies: the user object itself. */
const user = Model.decoder(kinds.user)

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
    // The spec declares only POST ("responds to all HTTP verbs but POST is preferred"); a server
    // built from it answers 405 to GET. Retried all the same: a repeated mint only yields another
    // short-lived token.
    method: "POST",
    path: () => "/security/token",
    token: "required",
    idempotent: true,
    validate: (p) =>
      (p.type ?? "delegation") !== "delegation" || (p.scope ?? "all") !== "all"
        ? "type must be \"delegation\" and scope \"all\" (the only values Plex supports)"
        : undefined,
    query: (p) => ({ type: p.type ?? "delegation", scope: p.scope ?? "all" }),
    envelope: "MediaContainer",
    success: Model.decoder(kinds.transientToken, "MediaContainer")
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
    success: Model.decoder(kinds.source, "MediaContainer")
  }),
  getTokenDetails: Request.endpoint<void, PlexUser>({
    module,
    operation: "getTokenDetails",
    host: "plexTv",
    method: "GET",
    path: () => "/user",
    token: "required",
    idempotent: true,
    success: user
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
    success: user
  })
}
