/**
 * Sign in with Plex in an Effect HTTP server (`npx tsx examples/backend.ts`): an `HttpApi` on
 * `NodeHttpServer` (127.0.0.1) with a public `/health`, the PIN sign-in endpoints a browser uses
 * (`POST /auth/pin`, `GET /auth/pin/:id`), a protected `/me` (the signed-in user, and whether they
 * may use the operator's server), `/server`, which only users of that server reach, and sign-out.
 *
 * With no `PLEX_CLIENT_IDENTIFIER` in the environment it runs against PlexFake (plex.tv and a Plex
 * Media Server on 127.0.0.1) and walks through the browser's side: sign in with a PIN, call `/me`,
 * `/server`, sign out. With `PLEX_CLIENT_IDENTIFIER`, `PLEX_PRODUCT` and `PLEX_AUTH_SERVER` (your
 * server's machineIdentifier) it serves the same API against plex.tv on `PORT` (default 8080).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import { ConfigProvider, Console, Effect, Layer, Option, Schema } from "effect"
import { Plex, PlexAuth } from "effect-plex"
import { PlexFake } from "effect-plex/testing"
import { createServer } from "node:http"

// #region api
// What /me answers: the signed-in user (never their token), and whether they may use the server.
export class Me extends Schema.Class<Me>("Me")({
  id: Schema.Number,
  uuid: Schema.String,
  username: Schema.String,
  title: Schema.String,
  email: Schema.String,
  serverAccess: Schema.Boolean
}) {}

export class ServerInfo extends Schema.Class<ServerInfo>("ServerInfo")({
  name: Schema.String,
  owned: Schema.Boolean
}) {}

export class Api extends HttpApi.make("backend")
  .add(HttpApiGroup.make("health").add(HttpApiEndpoint.get("health", "/health").addSuccess(Schema.String)))
  // POST /auth/pin and GET /auth/pin/:id: "sign in with Plex" for the browser, run by this server.
  .add(PlexAuth.PinApi)
  // X-Plex-Token required: 401 with a JSON body saying why, 503 when plex.tv cannot be reached.
  .add(
    HttpApiGroup.make("me")
      .add(HttpApiEndpoint.get("me", "/me").addSuccess(Me))
      .add(HttpApiEndpoint.post("signOut", "/signout").addSuccess(Schema.Void, { status: 204 }))
      .middleware(PlexAuth.Authenticated)
  )
  // Only for users who have the operator's server (owned or shared): 403 for everyone else.
  .add(
    HttpApiGroup.make("server")
      .add(HttpApiEndpoint.get("server", "/server").addSuccess(ServerInfo))
      .middleware(PlexAuth.ServerAccess)
  )
{}
// #endregion

// #region handlers
// plex.tv failing while the user is cached: a 503, as the middleware answers.
const unreachable = () => new PlexAuth.PlexUnreachable({ message: "plex.tv could not be reached; try again shortly" })

const MeLive = HttpApiBuilder.group(Api, "me", (handlers) =>
  handlers
    .handle("me", () =>
      Effect.gen(function*() {
        const user = yield* PlexAuth.CurrentPlexUser
        const { server } = yield* PlexAuth.PlexAuth
        // Cached like the user: one GET /resources per user per TTL, not per request.
        const serverAccess = Option.isNone(server) ? false : yield* PlexAuth.requireServerAccess(server.value).pipe(
          Effect.as(true),
          Effect.catchTags({ ServerAccessDenied: () => Effect.succeed(false), PlexUnavailable: unreachable })
        )
        const { email, id, title, username, uuid } = user
        return new Me({ id, uuid, username, title, email, serverAccess })
      }))
    .handle("signOut", () => Effect.flatMap(PlexAuth.CurrentPlexUser, (user) => PlexAuth.invalidate(user.authToken))))

const ServerLive = HttpApiBuilder.group(
  Api,
  "server",
  (handlers) =>
    handlers.handle("server", () =>
      Effect.gen(function*() {
        const { server } = yield* PlexAuth.PlexAuth
        const resource = yield* PlexAuth.requireServerAccess(Option.getOrThrow(server)).pipe(
          Effect.catchTag("PlexUnavailable", unreachable)
        )
        return new ServerInfo({ name: resource.name, owned: resource.owned })
      }))
)

const HealthLive = HttpApiBuilder.group(
  Api,
  "health",
  (handlers) => handlers.handle("health", () => Effect.succeed("ok"))
)
// #endregion

// #region layers
// The SDK (PLEX_CLIENT_IDENTIFIER, PLEX_PRODUCT…) and PlexAuth over it (PLEX_AUTH_SERVER, PLEX_AUTH_TTL…).
export const PlexLive = Plex.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
export const PlexAuthLive = PlexAuth.layerFromEnv

export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([HealthLive, MeLive, ServerLive, PlexAuth.layerPinApi(Api)]),
  Layer.provide([PlexAuth.layerMiddleware(PlexAuth.Authenticated), PlexAuth.layerMiddleware(PlexAuth.ServerAccess)])
)

// Loopback only; port 0 picks a free one.
export const serve = (port: number) =>
  HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
    Layer.provide(ApiLive),
    Layer.provide(PlexAuthLive),
    Layer.provide(PlexLive),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
// #endregion

// --- the embedded fake, and the browser's side of the walk -------------------------------------------

const step = (text: string) => Console.log(`  ✓ ${text}`)

/** The browser's side: sign in with a PIN, then use the token on /me, /server and /signout. */
export const browserWalk = (baseUrl: string) =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(baseUrl))
    )
    const json = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(client.execute(request), (response) =>
        Effect.map(response.json, (body) => ({ status: response.status, body: body as Record<string, any> })))

    const pin = yield* json(HttpClientRequest.post("/auth/pin"))
    yield* step(`created a PIN (${pin.status}); the browser opens ${String(pin.body.authUrl).split("#")[0]}`)
    let token: string | undefined
    while (token === undefined) {
      yield* Effect.sleep("1 second")
      const status = yield* json(
        HttpClientRequest.get(`/auth/pin/${pin.body.id}`).pipe(
          HttpClientRequest.setHeader("x-plex-pin-code", pin.body.code)
        )
      )
      if (status.body.state === "approved") {
        token = status.body.token
      } else if (status.body.state === "expired") {
        return yield* Effect.dieMessage("the PIN expired")
      }
    }
    yield* step("the PIN was approved: the browser keeps the token")
    const withToken = HttpClientRequest.setHeader("x-plex-token", token)
    const me = yield* json(HttpClientRequest.get("/me").pipe(withToken))
    yield* step(`/me: ${me.body.username}, may use the server: ${me.body.serverAccess}`)
    const server = yield* json(HttpClientRequest.get("/server").pipe(withToken))
    yield* step(`/server: ${server.status} ${server.body.name} (owned: ${server.body.owned})`)
    const anonymous = yield* json(HttpClientRequest.get("/me"))
    yield* step(`/me without a token: ${anonymous.status} ${anonymous.body.reason}`)
    const out = yield* client.execute(HttpClientRequest.post("/signout").pipe(withToken))
    yield* step(`signed out: ${out.status}`)
  })

