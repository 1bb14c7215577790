/**
 * A fake plex.tv + Plex Media Server for tests.
 *
 * One platform-agnostic `HttpApp` over in-memory state (accounts, passwords, 2FA codes, tokens,
 * transient tokens, PINs, sources) with fault controls. plex.tv routes live under `/api/v2` and the
 * Plex Media Server routes at the root, so one origin serves both:
 * `plexTvUrl = ${origin}/api/v2`, `serverUrl = ${origin}`.
 *
 * Run it over real HTTP on `127.0.0.1` with {@link layerServer}, or in-process (no socket) with
 * {@link layerClient}.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import type { ServeError } from "@effect/platform/HttpServerError"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PlexConfig from "../PlexConfig.js"
import * as App from "./internal/app.js"
import { PlexFakeError } from "./internal/errors.js"
import { type InProcessHost, makeInProcessHost, type ServerHost } from "./internal/host.js"
import { makeLoopbackHost } from "./internal/loopbackHost.js"
import * as Serve from "./internal/serve.js"
import type {
  AddHomeUserOptions,
  AddServerOptions,
  ConnectionBehaviour,
  FakeHomeUser,
  FakeServer,
  FakeServerRequest
} from "./internal/serverTypes.js"
import { PLEX_TV_PREFIX } from "./internal/wire.js"

// This module is the public face: types, controls' contracts, layers. The fake itself is in
// internal/, one file per area (account, pins, pms) plus the shared state, wire formats, faults
// and runners; internal/app.ts explains how an area plugs in.

// -------------------------------------------------------------------------------------------------
// Public models
// -------------------------------------------------------------------------------------------------

/**
 * An account known to the fake, as returned by {@link Service.addAccount}.
 *
 * `token` is the account's first token; sign-in returns it for as long as it stays valid.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeAccount {
  readonly id: number
  readonly uuid: string
  readonly login: string
  readonly username: string
  readonly email: string
  readonly token: string
}

/**
 * Options for {@link Service.addAccount}.
 *
 * - `login`, `password`: what `POST /api/v2/users/signin` must receive (the login also matches the
 *   username or email, case-insensitively).
 * - `twoFactorCode`: when set, sign-in needs `verificationCode` equal to it (answers 1029 / 1028).
 * - `username` (default: the login's part before `@`), `email` (default: the login if it holds `@`,
 *   else `<login>@example.com`), `title` (default: the username), `id`, `uuid`, `token` (default: a
 *   fresh random 20-char alphanumeric token).
 *
 * @since 0.1.0
 * @category models
 */
export interface AddAccountOptions {
  readonly login: string
  readonly password: string
  readonly twoFactorCode?: string | undefined
  readonly username?: string | undefined
  readonly email?: string | undefined
  readonly title?: string | undefined
  readonly id?: number | undefined
  readonly uuid?: string | undefined
  readonly token?: string | undefined
}

/**
 * One connection of a {@link FakeDevice}, as `GET /security/resources` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeConnection {
  readonly protocol: string
  readonly address: string
  readonly port: number
  readonly uri: string
  readonly local: boolean
  readonly relay?: boolean | undefined
}

/**
 * A device behind a source (`server://<machineId>` or `provider://<id>`), registered with
 * {@link Service.addSource}.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeDevice {
  readonly name: string
  readonly clientIdentifier: string
  readonly connections?: ReadonlyArray<FakeConnection> | undefined
}

/**
 * Restricts a fault control to requests whose path (e.g. `/api/v2/pins` or `/security/token`)
 * starts with `path`. Without a path, any request matches.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultFilter {
  readonly path?: string | undefined
}

/**
 * The response {@link Service.failNext} sends instead of the real one.
 *
 * - `status`: 200–599.
 * - `retryAfter`: sent as the `Retry-After` header (seconds, or an HTTP date string).
 * - `body` / `contentType`: the body to send. Without `body`, a 4xx gets a plex.tv error body
 *   (JSON when the request accepts JSON, else XML; 429 → code 1003 "API rate limit exceeded",
 *   401 → 1001, 404 → 1002, 400 → 1004, 422 → 1008) and any other status a short `text/plain`
 *   reason phrase. Without `contentType`, it is guessed from the body (`{`/`[` JSON, `<?xml`/`<errors`
 *   XML, other `<` HTML, else text).
 *
 * @since 0.1.0
 * @category models
 */
