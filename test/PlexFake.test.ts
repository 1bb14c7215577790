import { assert, describe, expect, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as PlexFake from "../src/testing/PlexFake.js"

// Everything here talks to the fake over real loopback HTTP with plain `fetch`.
// One layer() per file (it mutates the shared `it`); each test uses its own logins/sources so the
// shared fake state does not couple tests.

const CLIENT = "test-client-id"
const jsonHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({
  accept: "application/json",
  "x-plex-client-identifier": CLIENT,
  "x-plex-product": "PlexFake tests",
  ...extra
})

interface Fetched {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly bytes: number
}

const send = (path: string, init: RequestInit = {}) =>
  Effect.gen(function*() {
    const { url } = yield* PlexFake.PlexFakeServer
    return yield* Effect.promise(async (): Promise<Fetched> => {
      const response = await fetch(`${url}${path}`, init)
      const buffer = new Uint8Array(await response.arrayBuffer())
      return {
        status: response.status,
        headers: response.headers,
        text: new TextDecoder().decode(buffer),
        bytes: buffer.length
      }
    })
  })

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const formHeaders = (extra: Record<string, string> = {}) =>
  jsonHeaders({ "content-type": "application/x-www-form-urlencoded", ...extra })

const signIn = (fields: Record<string, string>, headers = formHeaders()) =>
  send("/api/v2/users/signin", { method: "POST", headers, body: form(fields) })

const errorsOf = (r: Fetched) => (JSON.parse(r.text) as { errors: Array<{ code: number; message: string }> }).errors

const PMS_401 = "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"

layer(PlexFake.layerServer, { excludeTestServices: true })("PlexFake over loopback HTTP", (it) => {
  it.effect("listens on 127.0.0.1 and exposes plexTvUrl / serverUrl", () =>
    Effect.gen(function*() {
      const server = yield* PlexFake.PlexFakeServer
      const url = new URL(server.url)
      expect(url.hostname).toBe("127.0.0.1")
      expect(Number(url.port)).toBeGreaterThan(0)
      expect(server.plexTvUrl).toBe(`${server.url}/api/v2`)
      expect(server.serverUrl).toBe(server.url)
    }))

  describe("plex.tv sign-in", () => {
    it.effect("requires X-Plex-Client-Identifier (400, code 1000)", () =>
      Effect.gen(function*() {
        const r = yield* send("/api/v2/users/signin", {
          method: "POST",
          headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
          body: form({ login: "x", password: "y" })
        })
        expect(r.status).toBe(400)
        expect(JSON.parse(r.text)).toEqual({
          errors: [{ code: 1000, message: "X-Plex-Client-Identifier is missing", status: 400 }]
        })
      }))

    it.effect("succeeds with 201 and a full user object; records the form fields", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "alice@example.com", password: "pw-alice" })
        expect(account.token).toMatch(/^[A-Za-z0-9]{20}$/)
        expect(account.username).toBe("alice")
        yield* fake.clearRequests
        const r = yield* signIn({ login: "alice@example.com", password: "pw-alice", rememberMe: "true" })
        expect(r.status).toBe(201)
        expect(r.headers.get("content-type")).toContain("application/json")
        const user = JSON.parse(r.text)
        expect(user).toMatchObject({
          id: account.id,
          uuid: account.uuid,
          username: "alice",
          email: "alice@example.com",
          authToken: account.token,
          twoFactorEnabled: false,
          subscription: { active: false, status: "Inactive" },
          profile: { defaultAudioLanguage: "en" },
          trials: []
        })
        for (
          const key of [
            "title",
            "friendlyName",
            "locale",
            "confirmed",
            "joinedAt",
            "emailOnlyAuth",
            "hasPassword",
            "protected",
            "thumb",
            "mailingListStatus",
            "mailingListActive",
            "scrobbleTypes",
            "country",
            "subscriptionDescription",
            "restricted",
            "anonymous",
            "home",
            "guest",
            "homeSize",
            "homeAdmin",
            "maxHomeSize",
            "rememberExpiresAt",
            "entitlements",
            "subscriptions",
            "pastSubscriptions",
            "services",
            "adsConsent",
            "adsConsentSetAt",
            "adsConsentReminderAt",
            "experimentalFeatures",
            "backupCodesCreated",
            "attributionPartner"
          ]
        ) {
          expect(user, key).toHaveProperty(key)
        }
        expect(user.pastSubscriptions.length).toBeGreaterThan(0)
        expect(user.services[0]).toHaveProperty("identifier")
        const [recorded] = yield* fake.requests
        assert(recorded !== undefined)
        expect(recorded.method).toBe("POST")
        expect(recorded.path).toBe("/api/v2/users/signin")
        expect(recorded.form).toEqual({ login: "alice@example.com", password: "pw-alice", rememberMe: "true" })
        expect(recorded.headers["x-plex-client-identifier"]).toBe(CLIENT)
        expect(typeof recorded.time).toBe("number")
      }))

    it.effect("rejects a wrong password and an unknown login with 401 code 1001", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.addAccount({ login: "bob", password: "pw-bob" })
        const wrong = yield* signIn({ login: "bob", password: "nope" })
        expect(wrong.status).toBe(401)
        expect(errorsOf(wrong)).toEqual([{ code: 1001, message: "User could not be authenticated", status: 401 }])
        const unknown = yield* signIn({ login: "nobody", password: "x" })
        expect(unknown.status).toBe(401)
        expect(errorsOf(unknown)[0]?.code).toBe(1001)
      }))

    it.effect("throttles with 1031 after 5 consecutive failures until a success or resetFaults", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.addAccount({ login: "carol", password: "pw-carol" })
        for (let i = 0; i < 5; i++) {
          expect(errorsOf(yield* signIn({ login: "carol", password: "bad" }))[0]?.code).toBe(1001)
        }
        const throttled = yield* signIn({ login: "carol", password: "bad" })
        expect(throttled.status).toBe(401)
        expect(errorsOf(throttled)[0]).toEqual({
          code: 1031,
          message:
            "User could not be authenticated. This IP appears to be having trouble signing in to an account (detected repeated failures)",
          status: 401
        })
        // a success resets the counter
        expect((yield* signIn({ login: "carol", password: "pw-carol" })).status).toBe(201)
        expect(errorsOf(yield* signIn({ login: "carol", password: "bad" }))[0]?.code).toBe(1001)
        // resetFaults resets it too
        for (let i = 0; i < 5; i++) yield* signIn({ login: "carol", password: "bad" })
        expect(errorsOf(yield* signIn({ login: "carol", password: "bad" }))[0]?.code).toBe(1031)
        yield* fake.resetFaults
        expect(errorsOf(yield* signIn({ login: "carol", password: "bad" }))[0]?.code).toBe(1001)
      }))

    it.effect("asks for (1029) and checks (1028) a 2FA verification code", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.addAccount({ login: "dave", password: "pw-dave", twoFactorCode: "123456" })
        const needCode = yield* signIn({ login: "dave", password: "pw-dave" })
        expect(needCode.status).toBe(401)
        expect(errorsOf(needCode)).toEqual([{ code: 1029, message: "Please enter the verification code", status: 401 }])
        const badCode = yield* signIn({ login: "dave", password: "pw-dave", verificationCode: "000000" })
        expect(badCode.status).toBe(401)
        expect(errorsOf(badCode)).toEqual([{ code: 1028, message: "Invalid verification code", status: 401 }])
        const ok = yield* signIn({ login: "dave", password: "pw-dave", verificationCode: "123456" })
        expect(ok.status).toBe(201)
        expect(JSON.parse(ok.text).twoFactorEnabled).toBe(true)
      }))

    it.effect("answers XML errors when JSON is not accepted", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.addAccount({ login: "erin", password: "pw-erin", twoFactorCode: "111111" })
        const r = yield* signIn(
          { login: "erin", password: "pw-erin" },
          {
            "x-plex-client-identifier": CLIENT,
            "content-type": "application/x-www-form-urlencoded"
          }
        )
        expect(r.status).toBe(401)
        expect(r.headers.get("content-type")).toContain("xml")
        expect(r.text).toContain("<errors>")
        expect(r.text).toContain("<error code=\"1029\" message=\"Please enter the verification code\" status=\"401\"/>")
      }))
  })

  describe("plex.tv tokens", () => {
    it.effect("GET /user: 200 JSON with a valid token, XML without JSON Accept, 401 otherwise", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "frank", password: "pw" })
        const ok = yield* send("/api/v2/user", { headers: jsonHeaders({ "x-plex-token": account.token }) })
        expect(ok.status).toBe(200)
        expect(JSON.parse(ok.text)).toMatchObject({ id: account.id, username: "frank", authToken: account.token })
        const xml = yield* send("/api/v2/user", {
          headers: { "x-plex-client-identifier": CLIENT, "x-plex-token": account.token }
        })
        expect(xml.status).toBe(200)
        expect(xml.headers.get("content-type")).toContain("xml")
        expect(xml.text).toMatch(/<user id="\d+" uuid="[^"]+" username="frank"/)
        expect(xml.text).toContain(`authToken="${account.token}"`)
        expect(xml.text).toContain("<subscription ")
        expect(xml.text).toContain("<profile ")
        const bad = yield* send("/api/v2/user", { headers: jsonHeaders({ "x-plex-token": "not-a-token" }) })
        expect(bad.status).toBe(401)
        expect(errorsOf(bad)[0]?.code).toBe(1001)
        const missing = yield* send("/api/v2/user", { headers: jsonHeaders() })
        expect(missing.status).toBe(401)
      }))

    it.effect("ignores a token in the query string (401) and records it so tests can spot the bug", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "grace", password: "pw" })
        yield* fake.clearRequests
        const r = yield* send(`/api/v2/user?X-Plex-Token=${account.token}`, { headers: jsonHeaders() })
        expect(r.status).toBe(401)
        const [recorded] = yield* fake.requests
        expect(recorded?.searchParams["X-Plex-Token"]).toBe(account.token)
      }))

    it.effect("GET /ping: {\"pong\":true}, <pong>true</pong>, 401 for a bad token", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "heidi", password: "pw" })
        const ok = yield* send("/api/v2/ping", { headers: jsonHeaders({ "x-plex-token": account.token }) })
        expect(ok.status).toBe(200)
        expect(JSON.parse(ok.text)).toEqual({ pong: true })
        const xml = yield* send("/api/v2/ping", {
          headers: { "x-plex-client-identifier": CLIENT, "x-plex-token": account.token }
        })
        expect(xml.text).toContain("<pong>true</pong>")
        const bad = yield* send("/api/v2/ping", { headers: jsonHeaders({ "x-plex-token": "bogus" }) })
        expect(bad.status).toBe(401)
        expect(errorsOf(bad)[0]?.code).toBe(1001)
      }))

    it.effect("DELETE /users/signout: 204 then the token is revoked everywhere; 401 for a bad token", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "ivan", password: "pw" })
        const out = yield* send("/api/v2/users/signout", {
          method: "DELETE",
          headers: jsonHeaders({ "x-plex-token": account.token })
        })
        expect(out.status).toBe(204)
        expect(yield* fake.isTokenValid(account.token)).toBe(false)
        const user = yield* send("/api/v2/user", { headers: jsonHeaders({ "x-plex-token": account.token }) })
        expect(user.status).toBe(401)
        const pms = yield* send("/security/token?type=delegation&scope=all", {
          headers: jsonHeaders({ "x-plex-token": account.token })
        })
        expect(pms.status).toBe(401)
        const again = yield* send("/api/v2/users/signout", {
          method: "DELETE",
          headers: jsonHeaders({ "x-plex-token": account.token })
        })
        expect(again.status).toBe(401)
        // signing in again yields a fresh, valid token
        const r = yield* signIn({ login: "ivan", password: "pw" })
        const token = JSON.parse(r.text).authToken as string
        expect(token).not.toBe(account.token)
        expect(yield* fake.isTokenValid(token)).toBe(true)
      }))

    it.effect("issueToken mints a further valid token; revokeToken invalidates it", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "judy", password: "pw" })
        const extra = yield* fake.issueToken("judy")
        expect(extra).not.toBe(account.token)
        const ok = yield* send("/api/v2/user", { headers: jsonHeaders({ "x-plex-token": extra }) })
        expect(JSON.parse(ok.text).id).toBe(account.id)
        yield* fake.revokeToken(extra)
        expect(yield* fake.isTokenValid(extra)).toBe(false)
        expect(yield* fake.isTokenValid(account.token)).toBe(true)
        const bad = yield* send("/api/v2/user", { headers: jsonHeaders({ "x-plex-token": extra }) })
        expect(bad.status).toBe(401)
      }))
  })

  describe("plex.tv PINs", () => {
    const createPin = (query = "", headers = jsonHeaders()) => send(`/api/v2/pins${query}`, { method: "POST", headers })

    it.effect("creation needs X-Plex-Product and X-Plex-Client-Identifier", () =>
      Effect.gen(function*() {
        const noProduct = yield* createPin("", { accept: "application/json", "x-plex-client-identifier": CLIENT })
        expect(noProduct.status).toBe(400)
        expect(errorsOf(noProduct)).toEqual([{ code: 1000, message: "X-Plex-Product is missing", status: 400 }])
        const noClient = yield* createPin("", { accept: "application/json", "x-plex-product": "p" })
        expect(noClient.status).toBe(400)
        expect(errorsOf(noClient)[0]?.message).toBe("X-Plex-Client-Identifier is missing")
      }))

    it.effect("creates 4-char (900 s) and strong 25-char (1800 s) PINs with 201", () =>
      Effect.gen(function*() {
        const short = yield* createPin()
        expect(short.status).toBe(201)
        const pin = JSON.parse(short.text)
        expect(pin).toMatchObject({
          product: "PlexFake tests",
          trusted: false,
          clientIdentifier: CLIENT,
          expiresIn: 900,
          authToken: null,
          newRegistration: null,
          location: { code: "US" }
        })
        expect(pin.code).toMatch(/^[A-Z0-9]{4}$/)
        expect(pin.qr).toBe(`https://plex.tv/api/v2/pins/qr/${pin.code}`)
        expect(typeof pin.id).toBe("number")
        expect(Date.parse(pin.expiresAt) - Date.parse(pin.createdAt)).toBe(900_000)
        const strong = JSON.parse((yield* createPin("?strong=true")).text)
        expect(strong.code).toMatch(/^[a-z0-9]{25}$/)
        expect(strong.expiresIn).toBe(1800)
        const xml = yield* createPin("", { "x-plex-client-identifier": CLIENT, "x-plex-product": "p" })
        expect(xml.text).toMatch(/<pin id="\d+" code="[A-Z0-9]{4}"/)
      }))

    it.effect("poll → link → poll returns the token; other clients and unknown ids get 404 1020", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "kim", password: "pw" })
        const pin = JSON.parse((yield* createPin()).text) as { id: number; code: string }
        const before = yield* send(`/api/v2/pins/${pin.id}`, { headers: jsonHeaders() })
        expect(before.status).toBe(200)
        expect(JSON.parse(before.text).authToken).toBeNull()
        const otherClient = yield* send(`/api/v2/pins/${pin.id}`, {
          headers: jsonHeaders({ "x-plex-client-identifier": "someone-else" })
        })
        expect(otherClient.status).toBe(404)
        expect(JSON.parse(otherClient.text)).toEqual({
          errors: [{ code: 1020, message: "Code not found or expired", status: 404 }]
        })
        const unknown = yield* send("/api/v2/pins/1", { headers: jsonHeaders() })
        expect(unknown.status).toBe(404)
        expect(errorsOf(unknown)[0]?.code).toBe(1020)

        const linkHeaders = (token: string) => formHeaders({ "x-plex-token": token, "x-plex-product": "Plex SSO" })
        const badToken = yield* send("/api/v2/pins/link", {
          method: "PUT",
          headers: linkHeaders("bogus"),
          body: form({ code: pin.code })
        })
        expect(badToken.status).toBe(401)
        expect(errorsOf(badToken)[0]?.code).toBe(1001)
        const badCode = yield* send("/api/v2/pins/link", {
          method: "PUT",
          headers: linkHeaders(account.token),
          body: form({ code: "ZZZZZZZ" })
        })
        expect(badCode.status).toBe(404)
        expect(errorsOf(badCode)[0]?.code).toBe(1020)
        const linked = yield* send("/api/v2/pins/link", {
          method: "PUT",
          headers: linkHeaders(account.token),
          body: form({ code: pin.code })
        })
        expect(linked.status).toBe(204)
        const after = JSON.parse((yield* send(`/api/v2/pins/${pin.id}`, { headers: jsonHeaders() })).text)
        expect(after.authToken).toMatch(/^[A-Za-z0-9]{20}$/)
        expect(after.newRegistration).toBe(false)
        expect(yield* fake.isTokenValid(after.authToken)).toBe(true)
        const user = yield* send("/api/v2/user", { headers: jsonHeaders({ "x-plex-token": after.authToken }) })
        expect(JSON.parse(user.text).id).toBe(account.id)
      }))

    it.effect("approvePin (by id or code) and autoApprovePins; approvePin fails for unknown PINs", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "liam", password: "pw" })
        const byId = JSON.parse((yield* createPin()).text) as { id: number; code: string }
        yield* fake.approvePin(byId.id, account.token)
        const polledId = JSON.parse((yield* send(`/api/v2/pins/${byId.id}`, { headers: jsonHeaders() })).text)
        expect(polledId.authToken).toBe(account.token)
        const byCode = JSON.parse((yield* createPin()).text) as { id: number; code: string }
        yield* fake.approvePin(byCode.code.toLowerCase(), account.token)
        const polledCode = JSON.parse((yield* send(`/api/v2/pins/${byCode.id}`, { headers: jsonHeaders() })).text)
        expect(polledCode.authToken).toBe(account.token)

        const unknown = yield* Effect.exit(fake.approvePin(42, account.token))
        assert(Exit.isFailure(unknown))
        const error = yield* Effect.flip(fake.approvePin("NOPE", account.token))
        expect(error).toBeInstanceOf(Error)
        expect(error._tag).toBe("PlexFakeError")
        expect(error.message).toContain("NOPE")
        const badToken = yield* Effect.flip(fake.approvePin(byId.id, "bogus"))
        expect(badToken.message).toContain("token")

        yield* fake.autoApprovePins(0, account.token)
        const auto = JSON.parse((yield* createPin()).text) as { id: number }
        const polledAuto = JSON.parse((yield* send(`/api/v2/pins/${auto.id}`, { headers: jsonHeaders() })).text)
        expect(polledAuto.authToken).toBe(account.token)
        yield* fake.autoApprovePins(undefined)
        const manual = JSON.parse((yield* createPin()).text) as { id: number }
        const polledManual = JSON.parse((yield* send(`/api/v2/pins/${manual.id}`, { headers: jsonHeaders() })).text)
        expect(polledManual.authToken).toBeNull()
      }))
  })

  describe("PMS", () => {
    it.effect("/security/token mints transient tokens (GET and POST, JSON and XML)", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "mia", password: "pw" })
        const get = yield* send("/security/token?type=delegation&scope=all", {
          headers: { accept: "application/json", "x-plex-token": account.token }
        })
        expect(get.status).toBe(200)
        const body = JSON.parse(get.text)
        expect(body.MediaContainer.size).toBe(0)
        expect(body.MediaContainer.token).toMatch(
          /^transient-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
        )
        expect(yield* fake.isTokenValid(body.MediaContainer.token)).toBe(true)
        const post = yield* send("/security/token?type=delegation&scope=all", {
          method: "POST",
          headers: { accept: "application/json", "x-plex-token": body.MediaContainer.token }
        })
        expect(post.status).toBe(200)
        const xml = yield* send("/security/token?type=delegation&scope=all", {
          method: "POST",
          headers: { "x-plex-token": account.token }
        })
        expect(xml.text).toMatch(/<MediaContainer size="0" token="transient-[0-9a-f-]+">/)
        // a transient token is not a plex.tv token
        const plexTv = yield* send("/api/v2/user", {
          headers: jsonHeaders({ "x-plex-token": body.MediaContainer.token })
        })
        expect(plexTv.status).toBe(401)
      }))

    it.effect("/security/token: 400 HTML for a wrong type/scope, 401 HTML for a missing/bad token", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "noah", password: "pw" })
        for (const query of ["?type=other&scope=all", "?type=delegation", "?scope=all", ""]) {
          const r = yield* send(`/security/token${query}`, {
            headers: { accept: "application/json", "x-plex-token": account.token }
          })
          expect(r.status, query).toBe(400)
          expect(r.headers.get("content-type")).toContain("text/html")
        }
        for (const headers of [{ accept: "application/json" }, { accept: "application/json", "x-plex-token": "x" }]) {
          const r = yield* send("/security/token?type=delegation&scope=all", { headers })
          expect(r.status).toBe(401)
          expect(r.headers.get("content-type")).toBe("text/html")
          expect(r.text).toBe(PMS_401)
        }
      }))

    it.effect("restartServer revokes transient tokens but not account tokens", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "olivia", password: "pw" })
        const r = yield* send("/security/token?type=delegation&scope=all", {
          headers: { accept: "application/json", "x-plex-token": account.token }
        })
        const transient = JSON.parse(r.text).MediaContainer.token as string
        yield* fake.restartServer
        expect(yield* fake.isTokenValid(transient)).toBe(false)
        expect(yield* fake.isTokenValid(account.token)).toBe(true)
        const after = yield* send("/security/token?type=delegation&scope=all", {
          headers: { accept: "application/json", "x-plex-token": transient }
        })
        expect(after.status).toBe(401)
      }))

    it.effect("/security/resources: device JSON/XML with a fresh transient token; 400/404/401 HTML", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "paul", password: "pw" })
        yield* fake.addSource("server://abc123", {
          name: "PlexCorp",
          clientIdentifier: "abc123",
          connections: [
            {
              protocol: "https",
              address: "10.0.2.123",
              port: 32400,
              uri: "https://10-0-2-123.x.plex.direct:32400",
              local: true
            },
            {
              protocol: "https",
              address: "139.162.158.105",
              port: 8443,
              uri: "https://139-162-158-105.x.plex.direct:8443",
              local: false,
              relay: true
            }
          ]
        })
        const ok = yield* send(`/security/resources?source=${encodeURIComponent("server://abc123")}`, {
          headers: { accept: "application/json", "x-plex-token": account.token }
        })
        expect(ok.status).toBe(200)
        const device = JSON.parse(ok.text).MediaContainer.Device
        expect(JSON.parse(ok.text).MediaContainer.size).toBe(1)
        expect(device).toMatchObject({ name: "PlexCorp", clientIdentifier: "abc123" })
        expect(device.accessToken).toMatch(/^transient-/)
        expect(yield* fake.isTokenValid(device.accessToken)).toBe(true)
        expect(device.Connection).toEqual([
          {
            protocol: "https",
            address: "10.0.2.123",
            uri: "https://10-0-2-123.x.plex.direct:32400",
            port: 32400,
            local: true
          },
          {
            protocol: "https",
            address: "139.162.158.105",
            uri: "https://139-162-158-105.x.plex.direct:8443",
            port: 8443,
            local: false,
            relay: true
          }
        ])
        // a transient token works too, and XML without JSON Accept
        const xml = yield* send(`/security/resources?source=${encodeURIComponent("server://abc123")}`, {
          headers: { "x-plex-token": device.accessToken }
        })
        expect(xml.status).toBe(200)
        expect(xml.text).toContain("<Device name=\"PlexCorp\" clientIdentifier=\"abc123\" accessToken=\"transient-")
        expect(xml.text).toContain("local=\"1\"")
        expect(xml.text).toContain("relay=\"1\"")

        const unknown = yield* send("/security/resources?source=server://nope", {
          headers: { accept: "application/json", "x-plex-token": account.token }
        })
        expect(unknown.status).toBe(404)
        expect(unknown.headers.get("content-type")).toContain("text/html")
        const missing = yield* send("/security/resources", {
          headers: { accept: "application/json", "x-plex-token": account.token }
        })
        expect(missing.status).toBe(400)
        expect(missing.headers.get("content-type")).toContain("text/html")
        const unauthorized = yield* send("/security/resources?source=server://abc123", {
          headers: { accept: "application/json", "x-plex-token": "bogus" }
        })
        expect(unauthorized.status).toBe(401)
        expect(unauthorized.text).toBe(PMS_401)
      }))

    it.effect("anything else is a 404", () =>
      Effect.gen(function*() {
        const plexTv = yield* send("/api/v2/nothing", { headers: jsonHeaders() })
        expect(plexTv.status).toBe(404)
        const wrongVerb = yield* send("/api/v2/user", { method: "POST", headers: jsonHeaders() })
        expect(wrongVerb.status).toBe(404)
        const pms = yield* send("/library/sections", { headers: { accept: "application/json" } })
        expect(pms.status).toBe(404)
      }))
  })

  describe("fault controls", () => {
    it.effect("failNext: status, Retry-After and plex.tv error body, for the next n matching requests", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "quinn", password: "pw" })
        const headers = jsonHeaders({ "x-plex-token": account.token })
        yield* fake.failNext(2, { status: 429, retryAfter: 3 }, { path: "/api/v2/ping" })
        // a non-matching path is not affected
        expect((yield* send("/api/v2/user", { headers })).status).toBe(200)
        for (let i = 0; i < 2; i++) {
          const r = yield* send("/api/v2/ping", { headers })
          expect(r.status).toBe(429)
          expect(r.headers.get("retry-after")).toBe("3")
          expect(JSON.parse(r.text)).toEqual({
            errors: [{ code: 1003, message: "API rate limit exceeded", status: 429 }]
          })
        }
        expect((yield* send("/api/v2/ping", { headers })).status).toBe(200)

        yield* fake.failNext(1, { status: 503, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT" })
        const unavailable = yield* send("/api/v2/ping", { headers })
        expect(unavailable.status).toBe(503)
        expect(unavailable.headers.get("retry-after")).toBe("Wed, 21 Oct 2015 07:28:00 GMT")
        expect(unavailable.headers.get("content-type")).toContain("text/plain")
        expect(unavailable.text).toBe("Service Unavailable")

        yield* fake.failNext(1, { status: 502, body: "<html>bad gateway</html>", contentType: "text/html" })
        const custom = yield* send("/security/token?type=delegation&scope=all", { headers })
        expect(custom.status).toBe(502)
        expect(custom.text).toBe("<html>bad gateway</html>")
        expect(custom.headers.get("content-type")).toBe("text/html")
      }))

    it.effect("failNext entries are consumed in order of arrival", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.failNext(1, { status: 500 })
        yield* fake.failNext(1, { status: 502 })
        const statuses: Array<number> = []
        for (let i = 0; i < 3; i++) statuses.push((yield* send("/nothing")).status)
        expect(statuses).toEqual([500, 502, 404])
      }))

    it.effect("delayNext delays the next matching request only", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const account = yield* fake.addAccount({ login: "rita", password: "pw" })
        const headers = jsonHeaders({ "x-plex-token": account.token })
        yield* fake.delayNext(1, "300 millis", { path: "/api/v2/ping" })
        const timed = (path: string) =>
          Effect.gen(function*() {
            const start = Date.now()
            const r = yield* send(path, { headers })
            return { status: r.status, ms: Date.now() - start }
          })
        const slow = yield* timed("/api/v2/ping")
        expect(slow.status).toBe(200)
        expect(slow.ms).toBeGreaterThanOrEqual(280)
        const fast = yield* timed("/api/v2/ping")
        expect(fast.status).toBe(200)
        // Only the next request is delayed: well under the 300 ms delay, with room for a loaded machine.
        expect(fast.ms).toBeLessThan(slow.ms)
      }))

    it.effect("a delay combines with a failure on the same request", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.delayNext(1, "150 millis")
        yield* fake.failNext(1, { status: 503 })
        const start = Date.now()
        const r = yield* send("/api/v2/ping", { headers: jsonHeaders() })
        expect(r.status).toBe(503)
        expect(Date.now() - start).toBeGreaterThanOrEqual(130)
      }))

    describe("corruptNext", () => {
      const withAccount = Effect.flatMap(PlexFake.PlexFake, (fake) =>
        Effect.map(
          fake.addAccount({ login: `corrupt-${Math.random().toString(36).slice(2)}`, password: "pw" }),
          (account) => ({ fake, headers: jsonHeaders({ "x-plex-token": account.token }) })
        ))

      it.effect("malformed-json: 200 application/json that does not parse", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          yield* fake.corruptNext(1, "malformed-json")
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.headers.get("content-type")).toContain("application/json")
          expect(() => JSON.parse(r.text)).toThrow()
        }))

      it.effect("truncated: the normal body cut in half with a matching Content-Length", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          const normal = yield* send("/api/v2/user", { headers })
          yield* fake.corruptNext(1, "truncated")
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.headers.get("content-type")).toContain("application/json")
          expect(r.bytes).toBe(Math.floor(normal.bytes / 2))
          expect(Number(r.headers.get("content-length"))).toBe(r.bytes)
          expect(normal.text.startsWith(r.text)).toBe(true)
          expect(() => JSON.parse(r.text)).toThrow()
        }))

      it.effect("html: a 200 text/html page", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          yield* fake.corruptNext(1, "html")
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.headers.get("content-type")).toContain("text/html")
          expect(r.text).toContain("<html>")
        }))

      it.effect("xml-error: a 200 with an XML <errors> body", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          yield* fake.corruptNext(1, "xml-error")
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.headers.get("content-type")).toContain("xml")
          expect(r.text).toContain("<errors>")
        }))

      it.effect("empty: a 200 with an empty body", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          yield* fake.corruptNext(1, "empty")
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.bytes).toBe(0)
          expect(r.headers.get("content-length")).toBe("0")
        }))

      it.effect("oversized: exactly `bytes` bytes with Content-Length", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          yield* fake.corruptNext(1, { _tag: "oversized", bytes: 3_000_000 })
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.bytes).toBe(3_000_000)
          expect(r.headers.get("content-length")).toBe("3000000")
          expect(r.text.startsWith("{\"padding\":\"xxx")).toBe(true)
          expect(r.text.endsWith("xx\"}")).toBe(true)
        }))

      it.effect("oversized chunked: streamed without Content-Length", () =>
        Effect.gen(function*() {
          const { fake, headers } = yield* withAccount
          yield* fake.corruptNext(1, { _tag: "oversized", bytes: 1_000_001, chunked: true })
          const r = yield* send("/api/v2/user", { headers })
          expect(r.status).toBe(200)
          expect(r.headers.get("content-length")).toBeNull()
          expect(r.headers.get("transfer-encoding")).toBe("chunked")
          expect(r.bytes).toBe(1_000_001)
          expect(() => JSON.parse(r.text)).not.toThrow()
        }))
    })

    it.effect("dropNext: fetch rejects; later requests are answered", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        const { url } = yield* PlexFake.PlexFakeServer
        yield* fake.dropNext(1, { path: "/api/v2" })
        const dropped = yield* Effect.promise(() =>
          fetch(`${url}/api/v2/ping`, { headers: jsonHeaders() }).then(
            () => "resolved",
            (error: unknown) => `rejected: ${String(error)}`
          )
        )
        expect(dropped).toMatch(/^rejected: TypeError: fetch failed/)
        const next = yield* send("/api/v2/ping", { headers: jsonHeaders() })
        expect(next.status).toBe(401)
      }))

    it.effect("resetFaults clears pending faults", () =>
      Effect.gen(function*() {
        const fake = yield* PlexFake.PlexFake
        yield* fake.failNext(5, { status: 500 })
        yield* fake.dropNext(5)
        yield* fake.delayNext(5, "10 seconds")
        yield* fake.resetFaults
        expect((yield* send("/nothing")).status).toBe(404)
      }))
  })

  it.effect("requests records method, path, search params and lower-cased headers; clearRequests empties it", () =>
    Effect.gen(function*() {
      const fake = yield* PlexFake.PlexFake
      yield* fake.clearRequests
      yield* send("/security/token?type=delegation&scope=all", {
        method: "POST",
        headers: { "X-Plex-Token": "abc", "X-Plex-Client-Identifier": "Mixed-Case" }
      })
      const [recorded, ...rest] = yield* fake.requests
      expect(rest).toEqual([])
      assert(recorded !== undefined)
      expect(recorded.method).toBe("POST")
      expect(recorded.path).toBe("/security/token")
      expect(recorded.searchParams).toEqual({ type: "delegation", scope: "all" })
      expect(recorded.headers["x-plex-token"]).toBe("abc")
      expect(recorded.headers["x-plex-client-identifier"]).toBe("Mixed-Case")
      expect(recorded.form).toBeUndefined()
      expect(Math.abs(recorded.time - Date.now())).toBeLessThan(5_000)
      yield* fake.clearRequests
      expect(yield* fake.requests).toEqual([])
    }))
})
