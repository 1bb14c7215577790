/**
 * `npm run bench:auth`: what signing requests in with PlexAuth costs a server, on loopback only.
 *
 * Three processes: PlexFake (plex.tv and a Plex Media Server, 127.0.0.1), the backend under test (an
 * `HttpApi` on `NodeHttpServer`, 127.0.0.1), and this driver, which loads the backend with
 * autocannon. The backend serves the example's `/me` handler four ways: `GET /open/me` with no
 * authentication; `GET /plain/me` behind an `HttpApi` security middleware on the same header that
 * does nothing (the platform's own share); `GET /user/me` behind `PlexAuth.Authenticated`; and
 * `GET /me` behind it plus the handler's `requireServerAccess` for the operator's server (two cache
 * hits per request once warm). Rounds run the routes in alternating order so machine drift cancels
 * in the ratios. Reported:
 *
 * - requests per second of each route, and each as a share of `/open/me` (goal for `/me`: ≥ 90%);
 * - the backend's CPU per request on each route (its `process.cpuUsage`), whose differences split the
 *   cost between the platform's security middleware, PlexAuth's authentication and the server check;
 * - one cache hit in a process of its own (`authenticate`, `requireServerAccess`, the SHA-256 alone),
 *   CPU per call;
 * - plex.tv calls per 10,000 requests, counted at the fake.
 *
 * `BENCH_QUICK=1` (or `--quick`) for a short run; `BENCH_PROFILE=<dir>` writes the backend's CPU
 * profile there.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as HttpServer from "@effect/platform/HttpServer"
import autocannon from "autocannon"
import { Authentication, type Models, Plex } from "effect-plex"
import * as PlexAuth from "effect-plex/PlexAuth"
import { PlexFake } from "effect-plex/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type ChildProcess, fork } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { hashToken } from "../src/internal/authCache.js"

const quick = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick")
const settings = quick
  ? { rounds: 1, seconds: 3, warmupSeconds: 2, connections: 32, hits: 20_000 }
  : { rounds: 3, seconds: 8, warmupSeconds: 4, connections: 32, hits: 200_000 }

interface FakeInfo {
  readonly plexTvUrl: string
  readonly token: string
  readonly machineIdentifier: string
}

// --- the backend under test ---------------------------------------------------------------------------

class Me extends Schema.Class<Me>("Me")({
  id: Schema.Number,
  uuid: Schema.String,
  username: Schema.String,
  title: Schema.String,
  email: Schema.String,
  serverAccess: Schema.Boolean
}) {}

/**
 * The control for the platform's share: a security middleware on the same header that does no
 * work (it hands on the token it is given), so `/plain/me` costs what `HttpApiMiddleware` security
 * itself costs (decoding the header, wrapping the handler), and `/me` minus `/plain/me` is PlexAuth.
 */
class Token extends Context.Tag("bench/Token")<Token, Redacted.Redacted<string>>() {}
class PlainSecurity extends HttpApiMiddleware.Tag<PlainSecurity>()("bench/PlainSecurity", {
  provides: Token,
  security: { plexToken: HttpApiSecurity.apiKey({ in: "header", key: "X-Plex-Token" }) }
}) {}

class Api extends HttpApi.make("bench")
  .add(HttpApiGroup.make("open").add(HttpApiEndpoint.get("me", "/open/me").addSuccess(Me)))
  .add(
    HttpApiGroup.make("plain").add(HttpApiEndpoint.get("me", "/plain/me").addSuccess(Me)).middleware(PlainSecurity)
  )
  .add(HttpApiGroup.make("me").add(HttpApiEndpoint.get("me", "/me").addSuccess(Me)).middleware(PlexAuth.Authenticated))
  .add(
    HttpApiGroup.make("user").add(HttpApiEndpoint.get("me", "/user/me").addSuccess(Me)).middleware(
      PlexAuth.Authenticated
    )
  )
{}

const sdkFor = (info: FakeInfo) =>
  Plex.layer({ clientIdentifier: "bench-auth", product: "bench:auth", plexTvUrl: info.plexTvUrl }).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )

