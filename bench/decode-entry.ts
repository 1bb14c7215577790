/**
 * What bench/decode.ts measures, bundled by it with esbuild (no keep-names helpers, packages
 * external): the SDK's single-pass user decoder, the model's own schema, and the XML mapping.
 */
import * as Schema from "effect/Schema"
import * as M from "../src/internal/model.js"
import * as Xml from "../src/internal/xml.js"
import { kinds, PlexUser } from "../src/Models.js"
import { PlainUser } from "./plain.js"

const fast = M.decoder(kinds.user)

export const decoders = {
  /** The SDK's request path: one pass over the table, dropped values counted. */
  sdk: (u: unknown) => {
    const out = fast.decode(u, M.makeIssues())
    if (out === M.Invalid) throw new Error("sdk: invalid")
    return out
  },
  /** `Schema.decodeUnknown(PlexUser)`: the same leniency through the schema machinery. */
  schema: Schema.decodeUnknownSync(PlexUser),
  /** The floor: a plain Schema.Struct of the same fields (fails on bodies with other types). */
  plain: Schema.decodeUnknownSync(PlainUser)
}

/** An XML body as the request path maps it onto the JSON shape. */
export const xmlToJson = (text: string): unknown => {
  const root = Xml.parse(text)
  if (typeof root === "string") throw new Error(root)
  return Xml.toJson(root)
}
