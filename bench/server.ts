/**
 * The benchmark's loopback server, run in its own process so its CPU never counts against the
 * client being measured. Answers the four Authentication operations with real fixture bodies and
 * `Content-Length`, listens on 127.0.0.1 on a free port, and reports the port over IPC (or as
 * `PORT <n>` on stdout when not forked). Exits when its parent goes away, and in any case after 15
 * minutes.
 */
import { readFileSync } from "node:fs"
import * as http from "node:http"

const fixture = (name: string): Buffer => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url))

const user = fixture("post-users-sign-in-data.201.spec-test-1.json")
const transientToken = fixture("get-transient-token.200.json")
const resources = fixture("get-source-connection-information.200.json")
const unauthorized = Buffer.from(
  JSON.stringify({ errors: [{ code: 1001, message: "User could not be authenticated" }] })
)

const send = (res: http.ServerResponse, status: number, body: Buffer): void => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": body.length })
  res.end(body)
}

// Every route checks what a real server would (token header, form fields), so a client that stopped
// sending them would fail the benchmark instead of being measured doing less.
const server = http.createServer((req, res) => {
  const path = (req.url ?? "/").split("?", 1)[0]
  const hasToken = typeof req.headers["x-plex-token"] === "string" && req.headers["x-plex-token"] !== ""
  if (req.method === "POST" && path === "/api/v2/users/signin") {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
      const ok = req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") &&
        form.get("login") !== null && form.get("password") !== null
      send(res, ok ? 201 : 401, ok ? user : unauthorized)
    })
    return
  }
  req.resume()
  // A PMS answers /security/token on any verb (the SDK sends POST); the rest are GETs.
  if (req.method !== "GET" && !(req.method === "POST" && path === "/security/token")) {
    return send(res, 404, unauthorized)
  }
  if (!hasToken) return send(res, 401, unauthorized)
  switch (path) {
    case "/api/v2/user":
      return send(res, 200, user)
    case "/security/token":
      return send(res, 200, transientToken)
    case "/security/resources":
      return send(res, 200, resources)
    default:
      return send(res, 404, unauthorized)
  }
})
server.keepAliveTimeout = 30_000
server.maxRequestsPerSocket = 0

server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  if (process.send) process.send({ port })
  else console.log(`PORT ${port}`)
})

// Never outlive the process that started it: with IPC the channel closing says so; without IPC
// (plain spawn) being re-parented does. A hard cap covers anything else.
process.on("disconnect", () => process.exit(0))
process.on("SIGTERM", () => process.exit(0))
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(0)
}, 500).unref()
setTimeout(() => process.exit(0), 15 * 60_000).unref()
