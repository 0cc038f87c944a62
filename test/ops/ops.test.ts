import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { get, post } from "../support/http.js"
import { TestService } from "../support/TestService.js"

it.layer(TestService())("operations endpoints", (it) => {
  it.effect("GET /health answers the old shape", () =>
    Effect.gen(function*() {
      const reply = yield* get("/health")
      expect(reply.status).toBe(200)
      expect(reply.body).toEqual({ status: "healthy" })
    }))

  it.effect("GET /health/ready reports the database and migrations", () =>
    Effect.gen(function*() {
      const reply = yield* get("/health/ready")
      expect(reply.status).toBe(200)
      expect(reply.headers.get("content-type")).toContain("application/health+json")
      expect(reply.body.status).toBe("pass")
      expect(reply.body.checks["database:responseTime"][0]).toMatchObject({ status: "pass", observedUnit: "ms" })
      expect(reply.body.checks["migrations:current"][0]).toMatchObject({ status: "pass" })
    }))

  it.effect("signup works end to end", () =>
    Effect.gen(function*() {
      const reply = yield* post("/api/v1/auth/signup", {
        json: { email: "Someone@Example.com ", password: "a fine long passphrase" }
      })
      expect(reply.status).toBe(200)
      expect(reply.body.data.token_type).toBe("Bearer")
    }))
})
