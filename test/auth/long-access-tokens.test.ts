/**
 * ACCESS_TOKEN_TTL=24h, the migration setting for clients that cannot refresh yet (the old front
 * end; README, "Pointing it at the old backend"): its tokens last the old backend's 24 h, and the
 * setting goes no further. A long lifetime is no long-lived leak: a logout, a revocation or a ban
 * refuses such a token at once on the instance that did it, and within SESSION_CHECK_INTERVAL
 * when it happened elsewhere (a ban in SQL). Time is TestClock's.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { describe } from "vitest"
import { loadConfig, readEnvironment } from "../../src/infra/platform/Config.js"
import { post } from "../support/http.js"
import { TEST_JWT_SECRET } from "../support/TestService.js"
import { AUTH, expectAccepted, expectRefused, newUser, serviceWith, signinPair } from "./sessions-helpers.js"

describe("ACCESS_TOKEN_TTL", () => {
  const load = (ttl: string) =>
    loadConfig(readEnvironment({ APP_ENV: "test", JWT_SECRET: TEST_JWT_SECRET, ACCESS_TOKEN_TTL: ttl }, "/nonexistent"))

  it.effect("24h is accepted; more than 24h, and 0, are refused naming the variable", () =>
    Effect.gen(function*() {
      expect((yield* load("24h")).accessTokenTtl).toEqual((yield* load("1d")).accessTokenTtl)
      for (const ttl of ["25h", "2d", "0s", "0m"]) {
        const error = yield* Effect.flip(load(ttl))
        expect(error.problems.map((p) => p.variable), ttl).toEqual(["ACCESS_TOKEN_TTL"])
        expect(error.problems[0]!.problem).toContain("24h")
      }
    }))
})

it.layer(serviceWith({ ACCESS_TOKEN_TTL: "24h" }))("access tokens of 24 h", (it) => {
  /** A session whose access token has been in use for 23 h, without a refresh. */
  const dayOldSession = Effect.gen(function*() {
    const user = yield* newUser("long-ttl")
    const pair = yield* signinPair(user.email, user.password)
    expect(Date.parse(pair.expiresAt) - Date.now()).toBeGreaterThan(23 * 60 * 60_000)
    yield* TestClock.adjust("23 hours")
    yield* expectAccepted(pair.token, user.userId)
    return { ...user, session: pair }
  })

  it.effect("logout: refused at once", () =>
    Effect.gen(function*() {
      const { session } = yield* dayOldSession
      expect((yield* post(`${AUTH}/logout`, { token: session.token })).status).toBe(204)
      yield* expectRefused(session.token)
    }))

  it.effect("revocation of its refresh token: refused at once", () =>
    Effect.gen(function*() {
      const { session } = yield* dayOldSession
      const reply = yield* post(`${AUTH}/revoke`, { json: { token: session.refreshToken } })
      expect(reply.status, reply.text).toBe(200)
      yield* expectRefused(session.token)
    }))

  it.effect("a ban in SQL (not through this instance): refused within SESSION_CHECK_INTERVAL (5 s)", () =>
    Effect.gen(function*() {
      const { session, userId } = yield* dayOldSession
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE "user" SET banned = true WHERE id = ${userId}`
      yield* TestClock.adjust("5 seconds")
      yield* expectRefused(session.token)
    }))

  it.effect("unused, it is refused past its 24 h (and the 30 s skew)", () =>
    Effect.gen(function*() {
      const { session, userId } = yield* dayOldSession
      yield* TestClock.adjust("59 minutes")
      yield* expectAccepted(session.token, userId)
      yield* TestClock.adjust("2 minutes")
      yield* expectRefused(session.token)
    }))
})
