/**
 * The hand-written baseline: what a careful user would write with plain `fetch` for the same four
 * requests: the same headers, the token header, `redirect: "manual"` (as the SDK sets), a status
 * check and `JSON.parse` of the body. No validation, no retries, no timeouts, no spans.
 */

/** The operations the benchmark measures, by name. */
export const operations = [
  "getTokenDetails",
  "postUsersSignInData",
  "getTransientToken",
  "getSourceConnectionInformation"
] as const

export type Operation = (typeof operations)[number]

/** The identity headers both the SDK (through PlexConfig) and the baseline send. */
export const identity = {
  clientIdentifier: "bench-client-0001",
  product: "effect-plex-bench",
  version: "0.1.0",
  platform: "Node.js",
  device: "bench"
} as const

export const benchToken = "bench-token-abcdefghij"
export const benchLogin = "bench@example.com"
export const benchPassword = "correct horse battery staple"
export const benchSource = "server://243b471948ace337a8f92f129ec97d1902fcb1df"

/** The same header set PlexConfig.make computes from {@link identity}. */
export const identityHeaders: Record<string, string> = {
  accept: "application/json",
  "x-plex-client-identifier": identity.clientIdentifier,
  "x-plex-product": identity.product,
  "x-plex-version": identity.version,
  "x-plex-platform": identity.platform,
  "x-plex-device": identity.device
}

const fail = (operation: string, status: number): never => {
  throw new Error(`${operation}: unexpected HTTP status ${status}`)
}

/** Raw-fetch implementations of the four operations against `origin` (e.g. `http://127.0.0.1:1234`). */
export const makeBaseline = (origin: string): Record<Operation, () => Promise<unknown>> => {
  const plexTv = `${origin}/api/v2`
  const withToken = { ...identityHeaders, "x-plex-token": benchToken }
  const formHeaders = { ...identityHeaders, "content-type": "application/x-www-form-urlencoded" }
  const query = (params: Record<string, string>) => new URLSearchParams(params).toString()
  return {
    getTokenDetails: async () => {
      const response = await fetch(`${plexTv}/user`, { headers: withToken, redirect: "manual" })
      if (response.status !== 200) fail("getTokenDetails", response.status)
      return JSON.parse(await response.text())
    },
    postUsersSignInData: async () => {
      const response = await fetch(`${plexTv}/users/signin`, {
        method: "POST",
        headers: formHeaders,
        body: query({ login: benchLogin, password: benchPassword, rememberMe: "false" }),
        redirect: "manual"
      })
      if (response.status !== 201) fail("postUsersSignInData", response.status)
      return JSON.parse(await response.text())
    },
    getTransientToken: async () => {
      // POST with no body, as the SDK sends it (the only verb the current spec declares).
      const response = await fetch(`${origin}/security/token?${query({ type: "delegation", scope: "all" })}`, {
        method: "POST",
        headers: withToken,
        redirect: "manual"
      })
      if (response.status !== 200) fail("getTransientToken", response.status)
      return JSON.parse(await response.text())
    },
    getSourceConnectionInformation: async () => {
      const response = await fetch(`${origin}/security/resources?${query({ source: benchSource })}`, {
        headers: withToken,
        redirect: "manual"
      })
      if (response.status !== 200) fail("getSourceConnectionInformation", response.status)
      return JSON.parse(await response.text())
    }
  }
}
