/**
 * Rate limits with the default rules of security.md, on the memory store, over real HTTP. The
 * service trusts one proxy hop here, so each test speaks from its own client address through
 * `X-Forwarded-For` and the per-IP counters of one test do not leak into another.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { clientAddress } from "../../src/http/edge/ClientInfo.js"
import { get, post, type Reply, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"

const from = (ip: string) => ({ "x-forwarded-for": ip })

const signinFrom = (ip: string, email: string, password = "not the password") =>
  post("/api/v1/auth/signin", { json: { email, password }, headers: from(ip) })

const expectLimited = (reply: Reply, limit: number) => {
  expect(reply.status).toBe(429)
  expect(reply.body).toEqual({ detail: "Too many requests", error_code: "rate_limited" })
  expect(Number(reply.headers.get("retry-after"))).toBeGreaterThan(0)
  expect(reply.headers.get("ratelimit-limit")).toBe(String(limit))
  expect(reply.headers.get("ratelimit-remaining")).toBe("0")
  expect(Number(reply.headers.get("ratelimit-reset"))).toBeGreaterThan(0)
}

const expectCounted = (reply: Reply, limit: number, remaining: number) => {
  expect(reply.headers.get("ratelimit-limit")).toBe(String(limit))
  expect(reply.headers.get("ratelimit-remaining")).toBe(String(remaining))
}

const limited = { env: { RATE_LIMIT_ENABLED: "true", TRUST_PROXY: "1" } }

it.layer(TestService(limited))("signin per IP (10 per minute)", (it) => {
  it.effect("the 11th attempt from one IP is refused, other IPs are not, and the window resets", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) {
        const reply = yield* signinFrom("10.1.0.1", `nobody-${i}@example.com`)
        expect(reply.status).toBe(401)
        // The headers describe the tightest rule: the fresh account's (5 failures, one reserved by
        // this attempt) until the IP rule (10 per minute) has fewer left.
        const ipRemaining = 9 - i
        if (ipRemaining < 4) expectCounted(reply, 10, ipRemaining)
        else expectCounted(reply, 5, 4)
      }
      expectLimited(yield* signinFrom("10.1.0.1", "nobody-10@example.com"), 10)
      expect((yield* signinFrom("10.1.0.2", "nobody@example.com")).status).toBe(401)
      yield* TestClock.adjust("61 seconds")
      expect((yield* signinFrom("10.1.0.1", "nobody-11@example.com")).status).toBe(401)
    }))
})

it.layer(TestService(limited))("signin failures per account (5 per 15 minutes)", (it) => {
  it.effect("holds across many IPs, refuses even the right password, and resets after the window", () =>
    Effect.gen(function*() {
      const user = yield* signup("locked")
      for (let i = 1; i <= 5; i++) {
        const reply = yield* signinFrom(`10.2.0.${i}`, user.email)
        expect(reply.status).toBe(401)
      }
      // A differently cased email is the same account.
      expectLimited(yield* signinFrom("10.2.0.6", user.email.toUpperCase(), user.password), 5)
      yield* TestClock.adjust("16 minutes")
      expect((yield* signinFrom("10.2.0.7", user.email, user.password)).status).toBe(200)
    }))

  it.effect("successful signins do not count as failures", () =>
    Effect.gen(function*() {
      const user = yield* signup("fine")
      for (let i = 1; i <= 7; i++) {
        expect((yield* signinFrom(`10.2.1.${i}`, user.email, user.password)).status).toBe(200)
      }
    }))
})

it.layer(TestService({ env: { RATE_LIMIT_ENABLED: "true", TRUST_PROXY: "false" } }))("an untrusted peer", (it) => {
  it.effect("cannot spread its attempts over spoofed X-Forwarded-For addresses", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) {
        expect((yield* signinFrom(`203.0.113.${i}`, `spoof-${i}@example.com`)).status).toBe(401)
      }
      expectLimited(yield* signinFrom("198.51.100.1", "spoof-x@example.com"), 10)
    }))
})

it.layer(TestService(limited))("signup per IP (5 per hour)", (it) => {
  it.effect("the 6th signup from one IP is refused and creates nothing", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 5; i++) {
        const reply = yield* post("/api/v1/auth/signup", {
          json: { email: `many-${i}@example.com`, password: "a fine long passphrase" },
          headers: from("10.3.0.1")
        })
        expect(reply.status).toBe(200)
        expectCounted(reply, 5, 4 - i)
      }
      const refused = yield* post("/api/v1/auth/signup", {
        json: { email: "many-5@example.com", password: "a fine long passphrase" },
        headers: from("10.3.0.1")
      })
      expectLimited(refused, 5)
      const retry = yield* signinFrom("10.3.0.2", "many-5@example.com", "a fine long passphrase")
      expect(retry.status).toBe(401)
    }))
})

const refreshFrom = (ip: string, refreshToken: string) =>
  post("/api/v1/auth/refresh", { json: { refresh_token: refreshToken }, headers: from(ip) })

const signinPair = (ip: string, email: string, password: string) =>
  Effect.map(signinFrom(ip, email, password), (reply) => reply.body.data as { refresh_token: string })

it.layer(TestService(limited))("refresh (30 per minute per session, 60 per minute per IP)", (it) => {
  it.effect("the 31st refresh of one session is refused", () =>
    Effect.gen(function*() {
      const user = yield* signup("refresher")
      let token = (yield* signinPair("10.4.0.1", user.email, user.password)).refresh_token
      for (let i = 0; i < 30; i++) {
        const reply = yield* refreshFrom("10.4.0.1", token)
        expect(reply.status).toBe(200)
        token = reply.body.data.refresh_token
      }
      expectLimited(yield* refreshFrom("10.4.0.1", token), 30)
    }))

  it.effect("the 61st refresh from one IP is refused, whatever the session", () =>
    Effect.gen(function*() {
      const user = yield* signup("many-sessions")
      const tokens = [
        (yield* signinPair("10.4.1.1", user.email, user.password)).refresh_token,
        (yield* signinPair("10.4.1.1", user.email, user.password)).refresh_token,
        (yield* signinPair("10.4.1.1", user.email, user.password)).refresh_token
      ]
      for (let i = 0; i < 60; i++) {
        const session = i < 30 ? 0 : 1
        const reply = yield* refreshFrom("10.4.1.1", tokens[session])
        expect(reply.status).toBe(200)
        tokens[session] = reply.body.data.refresh_token
      }
      expectLimited(yield* refreshFrom("10.4.1.1", tokens[2]), 60)
    }))
})

it.layer(TestService(limited))("change-password per user (5 per 15 minutes)", (it) => {
  it.effect("the 6th attempt is refused, even with the right current password", () =>
    Effect.gen(function*() {
      const user = yield* signup("changer")
      for (let i = 0; i < 5; i++) {
        const reply = yield* post("/api/v1/auth/change-password", {
          token: user.token,
          json: { current_password: "wrong guess", new_password: "another fine passphrase" }
        })
        expect(reply.status).toBe(401)
      }
      const refused = yield* post("/api/v1/auth/change-password", {
        token: user.token,
        json: { current_password: user.password, new_password: "another fine passphrase" }
      })
      expectLimited(refused, 5)
      expect((yield* signinFrom("10.5.0.1", user.email, user.password)).status).toBe(200)
    }))
})

it.layer(TestService(limited))("every authenticated call (600 per minute per user)", (it) => {
  it.effect("the 601st call of one user is refused, another user is not affected", () =>
    Effect.gen(function*() {
      const user = yield* signup("busy")
      const other = yield* signup("quiet")
      for (let i = 0; i < 600; i++) {
        const reply = yield* get("/api/tasks?limit=1", { token: user.token })
        if (reply.status !== 200) expect(reply.status).toBe(200)
      }
      expectLimited(yield* get("/api/tasks", { token: user.token }), 600)
      const fine = yield* get("/api/tasks", { token: other.token })
      expect(fine.status).toBe(200)
      expectCounted(fine, 600, 599)
      yield* TestClock.adjust("61 seconds")
      expect((yield* get("/api/tasks", { token: user.token })).status).toBe(200)
    }))
})

describe("client address", () => {
  it("is the socket peer unless a proxy is trusted", () => {
    expect(clientAddress({ _tag: "None" })("::ffff:127.0.0.1", "203.0.113.9")).toBe("127.0.0.1")
    expect(clientAddress({ _tag: "Hops", hops: 1 })("127.0.0.1", "203.0.113.9")).toBe("203.0.113.9")
    expect(clientAddress({ _tag: "Hops", hops: 1 })("127.0.0.1", "1.1.1.1, 203.0.113.9")).toBe("203.0.113.9")
    expect(clientAddress({ _tag: "Hops", hops: 2 })("127.0.0.1", "1.1.1.1, 203.0.113.9")).toBe("1.1.1.1")
    expect(clientAddress({ _tag: "Hops", hops: 5 })("127.0.0.1", "203.0.113.9")).toBe("203.0.113.9")
  })

  it("walks back only through trusted proxy addresses", () => {
    const trusted = clientAddress({ _tag: "Addresses", addresses: ["10.0.0.0/8", "192.168.1.1"] })
    expect(trusted("10.1.2.3", "198.51.100.7, 192.168.1.1")).toBe("198.51.100.7")
    // The peer is not a trusted proxy: its header is ignored.
    expect(trusted("203.0.113.5", "198.51.100.7")).toBe("203.0.113.5")
    // A spoofed entry left of an untrusted hop is never reached.
    expect(trusted("10.1.2.3", "6.6.6.6, 198.51.100.7")).toBe("198.51.100.7")
  })

  it("is unknown without a socket address, so no shared bucket is used", () => {
    expect(clientAddress({ _tag: "Hops", hops: 1 })(undefined, "203.0.113.9")).toBeNull()
  })
})
