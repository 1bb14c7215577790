/**
 * A small, non-throwing XML reader for the bodies Plex sends when JSON is not honoured: plex.tv
 * users and errors, PMS `MediaContainer`s. It maps XML onto the JSON shape Plex uses for the same
 * resource, so one schema decodes both:
 *
 * - an element becomes an object of its attributes (string values);
 * - a child element becomes a property named after its tag; repeated tags become an array;
 * - a plural element with no attributes whose children all share one tag (or that is empty) is a
 *   list: `<features><feature id="a"/></features>` becomes `["a"]`, since an element carrying only
 *   `id` stands for that id;
 * - an element with only text becomes that text.
 *
 * @internal
 */

/** @internal */
export interface XmlElement {
  readonly tag: string
  readonly attributes: Record<string, string>
  readonly children: Array<XmlElement>
  text: string
}

const MAX_DEPTH = 64

// Keys that would reach Object.prototype when assigned on a plain object.
const unsafeKeys = new Set(["__proto__", "constructor", "prototype"])

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

const decodeEntities = (s: string): string =>
  s.indexOf("&") === -1 ? s : s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body[0] === "#") {
      const code = body[1] === "x" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10)
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return entities[body] ?? whole
  })

const nameChar = /[A-Za-z0-9_:.-]/

/** The `>` closing a tag, skipping any inside quoted attribute values (`title="a>b"` is legal). */
const tagEnd = (input: string, from: number): number => {
  let quote = ""
  for (let i = from; i < input.length; i++) {
    const c = input[i]
    if (quote !== "") {
      if (c === quote) quote = ""
    } else if (c === "\"" || c === "'") {
      quote = c
    } else if (c === ">") {
      return i
    }
  }
  return -1
}
const attributePattern = /([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g

/**
 * Parses a document into its root element, or returns a short reason (never a piece of the input).
 *
 * @internal
 */
export const parse = (input: string): XmlElement | string => {
  let i = 0
  const n = input.length
  const stack: Array<XmlElement> = []
  let root: XmlElement | undefined
  while (i < n) {
    const lt = input.indexOf("<", i)
    if (lt === -1) {
      if (input.slice(i).trim() !== "" && stack.length === 0) return "text outside the root element"
      if (stack.length > 0) stack[stack.length - 1].text += decodeEntities(input.slice(i))
      break
    }
    if (lt > i) {
      const text = input.slice(i, lt)
      if (stack.length > 0) stack[stack.length - 1].text += decodeEntities(text)
      else if (text.trim() !== "") return "text outside the root element"
    }
    if (input.startsWith("<?", lt)) {
      const end = input.indexOf("?>", lt + 2)
      if (end === -1) return "unterminated processing instruction"
      i = end + 2
      continue
    }
    if (input.startsWith("<!--", lt)) {
      const end = input.indexOf("-->", lt + 4)
      if (end === -1) return "unterminated comment"
      i = end + 3
      continue
    }
    if (input.startsWith("<![CDATA[", lt)) {
      const end = input.indexOf("]]>", lt + 9)
      if (end === -1) return "unterminated CDATA section"
      if (stack.length > 0) stack[stack.length - 1].text += input.slice(lt + 9, end)
      i = end + 3
      continue
    }
    if (input.startsWith("<!", lt)) {
      // A DOCTYPE: skipped, never expanded.
      const end = input.indexOf(">", lt + 2)
      if (end === -1) return "unterminated declaration"
      i = end + 1
      continue
    }
    const gt = tagEnd(input, lt + 1)
    if (gt === -1) return "unterminated tag"
    if (input[lt + 1] === "/") {
      const name = input.slice(lt + 2, gt).trim()
      const open = stack.pop()
      if (open === undefined || open.tag !== name) return "mismatched closing tag"
      if (stack.length === 0) root = open
      i = gt + 1
      continue
    }
    if (root !== undefined) return "more than one root element"
    let j = lt + 1
    while (j < gt && nameChar.test(input[j])) j++
    const tag = input.slice(lt + 1, j)
    if (tag === "") return "malformed tag"
    const selfClosing = input[gt - 1] === "/"
    const attributeText = input.slice(j, selfClosing ? gt - 1 : gt)
    const attributes: Record<string, string> = {}
    attributePattern.lastIndex = 0
    let match: RegExpExecArray | null
    let consumed = 0
    while ((match = attributePattern.exec(attributeText)) !== null) {
      if (!unsafeKeys.has(match[1])) attributes[match[1]] = decodeEntities(match[3] ?? match[4] ?? "")
      consumed += match[0].length
    }
    if (attributeText.replace(/\s+/g, "").length > consumed) {
      // Something other than name="value" pairs: tolerate whitespace only.
      const rest = attributeText.replace(attributePattern, "").trim()
      if (rest !== "") return "malformed attributes"
    }
    const element: XmlElement = { tag, attributes, children: [], text: "" }
    if (stack.length > 0) stack[stack.length - 1].children.push(element)
    if (selfClosing) {
      if (stack.length === 0) root = element
    } else {
      if (stack.length >= MAX_DEPTH) return "nested too deeply"
      stack.push(element)
    }
    i = gt + 1
  }
  if (stack.length > 0) return "unclosed element"
  if (root === undefined) return "no root element"
  return root
}

/**
 * A list container: a plural tag (`features`, `errors`, `services`) with no attributes, no text, and
 * children that all share one tag. Singular containers (`MediaContainer`, `subscription`, `profile`)
 * stay objects even when they happen to have no attributes.
 */
const isList = (element: XmlElement): boolean => {
  if (!element.tag.endsWith("s") || element.text.trim() !== "") return false
  if (Object.keys(element.attributes).length > 0) return false
  if (element.children.length === 0) return true
  const tag = element.children[0].tag
  return element.children.every((child) => child.tag === tag)
}

/**
 * Converts an element into the JSON shape described in the module comment.
 *
 * @internal
 */
export const toJson = (element: XmlElement): unknown => {
  const attributeNames = Object.keys(element.attributes)
  if (isList(element)) return element.children.map(toJson)
  if (element.children.length === 0) {
    const text = element.text.trim()
    if (attributeNames.length === 0 && text !== "") return text
    if (attributeNames.length === 1 && attributeNames[0] === "id") return element.attributes.id
  }
  const out: Record<string, unknown> = {}
  for (const name of attributeNames) {
    if (!unsafeKeys.has(name)) out[name] = element.attributes[name]
  }
  const grouped = new Map<string, Array<unknown>>()
  for (const child of element.children) {
    if (unsafeKeys.has(child.tag)) continue
    const values = grouped.get(child.tag)
    if (values === undefined) grouped.set(child.tag, [toJson(child)])
    else values.push(toJson(child))
  }
  for (const [tag, values] of grouped) out[tag] = values.length === 1 ? values[0] : values
  return out
}
