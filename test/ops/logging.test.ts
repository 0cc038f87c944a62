/**
 * The JSON log stream of a running service (the built service as a child process, LOG_FORMAT=json):
 * one access line per request, security events with stable names, and redaction of every secret
 * that passes through a request, even at LOG_LEVEL=debug.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeScrubber, REDACTED } from "../../src/infra/platform/Redaction.js"
import { readyService, type ServiceProcess, settleOutput } from "../support/serviceProcess.js"
import { suiteDatabase } from "../support/TestService.js"

const SECRET = "log-test-secret-value-0123456789-abcdefghij"
const PASSWORD = "correct horse battery staple"

type Line = Record<string, unknown>

const linesOf = (service: ServiceProcess): Array<Line> =>
  service.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Line)

const call = (
  service: ServiceProcess,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {}
) =>
  Effect.promise(async () => {
    const response = await fetch(`${service.baseUrl}${path}`, {
      method,
      headers: { "content-type": "application/json", ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body)
    })
    const text = await response.text()
    return {
      status: response.status,
      requestId: response.headers.get("x-request-id"),
      body: text ? JSON.parse(text) : undefined
    }
  })

const signupAs = (service: ServiceProcess, email: string) =>
  call(service, "POST", "/api/v1/auth/signup", { body: { email, password: PASSWORD } })

/** A service on a fresh database with JSON logs at debug level. */
const service = Effect.gen(function*() {
  const database = yield* suiteDatabase()
  return yield* readyService({
    DATABASE_URL: database.url,
    JWT_SECRET: SECRET,
    LOG_FORMAT: "json",
    LOG_LEVEL: "debug",
    RATE_LIMIT_ENABLED: "true",
    RATE_LIMIT_CHANGE_PASSWORD_PER_USER: "1/15m"
  })
})

const settle = (svc: ServiceProcess, until: (lines: Array<Line>) => boolean) => settleOutput(() => until(linesOf(svc)))

