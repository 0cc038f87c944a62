/**
 * What every response gets at the edge: body limit, request ids, security headers, CORS, JSON
 * 404s; and the self-description endpoints (OpenAPI, offline docs, liveness).
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { get, post, request, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"

const ALLOWED = "https://app.example.com"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

it.layer(TestService({ env: { MAX_BODY_BYTES: "2048", CORS_ORIGINS: ALLOWED } }))("the HTTP edge", (it) => {
  it.effect("a body over MAX_BODY_BYTES answers 413 and writes nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const user = yield* signup("big")
      const big = { title: "Too big", priority: "urgent_important", description: "x".repeat(3000) }
      const reply = yield* post("/api/tasks", { token: user.token, json: big })
      expect(reply.status).toBe(413)
      expect(typeof reply.body.detail).toBe("string")
      expect(typeof reply.body.error_code).toBe("string")

      const email = `big-signup-${Date.now()}@example.com`
      const bigSignup = yield* post("/api/v1/auth/signup", {
        json: { email, password: "a fine long passphrase", name: "n".repeat(3000) }
      })
      expect(bigSignup.status).toBe(413)

      const list = yield* get("/api/tasks", { token: user.token })
      expect(list.body.data.total_count).toBe(0)
      const users = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM "user" WHERE email = ${email}`
      expect(users[0]!.n).toBe(0)

      // Just under the limit is fine.
      const fits = yield* post("/api/tasks", {
        token: user.token,
        json: { ...big, description: "x".repeat(1500) }
      })
      expect(fits.status).toBe(201)
    }))

  // A chunked body past the limit: test/ops/hostile-input.test.ts (answered 413 like this one).

  it.effect("X-Request-Id is echoed when sane and generated otherwise", () =>
    Effect.gen(function*() {
      const echoed = yield* get("/health", { headers: { "x-request-id": "abc-123" } })
      expect(echoed.headers.get("x-request-id")).toBe("abc-123")
      const none = yield* get("/health")
      expect(none.headers.get("x-request-id")).toMatch(UUID)
      const spaced = yield* get("/health", { headers: { "x-request-id": "has some spaces" } })
      expect(spaced.headers.get("x-request-id")).toMatch(UUID)
      const long = yield* get("/health", { headers: { "x-request-id": "a".repeat(500) } })
      expect(long.headers.get("x-request-id")).toMatch(UUID)
      const unknown = yield* get("/no/such/path", { headers: { "x-request-id": "abc-123" } })
      expect(unknown.headers.get("x-request-id")).toBe("abc-123")
      expect(none.headers.get("x-request-id")).not.toBe((yield* get("/health")).headers.get("x-request-id"))
    }))

  it.effect("security headers on 200, 401, 404 and 422 responses", () =>
    Effect.gen(function*() {
      const user = yield* signup("headers")
      const replies = {
        200: yield* get("/api/tasks", { token: user.token }),
        401: yield* get("/api/tasks"),
        404: yield* get("/api/tasks/00000000-0000-4000-8000-000000000000", { token: user.token }),
        422: yield* post("/api/tasks", { token: user.token, raw: "{not json" })
      }
      for (const [status, reply] of Object.entries(replies)) {
        expect(reply.status).toBe(Number(status))
        expect(reply.headers.get("x-content-type-options")).toBe("nosniff")
        expect(reply.headers.get("referrer-policy")).toBe("no-referrer")
        expect(reply.headers.get("cache-control")).toBe("no-store")
        expect(reply.headers.get("x-request-id")).toBeTruthy()
      }
    }))

  it.effect("an unknown path answers a JSON 404", () =>
    Effect.gen(function*() {
      const reply = yield* get("/no/such/path")
      expect(reply.status).toBe(404)
      expect(reply.headers.get("content-type")).toContain("application/json")
      expect(reply.body).toMatchObject({ detail: "Not Found" })
      const post404 = yield* post("/api/nothing-here", { json: {} })
      expect(post404.status).toBe(404)
      expect(post404.body).toMatchObject({ detail: "Not Found" })
    }))

  it.effect("CORS: the allowed origin is reflected, also on a 401 error response", () =>
    Effect.gen(function*() {
      const ok = yield* get("/health", { headers: { origin: ALLOWED } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED)
      const unauthorized = yield* get("/api/tasks", { headers: { origin: ALLOWED } })
      expect(unauthorized.status).toBe(401)
      expect(unauthorized.headers.get("access-control-allow-origin")).toBe(ALLOWED)
    }))

  it.effect("CORS: a preflight from the allowed origin answers 204 with methods and headers", () =>
    Effect.gen(function*() {
      const reply = yield* request("OPTIONS", "/api/tasks/00000000-0000-4000-8000-000000000000", {
        headers: {
          origin: ALLOWED,
          "access-control-request-method": "PUT",
          "access-control-request-headers": "authorization, content-type"
        }
      })
      expect(reply.status).toBe(204)
      expect(reply.headers.get("access-control-allow-origin")).toBe(ALLOWED)
      const methods = (reply.headers.get("access-control-allow-methods") ?? "").toUpperCase().split(/\s*,\s*/)
      expect(methods).toContain("PUT")
      const headers = (reply.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/)
      expect(headers).toContain("authorization")
    }))

  it.effect("CORS: a foreign origin gets no Access-Control-Allow-Origin (request, error, preflight)", () =>
    Effect.gen(function*() {
      const origin = "https://evil.example.com"
      const replies = [
        yield* get("/health", { headers: { origin } }),
        yield* get("/api/tasks", { headers: { origin } }),
        yield* request("OPTIONS", "/api/tasks", { headers: { origin, "access-control-request-method": "PUT" } })
      ]
      expect(replies.map((r) => r.headers.get("access-control-allow-origin"))).toEqual([null, null, null])
    }))

  it.effect("GET /openapi.json is OpenAPI 3.1 with every REST path and its errors", () =>
    Effect.gen(function*() {
      const reply = yield* get("/openapi.json")
      expect(reply.status).toBe(200)
      expect(String(reply.body.openapi).startsWith("3.1")).toBe(true)
      const paths = reply.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>
      expect(Object.keys(paths)).toEqual(expect.arrayContaining([
        "/api/tasks",
        "/api/tasks/{task_id}",
        "/api/tasks/{task_id}/complete",
        "/api/v1/auth/signup",
        "/api/v1/auth/signin",
        "/api/v1/auth/me",
        "/api/v1/auth/session",
        "/api/v1/auth/token-info",
        "/api/v1/auth/verify",
        "/api/v1/auth/accounts",
        "/health",
        "/health/live",
        "/health/ready"
      ]))
      expect(Object.keys(paths["/api/tasks"]!)).toEqual(expect.arrayContaining(["get", "post"]))
      expect(Object.keys(paths["/api/tasks/{task_id}"]!)).toEqual(expect.arrayContaining(["get", "put", "delete"]))
      expect(Object.keys(paths["/api/tasks/{task_id}/complete"]!)).toContain("patch")
      expect(Object.keys(paths["/api/tasks"]!.get!.responses)).toEqual(expect.arrayContaining(["200", "401", "422"]))
      expect(Object.keys(paths["/api/tasks"]!.post!.responses)).toEqual(expect.arrayContaining(["201", "401", "422"]))
      expect(Object.keys(paths["/api/tasks/{task_id}"]!.get!.responses)).toEqual(
        expect.arrayContaining(["200", "401", "404", "422"])
      )
      expect(Object.keys(paths["/api/v1/auth/me"]!.get!.responses)).toContain("401")
      expect(Object.keys(paths["/api/v1/auth/signin"]!.post!.responses)).toEqual(
        expect.arrayContaining(["200", "401", "403", "422"])
      )
    }))

  it.effect("GET /docs renders with no internet: no script from an http(s) URL", () =>
    Effect.gen(function*() {
      const reply = yield* get("/docs")
      expect(reply.status).toBe(200)
      expect(reply.headers.get("content-type")).toContain("text/html")
      const scripts = reply.text.match(/<script\b[^>]*>/gi) ?? []
      expect(scripts.length).toBeGreaterThan(0)
      for (const tag of scripts) expect(tag).not.toMatch(/\bsrc\s*=\s*["']?\s*(https?:)?\/\//i)
      const links = reply.text.match(/<link\b[^>]*>/gi) ?? []
      for (const tag of links) expect(tag).not.toMatch(/\bhref\s*=\s*["']?\s*(https?:)?\/\//i)
    }))

  it.effect("GET /health/live answers application/health+json pass", () =>
    Effect.gen(function*() {
      const reply = yield* get("/health/live")
      expect(reply.status).toBe(200)
      expect(reply.headers.get("content-type")).toContain("application/health+json")
      expect(reply.body).toMatchObject({ status: "pass" })
    }))
})