export interface FailResponse {
  readonly status: number
  readonly retryAfter?: number | string | undefined
  readonly body?: string | undefined
  readonly contentType?: string | undefined
}

/**
 * What {@link Service.corruptNext} does to a response.
 *
 * - `"malformed-json"`: 200, `application/json`, body `{"id": 1,`.
 * - `"truncated"`: the request is handled normally (state changes happen), then the body is cut to
 *   half its length; status and headers are kept and `Content-Length` matches the cut body.
 * - `"html"`: 200 `text/html` page (a proxy / captive-portal style page).
 * - `"xml-error"`: 200 `application/xml` with a plex.tv `<errors>` body.
 * - `"empty"`: 200 `application/json` with an empty body (`Content-Length: 0`).
 * - `{ _tag: "oversized", bytes, chunked }`: 200 `application/json` body of exactly `bytes` bytes
 *   (`{"padding":"xxx…"}`); with `Content-Length`, or streamed in chunks without it when `chunked`.
 *
 * @since 0.1.0
 * @category models
 */
export type CorruptionKind =
  | "malformed-json"
  | "truncated"
  | "html"
  | "xml-error"
  | "empty"
  | { readonly _tag: "oversized"; readonly bytes: number; readonly chunked?: boolean | undefined }

/**
 * A request as the fake received it (recorded before any fault applies, so retries are visible).
 *
 * - `path`: without the query string, e.g. `/api/v2/user`.
 * - `searchParams`: the query string (first value per name). A token here is a client bug: the
 *   fake only reads tokens from the `X-Plex-Token` header.
 * - `headers`: names lower-cased.
 * - `form`: the fields of an `application/x-www-form-urlencoded` body, when there was one.
 * - `json`: an `application/json` body, parsed, when there was one.
 * - `time`: epoch milliseconds from effect's `Clock` when it arrived.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly searchParams: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly form?: Readonly<Record<string, string>>
  readonly json?: unknown
  readonly time: number
}

export type {
  /** @since 0.2.0 */
  AddConnectionOptions,
  /** @since 0.2.0 */
  AddHomeUserOptions,
  /** @since 0.2.0 */
  AddServerOptions,
  /** @since 0.2.0 */
  ConnectionBehaviour,
  /** @since 0.2.0 */
  FakeHomeUser,
  /** @since 0.2.0 */
  FakeServer,
  /** @since 0.2.0 */
  FakeServerConnection,
  /** @since 0.2.0 */
  FakeServerRequest
} from "./internal/serverTypes.js"

// Defined beside the areas that fail with it (they cannot import this module, which imports them).
export {
  /**
   * The failure of a control that was given something the fake does not know or cannot accept
   * (e.g. an unknown PIN or token in {@link Service.approvePin}, a login that is already taken in
   * {@link Service.addAccount}).
   *
   * @since 0.1.0
   * @category errors
   */
  PlexFakeError
}

