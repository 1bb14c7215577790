/**
 * The Resources operations as endpoints of the one request path: the account's devices on plex.tv,
 * and a Plex Media Server's `/identity` (the probe `connect` races).
 *
 * @internal
 */
import * as Request from "./request.js"
import { type Identity, identityDecoder, type ResourceList, resourcesDecoder } from "./resourceModels.js"

const module = "Resources"

/** The query flags of `listResources`, resolved (each `true` unless turned off). @internal */
export interface ListParams {
  readonly includeHttps: boolean
  readonly includeRelay: boolean
  readonly includeIPv6: boolean
}

const flag = (on: boolean) => on ? "1" : "0"

/** @internal */
export const endpoints = {
  listResources: Request.endpoint<ListParams, ResourceList>({
    module,
    operation: "listResources",
    host: "plexTv",
    method: "GET",
    path: () => "/resources",
    token: "required",
    idempotent: true,
    query: (p) => ({
      includeHttps: flag(p.includeHttps),
      includeRelay: flag(p.includeRelay),
      includeIPv6: flag(p.includeIPv6)
    }),
    success: resourcesDecoder
  }),
  // The server's own access token goes along: it is what the server accepts from this account, and
  // a probe must never carry the account token to a server that has its own.
  identity: Request.endpoint<void, Identity>({
    module,
    operation: "identity",
    host: "pms",
    method: "GET",
    path: () => "/identity",
    token: "required",
    idempotent: true,
    envelope: "MediaContainer",
    success: identityDecoder
  })
}