/**
 * Seeds PlexFake: Ada owns "Ada's Plex" and shares it with Grace; Mallory has no access. PINs are
 * approved for Ada after 2 seconds. Returns the accounts and the PLEX_* settings pointing at it.
 */
export const seedFake = Effect.gen(function*() {
  const fake = yield* PlexFake.PlexFake
  const urls = yield* PlexFake.PlexFakeServer
  const ada = yield* fake.addAccount({ login: "ada@example.com", password: "pw", username: "ada" })
  const grace = yield* fake.addAccount({ login: "grace@example.com", password: "pw", username: "grace" })
  const mallory = yield* fake.addAccount({ login: "mallory@example.com", password: "pw", username: "mallory" })
  const server = yield* fake.addServer({
    name: "Ada's Plex",
    owner: ada.login,
    sharedWith: [grace.login],
    connections: [{}]
  })
  // Stands in for the user approving the PIN in the Plex auth app.
  yield* fake.autoApprovePins("2 seconds", ada.token)
  const provider = ConfigProvider.fromMap(
    new Map([
      ["PLEX_CLIENT_IDENTIFIER", "effect-plex-backend-example"],
      ["PLEX_PRODUCT", "effect-plex backend example"],
      ["PLEX_TV_URL", urls.plexTvUrl],
      ["PLEX_AUTH_SERVER", server.machineIdentifier]
    ])
  )
  return { ada, grace, mallory, server, provider }
})

/** Runs `self` against PlexFake on 127.0.0.1, seeded by {@link seedFake}. */
export const againstFake = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(seedFake, ({ provider }) => Effect.withConfigProvider(self, provider)).pipe(
    Effect.provide(PlexFake.layerServer)
  )

if (import.meta.url === `file://${process.argv[1]}`) {
  const real = process.env.PLEX_CLIENT_IDENTIFIER !== undefined
  if (real) {
    const port = Number(process.env.PORT ?? 8080)
    Layer.launch(serve(port).pipe(HttpServer.withLogAddress)).pipe(NodeRuntime.runMain)
  } else {
    NodeRuntime.runMain(
      againstFake(
        Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(serve(0))
          const server = yield* Effect.provide(HttpServer.HttpServer, context)
          const url = HttpServer.formatAddress(server.address)
          yield* Console.log(`effect-plex backend on ${url} (embedded fake Plex)\n`)
          yield* browserWalk(url).pipe(Effect.provide(NodeHttpClient.layerUndici))
          yield* Console.log("\nDone.")
        }))
      )
    )
  }
}