/**
 * The fake's controls and its `HttpApp`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Adds an account that can sign in and whose token is valid on plex.tv and the PMS routes.
   * Fails with {@link PlexFakeError} if the login (matched like sign-in: against each account's
   * login, username and email, case-insensitively) or the given token is already taken; the fake
   * is then unchanged.
   */
  readonly addAccount: (options: AddAccountOptions) => Effect.Effect<FakeAccount, PlexFakeError>
  /** Registers (or replaces) the device `GET /security/resources?source=<source>` answers with. */
  readonly addSource: (source: string, device: FakeDevice) => Effect.Effect<void>
  /** Mints a further valid token for the account with that login. Dies (a test bug) if there is none. */
  readonly issueToken: (login: string) => Effect.Effect<string>
  /** Makes a token (account or transient) invalid everywhere. Unknown tokens are ignored. */
  readonly revokeToken: (token: string) => Effect.Effect<void>
  /** Simulates a PMS restart: every transient token the PMS routes minted becomes invalid. */
  readonly restartServer: Effect.Effect<void>
  /** Whether a token (account or transient) is currently valid. */
  readonly isTokenValid: (token: string) => Effect.Effect<boolean>
  /**
   * Approves a PIN (by numeric id, or by code as a string) so that polling returns `accountToken`.
   * Fails with {@link PlexFakeError} if the PIN is unknown or expired, or the token is not a valid
   * account token.
   */
  readonly approvePin: (idOrCode: number | string, accountToken: string) => Effect.Effect<void, PlexFakeError>
  /**
   * When `after` is set, a PIN counts as approved once `after` has passed since its creation
   * (checked lazily when it is polled, with effect's `Clock`), with `accountToken` or else the first
   * account's token. `undefined` turns it off.
   */
  readonly autoApprovePins: (
    after: Duration.DurationInput | undefined,
    accountToken?: string | undefined
  ) => Effect.Effect<void>
  /**
   * Adds a fake Plex Media Server that `GET /api/v2/resources` lists to its owner, to the accounts
   * it is shared with and to the members of its owner's Plex Home, each with a token of its own.
   * Each connection is served at an origin of its own (over `layerServer`, a `127.0.0.1` port;
   * over `layerClient`, `http://pms-<n>.plex.fake`), answering `/identity`, `/`,
   * `/security/token` and `/security/resources` as its behaviour says. Fails with
   * {@link PlexFakeError} for an unknown login or a taken `machineIdentifier`. Needs
   * {@link layerServer} or {@link layerClient}: with {@link layer} alone nobody serves the
   * connections.
   */
  readonly addServer: (options: AddServerOptions) => Effect.Effect<FakeServer, PlexFakeError>
  /**
   * Changes how the connection served at `uri` behaves from its next request on (`"refused"` closes
   * its port; any other behaviour opens it again at the same URI). Fails with {@link PlexFakeError}
   * for a URI that is no fake server connection.
   */
  readonly setConnectionBehaviour: (
    uri: string,
    behaviour: ConnectionBehaviour
  ) => Effect.Effect<void, PlexFakeError>
  /** Every request the fake servers received, oldest first, with its token and how it ended. */
  readonly serverRequests: Effect.Effect<ReadonlyArray<FakeServerRequest>>
  /**
   * Adds a member to the Plex Home of the account with login `adminLogin` (the admin is in the
   * Home by itself): `GET /api/v2/home/users` lists it, `POST /api/v2/home/users/<uuid>/switch`
   * switches to it (with its PIN, when it has one) and mints a token of the member, valid on plex.tv;
   * `/resources` with that token lists the admin's servers with the member's own tokens. Fails with
   * {@link PlexFakeError} for an unknown login or a taken uuid.
   */
  readonly addHomeUser: (adminLogin: string, options: AddHomeUserOptions) => Effect.Effect<FakeHomeUser, PlexFakeError>
  /**
   * Rotates the fake's Plex JWT signing key: a new key signs every JWT issued from now on and is
   * published first at `/api/v2/auth/keys`; the older ones stay published (as Plex keeps several),
   * unless `retire` is set, which unpublishes them (their JWTs then fail verification). Returns the
   * new key's `kid`. The fake issues real Ed25519-signed JWTs (`/auth/token`, and PINs created with
   * a `jwk`); a plex.tv route answers 498 to one that has expired, on effect's `Clock`, and the PMS
   * routes answer 401 to any JWT (as servers have been seen doing).
   */
  readonly rotateJwtKey: (options?: { readonly retire?: boolean | undefined }) => Effect.Effect<string>
  /** How long the Plex JWTs issued from now on last (default 7 days, as Plex's). */
  readonly setJwtLifetime: (lifetime: Duration.DurationInput) => Effect.Effect<void>
  /**
   * `GET /api/v2/auth/nonce` answers 429 (with `Retry-After`, code 1003) to a client identifier that
   * asked for `requests` nonces within the last `per` (default 20 per minute). A nonce is good for
   * one `/auth/token` exchange by the same client identifier, for 5 minutes.
   */
  readonly setNonceRateLimit: (requests: number, per: Duration.DurationInput) => Effect.Effect<void>
  /** The next `n` matching requests get the given response instead of being handled. */
  readonly failNext: (n: number, response: FailResponse, filter?: FaultFilter | undefined) => Effect.Effect<void>
  /**
   * The next `n` matching requests wait `duration` (`Effect.sleep`, so `TestClock` drives it
   * in-process) before being handled. A delay combines with one fail/corrupt/drop fault.
   */
  readonly delayNext: (
    n: number,
    duration: Duration.DurationInput,
    filter?: FaultFilter | undefined
  ) => Effect.Effect<void>
  /** The next `n` matching requests get a corrupted response; see {@link CorruptionKind}. */
  readonly corruptNext: (n: number, kind: CorruptionKind, filter?: FaultFilter | undefined) => Effect.Effect<void>
  /**
   * The next `n` matching requests get no response: over HTTP the socket is destroyed; in-process
   * the client fails with `HttpClientError.RequestError` (reason `"Transport"`).
   */
  readonly dropNext: (n: number, filter?: FaultFilter | undefined) => Effect.Effect<void>
  /**
   * Removes every pending fault and delay, and resets sign-in failure counters (code 1031) and the
   * nonce rate limit's count.
   */
  readonly resetFaults: Effect.Effect<void>
  /** Every request received so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Forgets the recorded requests. */
  readonly clearRequests: Effect.Effect<void>
  /**
   * Puts the fake back as {@link make} built it: no accounts, tokens, PINs, sources, fake servers
   * (their connections stop being served) or Home members, no pending
   * faults or delays, no recorded requests, auto-approval off, sign-in failure counters cleared,
   * ids counting from the start again. For a fake shared by several tests (one `layerServer` per
   * file). A request already in flight finishes against the state it finds. Never fails.
   */
  readonly reset: Effect.Effect<void>
  /**
   * The fake as a platform-agnostic `HttpApp`, for serving it yourself. A dropped request
   * destroys `request.source.socket` where the platform exposes one (Node); elsewhere it dies, which
   * the platform answers with a 500.
   */
  readonly app: HttpApp.Default
}

