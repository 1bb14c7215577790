/**
 * What Node prints for a JWT failure nobody caught (unhandled-jwt-child.ts): the `FiberFailure`,
 * its stack and the inspected `Cause`. It must name the error, and hold no private key, nonce or
 * JWT (no compact JWS at all), although the server echoed them into its error body.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { PlexJwt } from "effect-plex"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { runTsChild } from "../support/child.js"
import { findSecret } from "./arbitraries.js"

const child = fileURLToPath(new URL("./unhandled-jwt-child.ts", import.meta.url))

/** A compact JWS: three base64url segments, the first a JSON header. */
const compactJws = /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*/

const runChild = (which: string, env: Record<string, string>) => runTsChild(child, { ...env, PLEX_CHILD_CASE: which })

const cases = [
  { which: "refresh", names: ["PlexSdkError", "exchangeToken"] },
  { which: "verify", names: ["PlexSdkError", "InvalidToken", "aud"] },
  { which: "layer-jwt", names: ["PlexSdkError", "exchangeToken"] }
] as const

describe.concurrent("an unhandled JWT failure printed by Node", () => {
  for (const { names, which } of cases) {
    it(`${which}: Node's report names the error and holds no private key, nonce or JWT`, async () => {
      const key = await Effect.runPromise(PlexJwt.generateKey)
      const privateJwk = (await import("effect")).Redacted.value(key.privateJwk)
      const nonce = `SECRET${randomBytes(12).toString("hex").toUpperCase()}`
      const { code, output } = await runChild(which, {
        PLEX_CHILD_NONCE: nonce,
        PLEX_CHILD_KEY: JSON.stringify(privateJwk),
        PLEX_CHILD_KID: key.kid
      })
      assert.notStrictEqual(code, 0, `the child should have crashed:\n${output}`)
      assert.notInclude(output, "unexpected success")
      for (const name of names) assert.include(output, name, `Node's report does not name ${name}:\n${output}`)
      assert.isUndefined(findSecret(output, privateJwk.d), `the private key leaks:\n${output}`)
      assert.isUndefined(findSecret(output, nonce), `the nonce leaks:\n${output}`)
      assert.notMatch(output, compactJws, `a JWT leaks:\n${output}`)
    })
  }
})
