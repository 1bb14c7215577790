/**
 * Assertions for the JWT secrets properties: find any secret (or an 8-character window of one) in
 * what test/support/capture.ts renders of a run.
 */
import { assert } from "@effect/vitest"
import { findSecret } from "./arbitraries.js"

export { capturing, makeCapture, renderExit, renderValue } from "../support/capture.js"

/** Fails listing every place a secret shows. Empty secrets are skipped. */
export const assertNoSecret = (
  renderings: Record<string, string>,
  secrets: Record<string, string | undefined>,
  context: string
) => {
  const leaks: Array<string> = []
  for (const [where, text] of Object.entries(renderings)) {
    for (const [what, value] of Object.entries(secrets)) {
      if (value === undefined || value.length < 8) continue
      const found = findSecret(text, value)
      if (found !== undefined) leaks.push(`- the ${what} (${found}) in ${where}`)
    }
  }
  assert.isEmpty(leaks, `${context}: secrets leak\n${leaks.join("\n")}`)
}

/** The parts of a JWT that are secret: its payload and signature (the header is public). */
export const jwtSecrets = (name: string, jwt: string | undefined): Record<string, string | undefined> => {
  if (jwt === undefined) return {}
  const [, payload, signature] = jwt.split(".")
  return { [`${name} payload`]: payload, [`${name} signature`]: signature, [name]: jwt }
}