/**
 * The fake's service: controls (accounts, tokens, PINs, sources, faults) and its `HttpApp`.
 *
 * Provided by {@link layer}, {@link layerServer} and {@link layerClient}.
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexFake extends Context.Tag("effect-plex/testing/PlexFake")<PlexFake, Service>() {}

/**
 * The base URLs to point the SDK at.
 *
 * - `url`: the origin, e.g. `http://127.0.0.1:41234` (or {@link inProcessOrigin}).
 * - `plexTvUrl`: `${url}/api/v2`.
 * - `serverUrl`: `${url}` (the PMS routes sit at the root).
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeUrls {
  readonly url: string
  readonly plexTvUrl: string
  readonly serverUrl: string
}

/**
 * Where the fake can be reached: provided by {@link layerServer} (loopback address) and
 * {@link layerClient} ({@link inProcessOrigin}).
 *
 * @since 0.1.0
 * @category tags
 */
export class PlexFakeServer extends Context.Tag("effect-plex/testing/PlexFakeServer")<PlexFakeServer, FakeUrls>() {}

/**
 * The origin the in-process client of {@link layerClient} answers for. Configure the SDK with
 * `plexTvUrl: "http://plex.fake/api/v2"` and `serverUrl: "http://plex.fake"`. Requests to any other
 * origin fail with a `"Transport"` `RequestError`; nothing ever reaches the network.
 *
 * @since 0.1.0
 * @category constants
 */
export const inProcessOrigin = "http://plex.fake"

// -------------------------------------------------------------------------------------------------
// Constructors and layers
// -------------------------------------------------------------------------------------------------

// Each service's app before any runner's drop handling, so layerServer and layerClient can drop a
// connection their own way even when the service's own `app` could not.
const rawApps = new WeakMap<Service, HttpApp.Default>()

const rawAppOf = (fake: Service): HttpApp.Default => rawApps.get(fake) ?? fake.app

// The in-process host of a fake built by `make`, whose origins layerClient's client answers.
const hosts = new WeakMap<Service, InProcessHost>()

const makeWith = (host: ServerHost): Effect.Effect<Service> =>
  Effect.map(App.make(host), ({ app, controls }) => {
    const service: Service = { ...controls, app: Serve.dropBySourceSocket(app) }
    rawApps.set(service, app)
    return service
  })

