/**
 * Exported spans never carry a credential (security.md "Everything else", issue #5): passwords,
 * access and refresh tokens, Authorization and Cookie headers and secret configuration values
 * go through signup, signin, refresh, password change, revocation and their error paths, in
 * bodies, headers and query strings; none of them appears anywhere in what the collector got.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { randomBytes } from "node:crypto"
import { get, post, type Reply } from "../support/http.js"
import { TEST_JWT_SECRET, TestServer } from "../support/TestService.js"
import { attributeOf, awaitExport, OtlpReceiver, SERVER, spansOf, TracedService } from "./telemetry-helpers.js"

const AUTH = "/api/v1/auth"
const unique = (label: string) => `${label}-${randomBytes(9).toString("base64url")}`

const OTLP_API_KEY = unique("otlp-api-key")
const SERVICE_NAME = "tasks-api-telemetry-test"

it.layer(
  TracedService({ OTEL_EXPORTER_OTLP_HEADERS: `x-otlp-api-key=${OTLP_API_KEY}`, OTEL_SERVICE_NAME: SERVICE_NAME })
)(
  "span redaction",
  (it) => {
    it.effect("no password, token, cookie or secret configuration value appears in any exported span", () =>
      Effect.gen(function*() {
        const receiver = yield* OtlpReceiver
        const { databaseUrl } = yield* TestServer
        const serverSpansBefore = spansOf(receiver).filter((s) => s.kind === SERVER).length
        let requests = 0
        const send = <E, R>(reply: Effect.Effect<Reply, E, R>) =>
          Effect.tap(reply, () => Effect.sync(() => void requests++))

        const email = `${unique("redaction")}@example.com`.toLowerCase()
        const password = unique("Password")
        const wrongPassword = unique("WrongPassword")
        const newPassword = unique("NewPassword")
        const rejectedPassword = "Qz7!kPw" // too short: refused by the password policy (422)
        const cookieSecret = unique("cookie-session")
        const secrets: Record<string, string> = {
          password,
          wrongPassword,
          newPassword,
          rejectedPassword,
          cookieSecret,
          jwtSecret: TEST_JWT_SECRET,
          otlpApiKey: OTLP_API_KEY,
          databasePassword: decodeURIComponent(new URL(databaseUrl).password)
        }
        const tokens: Array<string> = []
        const keepTokens = (reply: Reply) => {
          if (reply.body?.data?.token !== undefined) tokens.push(reply.body.data.token, reply.body.data.refresh_token)
          return reply
        }

        // Signup, and its error paths: a refused password, an invalid email, a taken email.
        const signedUp = keepTokens(yield* send(post(`${AUTH}/signup`, { json: { email, password } })))
        expect(signedUp.status, signedUp.text).toBe(200)
        expect(
          (yield* send(post(`${AUTH}/signup`, { json: { email: `other-${email}`, password: rejectedPassword } })))
            .status
        )
          .toBe(422)
        expect((yield* send(post(`${AUTH}/signup`, { json: { email: "not an email", password } }))).status).toBe(422)
        expect((yield* send(post(`${AUTH}/signup`, { json: { email, password } }))).status).toBe(400)
        // A body the schema refuses, with the password in it.
        expect((yield* send(post(`${AUTH}/signup`, { json: { email, password, name: { nested: password } } }))).status)
          .toBe(422)

        // Signin: wrong password, then right.
        expect((yield* send(post(`${AUTH}/signin`, { json: { email, password: wrongPassword } }))).status).toBe(401)
        const signedIn = keepTokens(yield* send(post(`${AUTH}/signin`, { json: { email, password } })))
        expect(signedIn.status, signedIn.text).toBe(200)
        const access: string = signedIn.body.data.token
        const refresh: string = signedIn.body.data.refresh_token

        // Refresh; reuse of a rotated-away token (after the grace: it ends signup's session); a token
        // of the wrong kind.
        const signupRefresh: string = signedUp.body.data.refresh_token
        expect(keepTokens(yield* send(post(`${AUTH}/refresh`, { json: { refresh_token: signupRefresh } }))).status)
          .toBe(200)
        const refreshed = keepTokens(yield* send(post(`${AUTH}/refresh`, { json: { refresh_token: refresh } })))
        expect(refreshed.status, refreshed.text).toBe(200)
        yield* TestClock.adjust("11 seconds")
        const reused = yield* send(post(`${AUTH}/refresh`, { json: { refresh_token: signupRefresh } }))
        expect(reused.body?.error_code).toBe("refresh_token_reused")
        expect((yield* send(post(`${AUTH}/refresh`, { json: { refresh_token: access } }))).status).toBe(401)
        const current = refreshed.body.data as { readonly token: string; readonly refresh_token: string }

        // Tokens and cookies in headers and query strings, accepted and refused.
        const withEverything = {
          token: current.token,
          headers: {
            cookie: `session=${cookieSecret}; refresh_token=${current.refresh_token}`,
            "x-refresh-token": current.refresh_token,
            "x-session-secret": cookieSecret
          }
        }
        const query = `access_token=${current.token}&refresh_token=${current.refresh_token}&secret=${TEST_JWT_SECRET}`
        expect((yield* send(get(`${AUTH}/me?${query}`, withEverything))).status).toBe(200)
        expect((yield* send(get(`/api/tasks?${query}`))).status).toBe(401)
        expect((yield* send(get(`${AUTH}/me`, { token: TEST_JWT_SECRET }))).status).toBe(401)
        expect((yield* send(get(`${AUTH}/me`, { headers: { authorization: `Basic ${cookieSecret}` } }))).status).toBe(
          401
        )
        expect((yield* send(get(`/no/such/route?token=${current.token}`, withEverything))).status).toBe(404)

        // Password change: wrong current password, then a real change.
        const change = (current_password: string, new_password: string) =>
          send(post(`${AUTH}/change-password`, { token: current.token, json: { current_password, new_password } }))
        expect((yield* change(wrongPassword, newPassword)).body?.error_code).toBe("invalid_current_password")
        expect((yield* change(password, newPassword)).status).toBe(204)

        // RFC 7009 revocation: a token in the body.
        expect((yield* send(post(`${AUTH}/revoke`, { json: { token: current.refresh_token } }))).status).toBe(200)

        // Every request's server span is in (so the search below is over all of them).
        const expected = serverSpansBefore + requests
        yield* awaitExport(() => {
          const got = spansOf(receiver).filter((s) => s.kind === SERVER).length
          return got >= expected ? got : undefined
        }, `${requests} server spans`)
        const spans = spansOf(receiver)
        const names = new Set(spans.filter((s) => s.kind === SERVER).map((s) => s.name))
        for (const name of [`POST ${AUTH}/signup`, `POST ${AUTH}/signin`, `POST ${AUTH}/refresh`, `GET ${AUTH}/me`]) {
          expect(names).toContain(name)
        }
        // The export itself carried the configured headers and service name.
        const traces = receiver.received.filter((r) => r.path === "/v1/traces")
        expect(traces[0]?.headers["x-otlp-api-key"]).toBe(OTLP_API_KEY)
        expect(traces[0]?.body).toContain(SERVICE_NAME)
        // The credentials-carrying headers were there and are redacted, not dropped silently.
        const me = spans.find((s) => s.name === `GET ${AUTH}/me` && attributeOf(s, "http.response.status_code") === 200)
        expect(attributeOf(me!, "http.request.header.authorization")).toBe("<redacted>")
        expect(attributeOf(me!, "http.request.header.cookie")).toBe("<redacted>")
        expect(attributeOf(me!, "http.request.header.x-refresh-token")).toBe("<redacted>")
        expect(String(attributeOf(me!, "url.full"))).toContain("access_token=")

        // The search: every byte the collector got (traces and metrics), raw.
        const everything = receiver.received.map((r) => r.body).join("\n")
        expect(tokens.length).toBeGreaterThanOrEqual(6)
        for (const token of tokens) {
          secrets[`token ${token.slice(0, 12)}…`] = token
          // A JWT's signature alone would let nobody in, but its presence means the token leaked.
          const signature = token.split(".")[2]
          if (signature !== undefined) secrets[`signature of ${token.slice(0, 12)}…`] = signature
        }
        const leaked = Object.entries(secrets).filter(([, value]) => everything.includes(value)).map(([name]) => name)
        expect(leaked).toEqual([])
      }))
  }
)
