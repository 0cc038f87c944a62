/**
 * Traces over OTLP/HTTP (operations.md "Health, logs, traces"; issue #5): one server span per
 * request named by route template with `http.route`, an incoming W3C `traceparent` honoured as its
 * parent, and child spans for SQL, password hashing, token work and rate limiting under it.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { get, post, signup } from "../support/http.js"
import { rpcClient } from "../support/TestService.js"
import {
  ancestorsOf,
  attributeOf,
  awaitExport,
  descendantsOf,
  isSqlStatement,
  OtlpReceiver,
  type OtlpSpan,
  SERVER,
  spansOf,
  TracedService
} from "./telemetry-helpers.js"

const TASK_ROUTE = "/api/tasks/:task_id"

/** A W3C `traceparent` header naming the caller's span. */
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("")

/** Waits for the server span of the trace `traceId` named `name`, and for its children to be in. */
const serverSpanOf = (traceId: string, name: string) =>
  Effect.gen(function*() {
    const receiver = yield* OtlpReceiver
    return yield* awaitExport(() => {
      const spans = spansOf(receiver)
      const server = spans.find((s) => s.traceId === traceId && s.kind === SERVER && s.name === name)
      return server === undefined ? undefined : { server, spans }
    }, `the server span ${name} of trace ${traceId}`)
  })

