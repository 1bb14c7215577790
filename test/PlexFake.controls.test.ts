import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as PlexFake from "../src/testing/PlexFake.js"

// Controls whose effect must hold whichever way the fake is reached. Every test builds its own fake
// (in-process with layerClient, or on a fresh loopback port with layerServer), since these controls
// change the whole fake.

const identity = {
  accept: "application/json",
  "x-plex-client-identifier": "controls-client",
  "x-plex-product": "PlexFake tests"
}

interface Answer {
  readonly status: number
  readonly body: any
}

/** Sends through whatever `HttpClient` is provided (in-process, or fetch against the loopback fake). */
const send = (method: "GET" | "POST", path: string, init: {
  readonly token?: string
  readonly form?: Record<string, string>
  readonly urlParams?: Record<string, string>
} = {}) =>
  Effect.gen(function*() {
    const { url } = yield* PlexFake.PlexFakeServer
    const client = yield* HttpClient.HttpClient
    let request = HttpClientRequest.make(method)(`${url}${path}`, {
      headers: init.token === undefined ? identity : { ...identity, "x-plex-token": init.token },
      urlParams: init.urlParams ?? {}
    })
    if (init.form !== undefined) request = HttpClientRequest.bodyUrlParams(request, init.form)
    const response = yield* client.execute(request)
    const text = yield* response.text
    const json = (response.headers["content-type"] ?? "").includes("json") && text !== ""
    return { status: response.status, body: json ? JSON.parse(text) : text } satisfies Answer
  })

const signIn = (login: string, password: string) => send("POST", "/api/v2/users/signin", { form: { login, password } })

/** A fresh fake on its own loopback port, reached with fetch. */
const Loopback = Layer.merge(PlexFake.layerServer, FetchHttpClient.layer)

