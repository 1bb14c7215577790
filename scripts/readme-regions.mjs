// Keeps README.md's code blocks identical to the `// #region NAME` blocks of the examples they
// come from. `node scripts/readme-regions.mjs` rewrites README.md; `--check` only reports drift
// (test/examples.test.ts runs the check, so a README example cannot rot).
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const marker = /<!-- region: (\S+?)#(\S+?) -->\n```ts\n[\s\S]*?```/g

/** The text between `// #region name` and the next `// #endregion` of an examples file. */
export const region = (file, name) => {
  const text = fs.readFileSync(path.join(root, file), "utf8")
  const start = text.indexOf(`// #region ${name}\n`)
  if (start === -1) throw new Error(`${file} has no region ${name}`)
  const from = start + `// #region ${name}\n`.length
  const end = text.indexOf("// #endregion", from)
  if (end === -1) throw new Error(`${file} region ${name} is not closed`)
  return text.slice(from, end).replace(/\n+$/, "\n")
}

/** README.md with every marked block replaced by its region. */
export const synced = (readme) =>
  readme.replace(marker, (_, file, name) => `<!-- region: ${file}#${name} -->\n\`\`\`ts\n${region(file, name)}\`\`\``)

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(root, "README.md")
  const current = fs.readFileSync(file, "utf8")
  const next = synced(current)
  if (process.argv.includes("--check")) {
    if (next !== current) {
      console.error("README.md is out of date with examples/: run node scripts/readme-regions.mjs")
      process.exit(1)
    }
  } else {
    fs.writeFileSync(file, next)
  }
}