const backend = (info: FakeInfo) =>
  Effect.gen(function*() {
    // The open route's user: fetched once, as the authenticated route's handler gets it per request.
    const fixed: Models.PlexUser = yield* Authentication.getTokenDetails({ token: Redacted.make(info.token) })
    const handler = (user: Models.PlexUser, serverAccess: boolean) =>
      new Me({
        id: user.id,
        uuid: user.uuid,
        username: user.username,
        title: user.title,
        email: user.email,
        serverAccess
      })
    const ApiLive = HttpApiBuilder.api(Api).pipe(
      Layer.provide([
        HttpApiBuilder.group(Api, "open", (h) => h.handle("me", () => Effect.succeed(handler(fixed, true)))),
        HttpApiBuilder.group(Api, "plain", (h) => h.handle("me", () => Effect.as(Token, handler(fixed, true)))),
        // Authentication alone: the signed-in user, no server-access check.
        HttpApiBuilder.group(Api, "user", (h) =>
          h.handle("me", () =>
            Effect.map(PlexAuth.CurrentPlexUser, (user) => handler(user, true)))),
        // The example's /me: the user, and whether they may use the operator's server (cached).
        HttpApiBuilder.group(Api, "me", (h) =>
          h.handle("me", () =>
            Effect.gen(function*() {
              const user = yield* PlexAuth.CurrentPlexUser
              const serverAccess = yield* PlexAuth.requireServerAccess(info.machineIdentifier).pipe(
                Effect.as(true),
                Effect.catchTag("ServerAccessDenied", () =>
                  Effect.succeed(false)),
                Effect.orDie
              )
              return handler(user, serverAccess)
            })))
      ]),
      Layer.provide(PlexAuth.layerMiddleware(PlexAuth.Authenticated)),
      Layer.provide(Layer.succeed(PlainSecurity, { plexToken: Effect.succeed }))
    )
    const context = yield* Layer.build(
      HttpApiBuilder.serve().pipe(
        Layer.provide(ApiLive),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
      )
    )
    const server = yield* Effect.provide(HttpServer.HttpServer, context)
    return HttpServer.formatAddress(server.address)
  })

const runBackend = (info: FakeInfo) => {
  const program = backend(info).pipe(
    Effect.tap((url) => Effect.sync(() => process.send!({ url }))),
    Effect.zipRight(Effect.never),
    Effect.scoped,
    Effect.provide(PlexAuth.layer({ server: info.machineIdentifier }).pipe(Layer.provideMerge(sdkFor(info))))
  )
  process.on("message", (message) => {
    if (message === "cpu") process.send!({ cpu: process.cpuUsage() })
  })
  process.on("disconnect", () => process.exit(0))
  Effect.runFork(program)
}

// --- the fake -----------------------------------------------------------------------------------------

const runFake = () => {
  const program = Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const urls = yield* PlexFake.PlexFakeServer
    const owner = yield* fake.addAccount({ login: "operator@example.com", password: "pw" })
    const user = yield* fake.addAccount({ login: "viewer@example.com", password: "pw" })
    const server = yield* fake.addServer({
      name: "Operator's Plex",
      owner: owner.login,
      sharedWith: [user.login],
      connections: [{}]
    })
    const info: FakeInfo = { plexTvUrl: urls.plexTvUrl, token: user.token, machineIdentifier: server.machineIdentifier }
    process.send!({ info })
    process.on("message", (message) => {
      if (message !== "calls") return
      Effect.runPromise(fake.requests).then((requests) =>
        process.send!({
          calls: {
            user: requests.filter((r) => r.path === "/api/v2/user").length,
            resources: requests.filter((r) => r.path === "/api/v2/resources").length
          }
        })
      )
    })
    return yield* Effect.never
  })
  process.on("disconnect", () => process.exit(0))
  Effect.runFork(Effect.scoped(Effect.provide(program, PlexFake.layerServer)))
}

// --- the driver ---------------------------------------------------------------------------------------

const ask = <A>(child: ChildProcess, question: string, key: string): Promise<A> =>
  new Promise((resolve) => {
    const listener = (message: any) => {
      if (message !== null && typeof message === "object" && key in message) {
        child.off("message", listener)
        resolve(message[key])
      }
    }
    child.on("message", listener)
    if (question !== "") child.send(question)
  })

/**
 * The children run a bundle of this file made with esbuild (no keep-names helpers, which tsx adds
 * around every function created and which would charge PlexAuth's closures, in `src/`, for calls
 * the platform's, in `dist/`, do not pay), placed under the project's `node_modules` so that its
 * bare imports find the project's packages.
 */
