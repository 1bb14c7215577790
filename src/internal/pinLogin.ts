/**
 * The PinLogin operations as endpoints of the one request path.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import * as PlexError from "../PlexError.js"
import type { PublicJwk } from "./jwtModel.js"
import { isPinId, type Pin, pin } from "./pinModel.js"
import * as Request from "./request.js"

/** @internal */
export const module = "PinLogin"

/** @internal */
export interface CreatePinInput {
  readonly strong: boolean
  readonly clientIdentifier: string
  readonly product: string | undefined
}

interface CreateKeyPinInput extends CreatePinInput {
  readonly jwk: PublicJwk
}

interface CheckKeyPinInput {
  readonly id: number
  readonly deviceJwt: Redacted.Redacted<string>
}

const validateCreate = (input: CreatePinInput) =>
  input.clientIdentifier.trim() === ""
    ? "a PIN needs X-Plex-Client-Identifier: set PlexConfig clientIdentifier"
    : input.product === undefined || input.product.trim() === ""
    ? "a PIN needs X-Plex-Product: set PlexConfig product (the app name users see under Authorized Devices)"
    : undefined

const pinExpired = {
  reason: "PinExpired",
  detail: "the PIN expired or is unknown to plex.tv"
} as const

/** The PinLogin operations, declared. @internal */
export const endpoints = {
  createPin: Request.endpoint<CreatePinInput, Pin>({
    module,
    operation: "createPin",
    host: "plexTv",
    method: "POST",
    path: () => "/pins",
    token: "none",
    idempotent: false,
    validate: validateCreate,
    query: (input) => ({ strong: input.strong ? "true" : undefined }),
    attributes: (input) => ({ "plex.pin.strong": input.strong }),
    success: pin
  }),
  // A PIN with a device key: clients.plex.tv, the key and `strong` in a JSON body.
  createKeyPin: Request.endpoint<CreateKeyPinInput, Pin>({
    module,
    operation: "createPin",
    host: "clients",
    method: "POST",
    path: () => "/pins",
    token: "none",
    idempotent: false,
    validate: (input) =>
      validateCreate(input) ??
        (input.jwk.kid === "" || input.jwk.x === "" ? "the PIN's JWK needs its x and kid" : undefined),
    json: (input) => ({ jwk: input.jwk, strong: input.strong }),
    attributes: (input) => ({ "plex.pin.strong": input.strong, "plex.pin.jwk": true }),
    success: pin
  }),
  checkPin: Request.endpoint<number, Pin>({
    module,
    operation: "checkPin",
    host: "plexTv",
    method: "GET",
    path: (id) => `/pins/${id}`,
    token: "none",
    idempotent: true,
    validate: (id) => isPinId(id) ? undefined : "the PIN id must be a positive integer",
    // The PIN id (with the public client identifier) redeems the token.
    urlSecrets: (id) => [String(id)],
    statusReasons: { 404: pinExpired },
    codeReasons: { [PlexError.ErrorCode.PinNotFound]: pinExpired },
    success: pin
  }),
  // Checking a PIN created with a device key: the device JWT rides in the query, as a secret.
  checkKeyPin: Request.endpoint<CheckKeyPinInput, Pin>({
    module,
    operation: "checkPin",
    host: "clients",
    method: "GET",
    path: (input) => `/pins/${input.id}`,
    token: "none",
    idempotent: true,
    validate: (input) => isPinId(input.id) ? undefined : "the PIN id must be a positive integer",
    urlSecrets: (input) => [String(input.id)],
    query: (input) => ({ deviceJWT: input.deviceJwt }),
    statusReasons: { 404: pinExpired },
    codeReasons: { [PlexError.ErrorCode.PinNotFound]: pinExpired },
    success: pin
  }),
  linkPin: Request.endpoint<Redacted.Redacted<string>, void>({
    module,
    operation: "linkPin",
    host: "plexTv",
    method: "PUT",
    path: () => "/pins/link",
    token: "required",
    idempotent: false,
    validate: (code) => Redacted.value(code).trim() === "" ? "the PIN code must not be empty" : undefined,
    // Redacted, so the runner scrubs the code from error excerpts.
    form: (code) => ({ code }),
    statusReasons: { 404: pinExpired },
    codeReasons: { [PlexError.ErrorCode.PinNotFound]: pinExpired },
    success: undefined
  })
}
