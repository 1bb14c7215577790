/**
 * What Node prints for an SDK failure nobody caught. unhandled-child.ts runs a failing operation with
 * `Effect.runPromise` and lets the rejection go unhandled; Node then prints the `FiberFailure`, its
 * stack, and the inspected `Cause` with the error's fields. None of that may hold the token or the
 * password, even though the server (or the transport) echoed them; the error's tag must be there, so
 * the test would notice an empty or unrelated output.
 */
import { assert, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { runTsChild } from "../support/child.js"
import { findSecret } from "./arbitraries.js"

const child = fileURLToPath(new URL("./unhandled-child.ts", import.meta.url))

const randomSecret = () => `SECRET${randomBytes(12).toString("hex").toUpperCase()}`

const runChild = (which: string, token: string, password: string) =>
  runTsChild(child, { PLEX_CHILD_CASE: which, PLEX_CHILD_TOKEN: token, PLEX_CHILD_PASSWORD: password })

const cases = [
  { which: "sign-in", tag: "PlexUnauthorized", operation: "postUsersSignInData" },
  { which: "token-details", tag: "PlexSdkError", operation: "getTokenDetails" }
] as const

// Concurrent: each test waits on its own child process.
describe.concurrent("an unhandled SDK failure printed by Node", () => {
  for (const { operation, tag, which } of cases) {
    it(`${operation}: Node's report names ${tag} and holds neither the token nor the password`, async () => {
      const token = randomSecret()
      const password = randomSecret()
      const { code, output } = await runChild(which, token, password)

      assert.notStrictEqual(code, 0, `the child should have crashed:\n${output}`)
      assert.notInclude(output, "unexpected success")
      assert.include(output, tag, `Node's report does not name the error:\n${output}`)
      assert.include(output, operation)
      // The echoed secret reached the error and was replaced, rather than never being there.
      assert.include(output, "<redacted>", output)
      for (const [what, value] of [["token", token], ["password", password]] as const) {
        assert.isUndefined(findSecret(output, value), `the ${what} leaks in Node's report:\n${output}`)
      }
    })
  }
})