describe("logs of a running service", () => {
  it.live(
    "one access line per request with its fields; trace_id follows the incoming traceparent",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const svc = yield* service
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        const signup = yield* signupAs(svc, "access@example.com")
        const token: string = signup.body.data.token
        const listed = yield* call(svc, "GET", "/api/tasks?limit=5", {
          headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` }
        })
        const missing = yield* call(svc, "GET", `/api/tasks/${crypto.randomUUID()}`, {
          headers: { authorization: `Bearer ${token}` }
        })
        // Lines are written in a batch just after the event-loop turn that answered: wait for all three.
        const accessLines = (lines: Array<Line>) =>
          lines.filter((l) => l.event === "http.request" && l.route !== "/health/ready")
        yield* settle(svc, (lines) => accessLines(lines).length >= 3)

        const access = accessLines(linesOf(svc))
        expect(access.map((l) => [l.method, l.route, l.status])).toEqual([
          ["POST", "/api/v1/auth/signup", 200],
          ["GET", "/api/tasks", 200],
          ["GET", "/api/tasks/:task_id", 404]
        ])
        for (const line of access) {
          expect(line).toMatchObject({ level: "info", client_ip: "127.0.0.1" })
          expect(typeof line.duration_ms).toBe("number")
          expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/)
          expect(line.request_id).toMatch(/^[0-9a-f-]{36}$/)
        }
        expect(access[0].request_id).toBe(signup.requestId)
        expect(access[1]).toMatchObject({
          request_id: listed.requestId,
          trace_id: traceId,
          user_id: signup.body.data.user_id
        })
        expect(access[2]).toMatchObject({ request_id: missing.requestId, user_id: signup.body.data.user_id })
        // Every line written while serving the signup carries its request id and trace id.
        const duringSignup = linesOf(svc).filter((l) => l.request_id === signup.requestId)
        expect(duringSignup.length).toBeGreaterThanOrEqual(2)
        for (const line of duringSignup) expect(line.trace_id).toBe(access[0].trace_id)
      })),
    60_000
  )

  it.live(
    "the access line names the route the router served: any case, trailing or doubled slashes, HEAD as GET",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const svc = yield* service
        const signup = yield* signupAs(svc, "routes@example.com")
        const auth = { headers: { authorization: `Bearer ${signup.body.data.token as string}` } }
        const created = yield* call(svc, "POST", "/api/tasks", {
          ...auth,
          body: { title: "routed", priority: "urgent_important" }
        })
        expect(created.status).toBe(201)
        const taskId: string = created.body.data.id
        // Each of these is served by the router (the status says so), so each is its route's request.
        const served: Array<readonly [string, string, number, string]> = [
          ["GET", "/API/TASKS", 200, "/api/tasks"],
          ["HEAD", "/api/tasks", 200, "/api/tasks"],
          ["GET", "/api/tasks/?limit=1", 200, "/api/tasks"],
          ["GET", "//api//tasks", 200, "/api/tasks"],
          ["GET", `/api/Tasks/${taskId.toUpperCase()}`, 200, "/api/tasks/:task_id"],
          ["HEAD", `/API/tasks/${taskId}`, 200, "/api/tasks/:task_id"],
          ["GET", "/Health/Live", 200, "/health/live"],
          // Not served: unknown paths, and a method no route has, stay one label.
          ["GET", "/api/taskz", 404, "unmatched"],
          ["GET", "/rpc", 404, "unmatched"],
          ["PUT", "/api/tasks", 404, "unmatched"]
        ]
        for (const [method, path, status] of served) {
          expect((yield* call(svc, method, path, auth)).status, `${method} ${path}`).toBe(status)
        }
        const accessLines = (lines: Array<Line>) =>
          lines.filter((l) => l.event === "http.request" && l.route !== "/health/ready").slice(2)
        yield* settle(svc, (lines) => accessLines(lines).length >= served.length)
        expect(accessLines(linesOf(svc)).map((l) => [l.method, l.route, l.status])).toEqual(
          served.map(([method, , status, route]) => [method, route, status])
        )
      })),
    60_000
  )

  it.live(
    "security events appear once each, with user, session, client IP and request id",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const svc = yield* service
        const signup = yield* signupAs(svc, "events@example.com")
        const userId: string = signup.body.data.user_id
        const signin = yield* call(svc, "POST", "/api/v1/auth/signin", {
          body: { email: "events@example.com", password: PASSWORD }
        })
        const failed = yield* call(svc, "POST", "/api/v1/auth/signin", {
          body: { email: "events@example.com", password: "wrong guess" }
        })
        expect(failed.status).toBe(401)
        // Two rotations, then the first token again: reuse whatever the grace window.
        const first: string = signin.body.data.refresh_token
        const second = yield* call(svc, "POST", "/api/v1/auth/refresh", { body: { refresh_token: first } })
        yield* call(svc, "POST", "/api/v1/auth/refresh", { body: { refresh_token: second.body.data.refresh_token } })
        const reused = yield* call(svc, "POST", "/api/v1/auth/refresh", { body: { refresh_token: first } })
        expect(reused.body.error_code).toBe("refresh_token_reused")
        // change-password is limited to 1 per 15 minutes here: the second attempt is refused.
        const headers = { authorization: `Bearer ${signup.body.data.token}` }
        const body = { current_password: "wrong guess", new_password: "another fine passphrase" }
        yield* call(svc, "POST", "/api/v1/auth/change-password", { headers, body })
        const limited = yield* call(svc, "POST", "/api/v1/auth/change-password", { headers, body })
        expect(limited.status).toBe(429)
        yield* settle(svc, (lines) => lines.some((l) => l.event === "ratelimit.exceeded"))

        const events = linesOf(svc).filter((l) => typeof l.event === "string" && l.event !== "http.request")
        const once = (name: string, requestId: string | null) => {
          const found = events.filter((l) => l.event === name && l.request_id === requestId)
          expect(found, name).toHaveLength(1)
          expect(found[0]).toMatchObject({ user_id: userId, client_ip: "127.0.0.1" })
          return found[0]
        }
        expect(once("auth.signup", signup.requestId).session_id).toMatch(/^[0-9a-f-]{36}$/)
        expect(once("auth.signin.succeeded", signin.requestId).session_id).toMatch(/^[0-9a-f-]{36}$/)
        expect(once("auth.signin.failed", failed.requestId).reason).toBe("wrong_password")
        expect(once("auth.refresh.reused", reused.requestId).session_id).toBe(
          once("auth.signin.succeeded", signin.requestId).session_id
        )
        expect(once("ratelimit.exceeded", limited.requestId).rule).toBe("change-password:user")
      })),
    60_000
  )

  it.live(
    "no password, token, refresh token, cookie or secret reaches a log line, even at debug",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const svc = yield* service
        const signup = yield* signupAs(svc, "redact@example.com")
        const { refresh_token: refreshToken, token } = signup.body.data
        const cookie = "session=cookie-value-that-must-not-leak"
        yield* call(svc, "POST", "/api/v1/auth/signin", {
          body: { email: "redact@example.com", password: PASSWORD },
          headers: { cookie }
        })
        yield* call(svc, "POST", "/api/v1/auth/signin", {
          body: { email: "redact@example.com", password: "wrong-but-secret-guess" }
        })
        yield* call(svc, "POST", "/api/v1/auth/refresh", { body: { refresh_token: refreshToken } })
        yield* call(svc, "POST", "/api/v1/auth/refresh", { body: { refresh_token: `${refreshToken}x` } })
        yield* call(svc, "GET", "/api/tasks", { headers: { authorization: `Bearer ${token}`, cookie } })
        yield* call(svc, "GET", "/api/tasks", { headers: { authorization: `Bearer ${token}tampered` } })
        yield* call(svc, "POST", "/api/v1/auth/signup", { body: { email: "redact@example.com", password: SECRET } })
        yield* call(svc, "POST", "/api/tasks", { headers: { authorization: `Bearer ${token}` }, body: "{not json" })
        yield* settle(svc, (lines) => lines.filter((l) => l.event === "http.request").length >= 9)

        const everything = svc.output()
        expect(everything.length).toBeGreaterThan(0)
        for (
          const secret of [
            PASSWORD,
            token,
            refreshToken,
            "cookie-value-that-must-not-leak",
            "wrong-but-secret-guess",
            SECRET
          ]
        ) {
          expect(everything.includes(secret), `a log line contains ${secret.slice(0, 12)}…`).toBe(false)
        }
      })),
    60_000
  )
})

describe("the scrubber logs go through", () => {
  const scrub = makeScrubber(["s3cr3t-value-xyz"])
  it("replaces fields named like secrets and cuts secrets and credentials out of text", () => {
    expect(scrub.value("password", "hunter2")).toBe(REDACTED)
    expect(scrub.value("refresh_token", "abc")).toBe(REDACTED)
    expect(scrub.value("authorization", "Bearer abc")).toBe(REDACTED)
    expect(scrub.value("detail", "x s3cr3t-value-xyz y")).toBe(`x ${REDACTED} y`)
    expect(scrub.text("header Bearer abc.def-ghi")).not.toContain("abc.def-ghi")
    expect(scrub.text("jwt eyJhbGciOi.eyJzdWIiOi.sig_123 end")).toBe(`jwt ${REDACTED} end`)
    expect(scrub.value("user_id", "3f1e")).toBe("3f1e")
  })
})