const bundle = async (): Promise<string> => {
  const esbuild = await import("esbuild")
  const root = fileURLToPath(new URL("..", import.meta.url))
  const cache = join(root, "node_modules/.cache")
  mkdirSync(cache, { recursive: true })
  const outfile = join(mkdtempSync(join(cache, "effect-plex-bench-auth-")), "auth.mjs")
  await esbuild.build({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile,
    bundle: true,
    // effect-plex itself (src, through tsconfig's paths) goes in; the packages it uses stay out.
    external: ["effect", "@effect/*", "jose", "autocannon", "esbuild"],
    format: "esm",
    platform: "node",
    target: "node20",
    tsconfig: join(root, "tsconfig.json"),
    logLevel: "error"
  })
  return outfile
}

const start = (script: string, role: string, args: ReadonlyArray<string> = []) =>
  fork(script, [`--${role}`, ...args], {
    execArgv: process.env.BENCH_PROFILE !== undefined && role === "backend"
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
      : []
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system

interface Segment {
  readonly rps: number
  readonly requests: number
  readonly cpuPerRequest: number
  readonly p50: number
  readonly p99: number
}

const load = async (server: ChildProcess, url: string, token: string | undefined, seconds: number) => {
  const before = await ask<NodeJS.CpuUsage>(server, "cpu", "cpu")
  const result = await autocannon({
    url,
    connections: settings.connections,
    duration: seconds,
    headers: token === undefined ? {} : { "x-plex-token": token }
  })
  const after = await ask<NodeJS.CpuUsage>(server, "cpu", "cpu")
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  const requests = result.requests.total
  return {
    rps: result.requests.average,
    requests,
    cpuPerRequest: (cpuMicros(after) - cpuMicros(before)) / requests,
    p50: result.latency.p50,
    p99: result.latency.p99
  } satisfies Segment
}

/** One cache hit, in a child of its own: PlexAuth over the SDK against the fake, warmed, then timed. */
const runHits = (info: FakeInfo) => {
  const runtime = ManagedRuntime.make(
    PlexAuth.layer({ server: info.machineIdentifier }).pipe(Layer.provideMerge(sdkFor(info)), Layer.orDie)
  )
  const program = async () => {
    const auth = await runtime.runPromise(PlexAuth.PlexAuth)
    const token = Redacted.make(info.token)
    const time = async (name: string, once: Effect.Effect<unknown, unknown>) => {
      await runtime.runPromise(Effect.repeatN(once, 20_000))
      const cpu0 = cpuMicros(process.cpuUsage())
      await runtime.runPromise(Effect.repeatN(once, settings.hits - 1))
      return { name, micros: (cpuMicros(process.cpuUsage()) - cpu0) / settings.hits }
    }
    const rows = [
      await time(
        "authenticate, cache hit (a fresh Redacted each call, as each request has)",
        Effect.suspend(() => auth.authenticate(Redacted.make(info.token)))
      ),
      await time(
        "requireServerAccess, cache hit (with CurrentPlexUser's authToken)",
        Effect.flatMap(
          auth.authenticate(token),
          (user) => auth.requireServerAccess(info.machineIdentifier, user.authToken)
        )
      ),
      await time("SHA-256 of the token alone", hashToken(info.token)),
      await time("for scale: Effect.succeed", Effect.succeed(1))
    ]
    await runtime.dispose()
    process.send!({ hits: rows })
  }
  process.on("disconnect", () => process.exit(0))
  program()
}

async function main() {
  const script = await bundle()
  const fake = start(script, "fake")
  const info = await ask<FakeInfo>(fake, "", "info")
  if (!info.plexTvUrl.startsWith("http://127.0.0.1:")) throw new Error(`not loopback: ${info.plexTvUrl}`)
  const server = start(script, "backend", [JSON.stringify(info)])
  const url = await ask<string>(server, "", "url")
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`not loopback: ${url}`)
  try {
    const calls = () => ask<{ user: number; resources: number }>(fake, "calls", "calls")
    const atStart = await calls()
    // Warm-up: the first /me misses (one GET /user, one GET /resources), every later one hits.
    await load(server, `${url}/open/me`, undefined, settings.warmupSeconds)
    await load(server, `${url}/me`, info.token, settings.warmupSeconds)
    const warm = await calls()
    const open: Array<Segment> = []
    const plain: Array<Segment> = []
    const user: Array<Segment> = []
    const authed: Array<Segment> = []
    const routes = [
      [open, "/open/me", undefined],
      [plain, "/plain/me", info.token],
      [user, "/user/me", info.token],
      [authed, "/me", info.token]
    ] as const
    await load(server, `${url}/plain/me`, info.token, settings.warmupSeconds)
    await load(server, `${url}/user/me`, info.token, settings.warmupSeconds)
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? routes : [...routes].reverse()
      for (const [into, path, token] of order) into.push(await load(server, `${url}${path}`, token, settings.seconds))
    }
    const after = await calls()
    const hitsChild = start(script, "hits", [JSON.stringify(info)])
    const hits = await ask<Array<{ name: string; micros: number }>>(hitsChild, "", "hits")
    hitsChild.disconnect()

    const rps = (xs: Array<Segment>) => median(xs.map((s) => s.rps))
    const cpu = (xs: Array<Segment>) => median(xs.map((s) => s.cpuPerRequest))
    const ratios = open.map((o, i) => authed[i]!.rps / o.rps)
    const measured = authed.reduce((n, s) => n + s.requests, 0)
    const plexCalls = after.user + after.resources - warm.user - warm.resources
    const row = (name: string, xs: Array<Segment>) =>
      `| ${name} | ${rps(xs).toFixed(0)} | ${cpu(xs).toFixed(1)} | ${median(xs.map((s) => s.p50))} | ${
        median(xs.map((s) => s.p99))
      } |`
    console.log(
      `\nbench:auth — node ${process.version}, ${settings.rounds} round(s) of ${settings.seconds} s per route, ` +
        `${settings.connections} connections, loopback; backend and fake in their own processes\n`
    )
    console.log("| route | req/s (median) | backend CPU µs/request | p50 ms | p99 ms |\n|---|---|---|---|---|")
    console.log(row("GET /open/me (no authentication)", open))
    console.log(row("GET /plain/me (an HttpApi security middleware doing nothing)", plain))
    console.log(row("GET /user/me (PlexAuth.Authenticated, warm cache; no server check)", user))
    console.log(row("GET /me (PlexAuth.Authenticated + the handler's server check, warm cache)", authed))
    const share = (xs: Array<Segment>) => median(open.map((o, i) => xs[i]!.rps / o.rps))
    const percent = (r: number) => (r * 100).toFixed(1) + "%"
    console.log(
      `\n/me keeps ${percent(median(ratios))} of /open/me's throughput (per round: ${
        ratios.map(percent).join(", ")
      }; ` +
        `goal ≥ 90%); /user/me keeps ${percent(share(user))}; the do-nothing security middleware alone ${
          percent(share(plain))
        }`
    )
    const over = (xs: Array<Segment>, base: Array<Segment>) => (cpu(xs) - cpu(base)).toFixed(1)
    console.log(
      `backend CPU per request over /open/me: /plain/me +${over(plain, open)} µs (the platform's security ` +
        `middleware), /user/me +${over(user, open)} µs, /me +${over(authed, open)} µs; so PlexAuth's ` +
        `authentication costs ${over(user, plain)} µs a request and the server check ${over(authed, user)} µs`
    )
    console.log("\n| in-process, per call | CPU µs |\n|---|---|")
    for (const hit of hits) console.log(`| ${hit.name} | ${hit.micros.toFixed(2)} |`)
    console.log(
      `\nplex.tv calls: ${warm.user - atStart.user} GET /user and ${
        warm.resources - atStart.resources
      } GET /resources while warming up; ` +
        `${plexCalls} during the ${measured} measured /me requests = ${
          (plexCalls / measured * 10_000).toFixed(2)
        } per 10,000 requests`
    )
  } finally {
    // Disconnecting lets the children exit on their own (and write a profile, with BENCH_PROFILE).
    for (const child of [server, fake]) {
      child.disconnect()
      setTimeout(() => child.kill(), 5_000).unref()
    }
    rmSync(dirname(script), { recursive: true, force: true })
  }
}

// --- entry (last: everything above is initialised by now) ----------------------------------------------

const role = process.argv.find((arg) => arg === "--fake" || arg === "--backend" || arg === "--hits")
const infoArg = () => JSON.parse(process.argv[process.argv.indexOf(role!) + 1]!) as FakeInfo
if (role === "--fake") runFake()
else if (role === "--backend") runBackend(infoArg())
else if (role === "--hits") runHits(infoArg())
else await main()
