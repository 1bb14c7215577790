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
