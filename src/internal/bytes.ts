/**
 * Byte helpers shared by the SDK and PlexFake (platform-agnostic: no Node `Buffer`).
 *
 * @internal
 */

/** Joins chunks into one array; a single chunk is returned as it is. @internal */
export const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]
  let size = 0
  for (const chunk of chunks) size += chunk.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}