// Rate limits on (memory store): their checks must show up as spans too.
it.layer(TracedService({ RATE_LIMIT_ENABLED: "true" }))("traces", (it) => {
  it.effect("a request's server span is named by route template, carries http.route, and parents its SQL spans", () =>
    Effect.gen(function*() {
      const user = yield* signup("traced")
      const created = yield* post("/api/tasks", {
        token: user.token,
        json: { title: "traced task", priority: "urgent_important" }
      })
      expect(created.status, created.text).toBe(201)
      const taskId: string = created.body.data.id

      // Past the session-check interval: this request verifies its token (and reads its session) again.
      yield* TestClock.adjust("5 seconds")
      const traceId = randomHex(16)
      const sentSpanId = randomHex(8)
      const read = yield* get(`/api/tasks/${taskId}`, {
        token: user.token,
        headers: { traceparent: traceparent(traceId, sentSpanId) }
      })
      expect(read.status, read.text).toBe(200)

      const { server, spans } = yield* serverSpanOf(traceId, `GET ${TASK_ROUTE}`)
      // W3C trace context honoured: same trace, parented on the caller's span.
      expect(server.traceId).toBe(traceId)
      expect(server.parentSpanId).toBe(sentSpanId)
      expect(attributeOf(server, "http.route")).toBe(TASK_ROUTE)
      expect(attributeOf(server, "http.request.method")).toBe("GET")
      expect(attributeOf(server, "http.response.status_code")).toBe(200)
      // The path's id is in url.path, never in the span's name.
      expect(server.name).not.toContain(taskId)

      const children = descendantsOf(server, spans)
      const sql = children.filter(isSqlStatement)
      expect(sql.length).toBeGreaterThan(0)
      for (const statement of sql) {
        expect(statement.traceId).toBe(traceId)
        expect(typeof attributeOf(statement, "db.query.text")).toBe("string")
        // The parentSpanId chain leads up to the server span.
        expect(ancestorsOf(statement, spans)).toContain(server)
      }
      // The task read and the access-token verification happen under the request's span.
      const names = children.map((s) => s.name)
      expect(names).toContain("Tokens.verifyAccessToken")
      expect(names).toContain("Tasks.get")
      // The rate-limit check of the task API (api:user) is a child of the server span too.
      expect(names).toContain("RateLimits.check")
    }))

  it.effect(
    "signup and signin trace password hashing, token signing and rate-limit checks under their server span",
    () =>
      Effect.gen(function*() {
        const signupTrace = randomHex(16)
        const email = `traced-signin-${Date.now().toString(36)}@example.com`
        const password = "a long enough passphrase 42"
        const signedUp = yield* post("/api/v1/auth/signup", {
          json: { email, password },
          headers: { traceparent: traceparent(signupTrace, randomHex(8)) }
        })
        expect(signedUp.status, signedUp.text).toBe(200)
        const signinTrace = randomHex(16)
        const signedIn = yield* post("/api/v1/auth/signin", {
          json: { email, password },
          headers: { traceparent: traceparent(signinTrace, randomHex(8)) }
        })
        expect(signedIn.status, signedIn.text).toBe(200)

        const signupSpans = yield* serverSpanOf(signupTrace, "POST /api/v1/auth/signup")
        expect(attributeOf(signupSpans.server, "http.route")).toBe("/api/v1/auth/signup")
        const signupDescendants = descendantsOf(signupSpans.server, signupSpans.spans)
        const underSignup = signupDescendants.map((s) => s.name)
        expect(underSignup).toContain("PasswordHasher.hash")
        expect(underSignup).toContain("Tokens.issueAccessToken")
        expect(underSignup).toContain("RateLimits.check")
        expect(signupDescendants.some(isSqlStatement)).toBe(true)

        const signinSpans = yield* serverSpanOf(signinTrace, "POST /api/v1/auth/signin")
        const underSignin = descendantsOf(signinSpans.server, signinSpans.spans).map((s) => s.name)
        expect(underSignin).toContain("PasswordHasher.verify")
        expect(underSignin).toContain("Tokens.issueAccessToken")
        expect(underSignin).toContain("RateLimits.check")
      })
  )

  it.effect("without traceparent a request starts a trace of its own; an unknown path is one bounded name", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver
      const before = new Set(spansOf(receiver).map((s) => s.spanId))
      const missing = yield* get("/no/such/path/12345")
      expect(missing.status).toBe(404)
      // (/health/live is answered ahead of the pipeline, untraced: Front.ts)
      const live = yield* get("/health/ready")
      expect(live.status).toBe(200)

      const fresh = (spans: ReadonlyArray<OtlpSpan>) => spans.filter((s) => !before.has(s.spanId) && s.kind === SERVER)
      const [unmatched, health] = yield* awaitExport(() => {
        const spans = fresh(spansOf(receiver))
        const unmatched = spans.find((s) => s.name === "GET unmatched")
        const health = spans.find((s) => s.name === "GET /health/ready")
        return unmatched && health ? [unmatched, health] as const : undefined
      }, "the server spans of an unknown path and of /health/ready")
      expect(unmatched.parentSpanId ?? "").toBe("")
      expect(health.parentSpanId ?? "").toBe("")
      expect(unmatched.traceId).not.toBe(health.traceId)
      expect(unmatched.name).not.toContain("12345")
      expect(attributeOf(health, "http.route")).toBe("/health/ready")
    }))

  it.effect(
    "an RPC call is traced: its procedure span is in the trace of POST /rpc, linked to it, with its SQL under it",
    () =>
      Effect.gen(function*() {
        const receiver = yield* OtlpReceiver
        const before = new Set(spansOf(receiver).map((s) => s.spanId))
        const user = yield* signup("traced-rpc")
        const rpc = yield* rpcClient(user.token)
        const task = yield* rpc.CreateTask({ title: "over rpc", priority: "urgent_important" })
        expect(task.title).toBe("over rpc")

        const { server, procedure, spans } = yield* awaitExport(() => {
          const spans = spansOf(receiver).filter((s) => !before.has(s.spanId))
          const server = spans.find((s) => s.kind === SERVER && s.name === "POST /rpc")
          const procedure = spans.find((s) => s.name === "Rpc.CreateTask" && s.traceId === server?.traceId)
          const sql = procedure && spans.find((s) => isSqlStatement(s) && ancestorsOf(s, spans).includes(procedure))
          return server && procedure && sql ? { server, procedure, spans } : undefined
        }, "the spans of an RPC call")
        expect(attributeOf(server, "http.route")).toBe("/rpc")
        // Under the request's span, or (when the client sent its own span) linked to it.
        const underServer = ancestorsOf(procedure, spans).includes(server)
        const linked = (procedure.links ?? []).some((l) => l.spanId === server.spanId && l.traceId === server.traceId)
        expect(underServer || linked).toBe(true)
      })
  )
})