describe("addAccount on a clash", () => {
  const clashes = Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const ada = yield* fake.addAccount({ login: "ada@example.com", password: "pw", token: "ada-token-0123456789" })
    yield* fake.addAccount({ login: "grace", password: "pw", email: "Grace.Hopper@example.com" })
    const attempts = [
      { login: "ADA@example.com", password: "other" }, // the same login in another case
      { login: "ada", password: "other" }, // ada's username
      { login: "grace.hopper@EXAMPLE.com", password: "other" }, // grace's email
      { login: "eve", password: "other", token: "ada-token-0123456789" } // ada's token
    ]
    const errors = yield* Effect.forEach(attempts, (options) => Effect.flip(fake.addAccount(options)))
    return { fake, ada, errors }
  })

  it.effect("fails with a typed PlexFakeError naming what is taken (in-process)", () =>
    Effect.gen(function*() {
      const { errors } = yield* clashes
      for (const error of errors) expect(error).toBeInstanceOf(PlexFake.PlexFakeError)
      expect(errors.map((error) => error.message)).toEqual([
        "PlexFake.addAccount: login \"ADA@example.com\" is already taken",
        "PlexFake.addAccount: login \"ada\" is already taken",
        "PlexFake.addAccount: login \"grace.hopper@EXAMPLE.com\" is already taken",
        "PlexFake.addAccount: that token is already in use"
      ])
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.effect("leaves the fake as it was: no account, no token, no id used up (in-process)", () =>
    Effect.gen(function*() {
      const { ada, fake } = yield* clashes
      expect((yield* signIn("eve", "other")).status).toBe(401)
      expect((yield* signIn("ada@example.com", "other")).status).toBe(401)
      const signedIn = yield* signIn("ada@example.com", "pw")
      expect(signedIn.status).toBe(201)
      expect(signedIn.body.authToken).toBe(ada.token)
      const next = yield* fake.addAccount({ login: "heidi", password: "pw" })
      expect(next.id).toBe(ada.id + 2)
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.live("leaves the fake as it was, seen over loopback HTTP", () =>
    Effect.gen(function*() {
      const { ada } = yield* clashes
      expect((yield* signIn("eve", "other")).status).toBe(401)
      const signedIn = yield* signIn("ada", "pw")
      expect(signedIn.status).toBe(201)
      expect(signedIn.body.authToken).toBe(ada.token)
      const user = yield* send("GET", "/api/v2/user", { token: ada.token })
      expect(user.body.email).toBe("ada@example.com")
    }).pipe(Effect.provide(Loopback)))
})

describe("reset", () => {
  // Touches every kind of state the fake keeps, then queues one of each outcome fault.
  const dirty = Effect.gen(function*() {
    const fake = yield* PlexFake.PlexFake
    const ada = yield* fake.addAccount({ login: "ada", password: "pw" })
    const issued = yield* fake.issueToken("ada")
    yield* fake.addSource("server://s1", { name: "S1", clientIdentifier: "s1" })
    const minted = yield* send("POST", "/security/token", {
      token: ada.token,
      urlParams: { type: "delegation", scope: "all" }
    })
    const transient: string = minted.body.MediaContainer.token
    const pin = (yield* send("POST", "/api/v2/pins")).body
    yield* fake.approvePin(pin.id, ada.token)
    yield* fake.autoApprovePins("0 millis", ada.token)
    for (let i = 0; i < 6; i++) yield* signIn("ada", `wrong-${i}`)
    expect((yield* signIn("ada", "wrong-again")).body.errors[0].code).toBe(1031)
    yield* fake.failNext(3, { status: 503 })
    yield* fake.corruptNext(3, "html")
    yield* fake.dropNext(3)
    return { fake, ada, tokens: [ada.token, issued, transient], pin }
  })

  it.effect("empties every part of the fake, and ids start over (in-process)", () =>
    Effect.gen(function*() {
      const { ada, fake, pin, tokens } = yield* dirty
      yield* fake.reset
      expect(yield* fake.requests).toEqual([])
      for (const token of tokens) expect(yield* fake.isTokenValid(token)).toBe(false)
      // 1001, not 1031: the account is gone and so is the failure count; and no queued fault answers.
      const signedIn = yield* signIn("ada", "pw")
      expect(signedIn.status).toBe(401)
      expect(signedIn.body.errors[0].code).toBe(1001)
      expect((yield* send("GET", `/api/v2/pins/${pin.id}`)).status).toBe(404)
      const again = yield* fake.addAccount({ login: "ada", password: "pw" })
      expect(again.id).toBe(ada.id)
      const source = yield* send("GET", "/security/resources", {
        token: again.token,
        urlParams: { source: "server://s1" }
      })
      expect(source.status).toBe(404)
      const fresh = (yield* send("POST", "/api/v2/pins")).body
      expect(fresh.id).toBe(pin.id)
      expect((yield* send("GET", `/api/v2/pins/${fresh.id}`)).body.authToken).toBeNull()
      expect((yield* fake.requests).map((r) => r.path)).toEqual([
        "/api/v2/users/signin",
        `/api/v2/pins/${pin.id}`,
        "/security/resources",
        "/api/v2/pins",
        `/api/v2/pins/${fresh.id}`
      ])
    }).pipe(Effect.provide(PlexFake.layerClient)))

  it.live("clears pending delays too, and the loopback server keeps serving on its port", () =>
    Effect.gen(function*() {
      const { fake } = yield* dirty
      const before = yield* PlexFake.PlexFakeServer
      yield* fake.delayNext(1, "1 hour")
      yield* fake.reset
      const ping = yield* send("GET", "/api/v2/ping").pipe(Effect.timeout("5 seconds"))
      expect(ping.status).toBe(401)
      expect((yield* PlexFake.PlexFakeServer).url).toBe(before.url)
      expect((yield* fake.requests).map((r) => r.path)).toEqual(["/api/v2/ping"])
    }).pipe(Effect.provide(Loopback)))
})
