/**
 * PlexFake's one typed error. It lives here, not in `PlexFake.ts`, because the areas fail with it at
 * run time and must not import the public module (which imports them); `PlexFake.ts` re-exports it.
 */
import * as Data from "effect/Data"

/**
 * The failure of a control that was given something the fake does not know or cannot accept (e.g.
 * an unknown PIN or token in `Service.approvePin`, a login that is already taken in
 * `Service.addAccount`).
 *
 * @since 0.1.0
 * @category errors
 */
export class PlexFakeError extends Data.TaggedError("PlexFakeError")<{ readonly message: string }> {}
