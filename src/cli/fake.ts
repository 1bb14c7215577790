/**
 * `--fake`: the command runs against `PlexFake` served on `127.0.0.1` inside this process, so demos
 * and tests need no Plex account and send nothing off the machine.
 *
 * The fake starts empty in every run, so it is seeded the same way every time: one account
 * ({@link account}: a password, a two-factor code and a fixed token, so a token stored by one run
 * still works in the next) and one owned server, "Living Room", whose three connections behave as a
 * real server's might: the LAN address refuses, the remote address answers at once, the relay
 * answers slowly. A JWT profile stored by an earlier run is brought back by registering its device
 * key with this run's fake and storing the JWT the fake issues (the fake's signing keys are new in
 * every run).
 *
 * PINs are approved automatically after `PLEX_AUTH_FAKE_APPROVE_AFTER` seconds (default 5; `off`
 * turns it off), or at once by `POST <control>/approve?code=<code>` on a second loopback port, which
 * is how a test (or a person with curl) plays the user who approves the PIN.
 *
 * @since 0.2.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { PlexFake } from "../testing/index.js"

/**
 * The seeded account: sign in with `login` and `password` (and `verificationCode`, asked for
 * after the password); `token` is what a PIN approval hands out.
 *
 * @since 0.2.0
 * @category constants
 */
export const account = {
  login: "user@example.com",
  password: "password",
  verificationCode: "123456",
  username: "user",
  title: "Demo User",
  token: "FakePlexAccountToken"
} as const

/**
 * The seeded server and how long its slow (relay) connection takes to answer.
 *
 * @since 0.2.0
 * @category constants
 */
export const server = {
  name: "Living Room",
  machineIdentifier: "f4ce5e1ec0ffee0000000000000000000000da7a",
  accessToken: "FakeLivingRoomToken0",
  slowMillis: 1500
} as const

/**
 * A running fake: its URLs, the control origin (`POST /approve?code=…`), how long until PINs are
 * approved by themselves, and its controls.
 *
 * @since 0.2.0
 * @category models
 */
export interface Running {
  readonly urls: PlexFake.FakeUrls
  readonly control: string
  readonly approveAfterSeconds: number | undefined
  readonly service: PlexFake.Service
}

const approveAfter = (raw: string | undefined): number | undefined => {
  if (raw === undefined || raw.trim() === "") return 5
  if (/^(off|never|no|false)$/i.test(raw.trim())) return undefined
  const seconds = Number(raw)
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : 5
}

/** `POST /approve?code=…`: approves the PIN with that code for the seeded account. */
const controlServer = (fake: PlexFake.Service) =>
  Effect.gen(function*() {
    const [Http, NodeHttpServer] = yield* Effect.promise(() =>
      Promise.all([import("node:http"), import("@effect/platform-node/NodeHttpServer")])
    )
    const approve = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const code = new URL(request.url, "http://control").searchParams.get("code") ?? ""
      return yield* fake.approvePin(code, account.token).pipe(
        Effect.as(HttpServerResponse.text("approved\n")),
        Effect.catchAll(() => HttpServerResponse.text("no live PIN with that code\n", { status: 404 }))
      )
    })
    const router = HttpRouter.empty.pipe(HttpRouter.post("/approve", approve))
    const served = HttpServer.serve(router).pipe(
      Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
    )
    const context = yield* Layer.build(served)
    const address = Context.get(context, HttpServer.HttpServer).address
    return address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : "http://127.0.0.1"
  })

/**
 * Starts the fake for the life of the scope and seeds it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (approveAfterEnv: string | undefined): Effect.Effect<Running, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    // Loaded only with --fake: the rest of the time the CLI starts without it.
    const { PlexFake } = yield* Effect.promise(() => import("../testing/index.js"))
    const context = yield* Layer.build(PlexFake.layerServer)
    const fake = Context.get(context, PlexFake.PlexFake)
    const urls = Context.get(context, PlexFake.PlexFakeServer)
    yield* fake.addAccount({
      login: account.login,
      password: account.password,
      twoFactorCode: account.verificationCode,
      username: account.username,
      title: account.title,
      token: account.token
    })
    yield* fake.addServer({
      name: server.name,
      owner: account.login,
      machineIdentifier: server.machineIdentifier,
      accessToken: server.accessToken,
      connections: [
        { local: true, behaviour: "refused" },
        { behaviour: "healthy" },
        { relay: true, behaviour: { slow: `${server.slowMillis} millis` } }
      ]
    })
    const seconds = approveAfter(approveAfterEnv)
    if (seconds !== undefined) yield* fake.autoApprovePins(`${seconds} seconds`, account.token)
    const control = yield* controlServer(fake)
    return { urls, control, approveAfterSeconds: seconds, service: fake }
  })

/**
 * A fresh legacy token of the seeded account (to register a stored device key with this run's
 * fake).
 *
 * @since 0.2.0
 * @category utils
 */
export const freshToken = (running: Running): Effect.Effect<string> => running.service.issueToken(account.login)