/**
 * Builds a fresh fake (empty state) and its `HttpApp`. Prefer {@link layer}, {@link layerServer}
 * or {@link layerClient}; use this to build your own layer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service> = Effect.suspend(() => {
  const host = makeInProcessHost()
  return Effect.tap(makeWith(host), (service) => Effect.sync(() => hosts.set(service, host)))
})

/**
 * The fake's state and `HttpApp` only (no server, no client). Serve `app` yourself, or use
 * {@link layerServer} / {@link layerClient}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PlexFake> = Layer.effect(PlexFake, make)

const urlsFor = (origin: string): FakeUrls => ({
  url: origin,
  plexTvUrl: `${origin}${PLEX_TV_PREFIX}`,
  serverUrl: origin
})

/**
 * Serves the fake over real HTTP on `127.0.0.1` (never other interfaces) on a free port, for
 * the lifetime of the layer, and provides its URLs as {@link PlexFakeServer}.
 *
 * Node only: it loads `@effect/platform-node` (and `node:http`) on build, so import this module
 * freely elsewhere and use {@link layerClient} there. Fails with `ServeError` if it cannot listen.
 * Server-side sleeps use the server's (live) clock. The fake servers of {@link Service.addServer}
 * get a `127.0.0.1` port per connection, closed with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer: Layer.Layer<PlexFake | PlexFakeServer, ServeError> = Serve.layerLoopback(
  Effect.map(PlexFake, rawAppOf),
  PlexFakeServer,
  urlsFor
).pipe(Layer.provideMerge(Layer.scoped(PlexFake, Effect.flatMap(makeLoopbackHost, makeWith))))

/**
 * Runs the fake in-process: provides {@link PlexFake} and an `HttpClient` that hands each request
 * to the fake's `HttpApp` directly (no socket, no network), plus {@link PlexFakeServer} with
 * {@link inProcessOrigin}. Point the SDK at `http://plex.fake/api/v2` and `http://plex.fake`;
 * requests to any other origin fail with a `"Transport"` `RequestError`.
 *
 * The fake runs on the calling fiber's services, so `TestClock` drives PIN expiry, auto-approval
 * and `delayNext` in `it.effect` tests. Like a real transport it honours the request's
 * `AbortSignal`: an aborted request (an SDK attempt timeout on the live clock, an interrupted
 * fiber) fails with a `"Transport"` `RequestError`, as does a dropped one. It also answers the
 * origins of the fake servers of {@link Service.addServer} (`http://pms-<n>.plex.fake`); a
 * `"refused"` one fails with a `"Transport"` `RequestError` whose cause has code `ECONNREFUSED`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient: Layer.Layer<PlexFake | PlexFakeServer | HttpClient.HttpClient> = Layer.mergeAll(
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(PlexFake, (fake) => Serve.makeInProcessClient(rawAppOf(fake), inProcessOrigin, hosts.get(fake)?.lookup))
  ),
  Layer.succeed(PlexFakeServer, urlsFor(inProcessOrigin))
).pipe(Layer.provideMerge(layer))

/**
 * A `PlexConfig` pointing at the running fake (plex.tv, clients.plex.tv and PMS URLs from
 * {@link PlexFakeServer}), with a test client identifier unless you give one. Provide it to
 * `Authentication.layer` and friends together with {@link layerServer} or {@link layerClient}.
 * Fails with a `ConfigError` for options `PlexConfig.make` refuses.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Partial<Omit<PlexConfig.Options, "plexTvUrl" | "serverUrl" | "clientsUrl">>
): Layer.Layer<PlexConfig.PlexConfig, ConfigError.ConfigError, PlexFakeServer> =>
  Layer.effect(
    PlexConfig.PlexConfig,
    Effect.flatMap(PlexFakeServer, (urls) =>
      PlexConfig.make({
        clientIdentifier: "effect-plex-fake-client",
        product: "effect-plex tests",
        ...options,
        plexTvUrl: urls.plexTvUrl,
        // The fake answers the clients.plex.tv API under the same prefix as plex.tv's.
        clientsUrl: urls.plexTvUrl,
        serverUrl: urls.serverUrl
      }))
  )

// The SDK wired to the fake in one layer, for users' tests.
export {
  /**
   * @since 0.2.0
   * @category layers
   */
  layerTest,
  /**
   * @since 0.2.0
   * @category tags
   */
  TestAccount,
  /**
   * @since 0.2.0
   * @category models
   */
  type TestOptions,
  /**
   * @since 0.2.0
   * @category models
   */
  type TestProvided
} from "./internal/sdk.js"
