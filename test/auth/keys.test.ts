/**
 * Signing keys (security.md, "Access tokens"): EdDSA / ES256 / RS256 with a configured private
 * key whose public half is served at /.well-known/jwks.json and is enough, with jose alone, to
 * verify the service's tokens; HS/RS key confusion refused; HS256 rotation through
 * JWT_PREVIOUS_SECRETS; tokens of the old backend only while LEGACY_TOKENS_UNTIL is ahead; and the
 * configuration diagnostics for all of it.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  jwtVerify,
  SignJWT
} from "jose"
import { generateKeyPairSync, randomUUID } from "node:crypto"
import { describe } from "vitest"
import { mintRefreshToken } from "../../src/infra/auth/RefreshTokens.js"
import { keyIdOf, refreshKeyOf } from "../../src/infra/auth/Tokens.js"
import { type ConfigProblem, loadConfig, readEnvironment } from "../../src/infra/platform/Config.js"
import { get, post, signup } from "../support/http.js"
import { TEST_JWT_SECRET } from "../support/TestService.js"
import { expectAccepted, LEGACY_UNTIL, legacyToken, ME, serviceWith, victim } from "./sessions-helpers.js"

const JWKS = "/.well-known/jwks.json"
const PREVIOUS_SECRET = "a-previous-signing-secret-of-more-than-32-bytes"
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]

type Asymmetric = "EdDSA" | "ES256" | "RS256"

/** A fresh key pair: the private key as PKCS#8 PEM and as a JWK, the public one as a JWK. */
const keyPair = async (alg: Asymmetric) => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return {
    alg,
    pem: await exportPKCS8(privateKey),
    privateJwk: await exportJWK(privateKey),
    publicJwk: await exportJWK(publicKey),
    spki: await exportSPKI(publicKey),
    privateKey
  }
}
type KeyPair = Awaited<ReturnType<typeof keyPair>>

const PAIRS = {
  EdDSA: await keyPair("EdDSA"),
  ES256: await keyPair("ES256"),
  RS256: await keyPair("RS256")
}

/** How each algorithm's key is handed over: PEM for two, a JWK for one, so both forms are covered. */
const privateKeyVariable = (pair: KeyPair) => pair.alg === "ES256" ? JSON.stringify(pair.privateJwk) : pair.pem

/** Signs `payload` with `key` and exactly `header`. */
const sign = (
  payload: JWTPayload,
  header: { alg: string } & Record<string, unknown>,
  key: Parameters<SignJWT["sign"]>[0]
) => Effect.promise(() => new SignJWT(payload).setProtectedHeader(header).sign(key))

const secretKey = (secret: string) => new TextEncoder().encode(secret)

/** Refused on /me. Unlike the shared expectRefused (sessions-helpers), WWW-Authenticate is not checked here. */
const expectRefused = (token: string) =>
  Effect.gen(function*() {
    const reply = yield* get(ME, { token })
    expect(reply.status).toBe(401)
    expect(reply.body).toMatchObject({ detail: "Could not validate credentials" })
  })

for (const pair of Object.values(PAIRS)) {
  it.layer(serviceWith({ JWT_ALGORITHM: pair.alg, JWT_PRIVATE_KEY: privateKeyVariable(pair) }))(
    `${pair.alg} signing key`,
    (it) => {
      it.effect("signup and signin answer tokens of that algorithm with a kid, accepted on /me", () =>
        Effect.gen(function*() {
          const user = yield* signup("keys")
          const kid = yield* Effect.promise(() => calculateJwkThumbprint(pair.publicJwk))
          expect(decodeProtectedHeader(user.token)).toEqual({ alg: pair.alg, kid, typ: "at+jwt" })
          yield* expectAccepted(user.token, user.userId)

          const signin = yield* post("/api/v1/auth/signin", { json: { email: user.email, password: user.password } })
          expect(signin.status, signin.text).toBe(200)
          expect(decodeProtectedHeader(signin.body.data.token)).toEqual({ alg: pair.alg, kid, typ: "at+jwt" })
          yield* expectAccepted(signin.body.data.token, user.userId)
        }))

      it.effect("the JWKS serves exactly the public key, and jose alone verifies the token against it", () =>
        Effect.gen(function*() {
          const user = yield* signup("keys")
          const reply = yield* get(JWKS)
          expect(reply.status).toBe(200)
          const kid = yield* Effect.promise(() => calculateJwkThumbprint(pair.publicJwk))
          expect(reply.body).toEqual({ keys: [{ ...pair.publicJwk, kid, alg: pair.alg, use: "sig" }] })
          for (const member of PRIVATE_MEMBERS) expect(reply.body.keys[0]).not.toHaveProperty(member)

          const jwks = createLocalJWKSet(reply.body)
          const { payload, protectedHeader } = yield* Effect.promise(() =>
            jwtVerify(user.token, jwks, { issuer: "tasks-api", audience: "tasks-api" })
          )
          expect(protectedHeader.alg).toBe(pair.alg)
          expect(payload).toMatchObject({ sub: user.userId, user_id: user.userId })
        }))

      it.effect("a token signed with another key of the same algorithm under the real kid is refused", () =>
        Effect.gen(function*() {
          const { fresh, token, userId } = yield* victim("keys")
          const kid = decodeProtectedHeader(token).kid
          const other = yield* Effect.promise(() => keyPair(pair.alg))
          // control: the same claims signed with the configured key are accepted
          yield* expectAccepted(yield* sign(fresh, { alg: pair.alg, kid, typ: "at+jwt" }, pair.privateKey), userId)
          yield* expectRefused(yield* sign(fresh, { alg: pair.alg, kid, typ: "at+jwt" }, other.privateKey))
        }))
    }
  )
}

it.layer(serviceWith({ JWT_ALGORITHM: "rs256", JWT_PRIVATE_KEY: PAIRS.RS256.pem }))("RS256: only RS256", (it) => {
  it.effect("the algorithm is accepted in any case and tokens say RS256", () =>
    Effect.gen(function*() {
      const { token, userId } = yield* victim("keys")
      expect(decodeProtectedHeader(token).alg).toBe("RS256")
      yield* expectAccepted(token, userId)
    }))

  it.effect("HS256 keyed with the RSA public key (PEM, or its n) — key confusion — is refused", () =>
    Effect.gen(function*() {
      const { fresh, token, userId } = yield* victim("keys")
      const kid = decodeProtectedHeader(token).kid
      yield* expectAccepted(yield* sign(fresh, { alg: "RS256", kid, typ: "at+jwt" }, PAIRS.RS256.privateKey), userId)
      yield* expectRefused(yield* sign(fresh, { alg: "HS256", kid, typ: "at+jwt" }, secretKey(PAIRS.RS256.spki)))
      yield* expectRefused(
        yield* sign(fresh, { alg: "HS256", kid, typ: "at+jwt" }, secretKey(PAIRS.RS256.publicJwk.n!))
      )
    }))

  it.effect("HS256 signed with JWT_SECRET (still configured) is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("keys")
      yield* expectRefused(
        yield* sign(fresh, { alg: "HS256", kid: keyIdOf(TEST_JWT_SECRET), typ: "at+jwt" }, secretKey(TEST_JWT_SECRET))
      )
    }))

  it.effect("the attacker's own key embedded as jwk, under its own kid, is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("keys")
      const attacker = yield* Effect.promise(() => keyPair("RS256"))
      const kid = yield* Effect.promise(() => calculateJwkThumbprint(attacker.publicJwk))
      const header = { alg: "RS256", kid, typ: "at+jwt", jwk: attacker.publicJwk }
      yield* expectRefused(yield* sign(fresh, header, attacker.privateKey))
    }))
})

// An empty value unsets the suite's default JWT_SECRET: refresh-token keys then come from the private key.
it.layer(serviceWith({ JWT_SECRET: "", JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: PAIRS.ES256.pem }))(
  "ES256 without JWT_SECRET",
  (it) => {
    it.effect("signup, refresh and /me work", () =>
      Effect.gen(function*() {
        const user = yield* signup("keys")
        const reply = yield* post("/api/v1/auth/refresh", { json: { refresh_token: user.refreshToken } })
        expect(reply.status, reply.text).toBe(200)
        expect(decodeProtectedHeader(reply.body.data.token).alg).toBe("ES256")
        yield* expectAccepted(reply.body.data.token, user.userId)
      }))
  }
)

// The legacy window needs JWT_SECRET (the old backend's) beside the private key: whoever holds that
// secret must not be able to mint refresh tokens.
it.layer(serviceWith({ JWT_ALGORITHM: "EdDSA", JWT_PRIVATE_KEY: PAIRS.EdDSA.pem, LEGACY_TOKENS_UNTIL: LEGACY_UNTIL }))(
  "EdDSA with JWT_SECRET also set",
  (it) => {
    it.effect("a refresh token keyed by JWT_SECRET is refused; the service's own refresh works", () =>
      Effect.gen(function*() {
        const user = yield* signup("keys")
        const sid = decodeJwt(user.token).sid
        expect(typeof sid).toBe("string")
        const forged = mintRefreshToken(refreshKeyOf(TEST_JWT_SECRET), { sessionId: String(sid), counter: 0 })
        const refused = yield* post("/api/v1/auth/refresh", { json: { refresh_token: forged } })
        expect(refused.status, refused.text).toBe(401)
        expect(refused.body.error_code).toBe("invalid_refresh_token")
        const reply = yield* post("/api/v1/auth/refresh", { json: { refresh_token: user.refreshToken } })
        expect(reply.status, reply.text).toBe(200)
        expect(decodeProtectedHeader(reply.body.data.token).alg).toBe("EdDSA")
        yield* expectAccepted(reply.body.data.token, user.userId)
      }))
  }
)

// ------------------------------------------------------------------ HS256 rotation

/** The user's claims re-signed with the previous secret, under its kid. */
const signedWithPrevious = (fresh: JWTPayload) =>
  sign(fresh, { alg: "HS256", kid: keyIdOf(PREVIOUS_SECRET), typ: "at+jwt" }, secretKey(PREVIOUS_SECRET))

it.layer(serviceWith({ JWT_PREVIOUS_SECRETS: PREVIOUS_SECRET }))("HS256 with a previous secret", (it) => {
  it.effect("a token signed with the previous secret is accepted; new ones use the current secret", () =>
    Effect.gen(function*() {
      const { fresh, token, userId } = yield* victim("keys")
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", kid: keyIdOf(TEST_JWT_SECRET), typ: "at+jwt" })
      yield* expectAccepted(yield* signedWithPrevious(fresh), userId)
    }))

  it.effect("the previous secret under the current kid is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("keys")
      const header = { alg: "HS256", kid: keyIdOf(TEST_JWT_SECRET), typ: "at+jwt" }
      yield* expectRefused(yield* sign(fresh, header, secretKey(PREVIOUS_SECRET)))
    }))

  it.effect("the JWKS is empty with HS256", () =>
    Effect.gen(function*() {
      const reply = yield* get(JWKS)
      expect(reply.status).toBe(200)
      expect(reply.body).toEqual({ keys: [] })
    }))
})

it.layer(serviceWith({}))("HS256 without that previous secret", (it) => {
  it.effect("a token signed with the previous secret is refused", () =>
    Effect.gen(function*() {
      const { fresh, userId } = yield* victim("keys")
      const current = { alg: "HS256", kid: keyIdOf(TEST_JWT_SECRET), typ: "at+jwt" }
      yield* expectAccepted(yield* sign(fresh, current, secretKey(TEST_JWT_SECRET)), userId)
      yield* expectRefused(yield* signedWithPrevious(fresh))
    }))
})

// ------------------------------------------------------------------ legacy tokens

it.layer(serviceWith({ LEGACY_TOKENS_UNTIL: LEGACY_UNTIL }))(
  "legacy tokens while LEGACY_TOKENS_UNTIL is ahead",
  (it) => {
    it.effect("an old-style token of a real user is accepted on /me (also with typ JWT, as PyJWT writes it)", () =>
      Effect.gen(function*() {
        const { userId } = yield* signup("legacy")
        const token = yield* legacyToken(userId)
        expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256" })
        yield* expectAccepted(token, userId)
        yield* expectAccepted(yield* legacyToken(userId, { typ: "JWT" }), userId)
      }))

    it.effect("an old-style token with only user_id (no sub) is accepted", () =>
      Effect.gen(function*() {
        const { userId } = yield* signup("legacy")
        yield* expectAccepted(yield* legacyToken(userId, { extra: { sub: undefined } }), userId)
      }))

    it.effect("an expired one, one with a wrong secret, and one naming an unknown user are refused", () =>
      Effect.gen(function*() {
        const { userId } = yield* signup("legacy")
        yield* expectRefused(yield* legacyToken(userId, { lifetimeSeconds: -60 }))
        yield* expectRefused(yield* legacyToken(userId, { secret: "an-attacker-secret-of-more-than-32-bytes!!" }))
        yield* expectRefused(yield* legacyToken(randomUUID().replaceAll("-", "")))
      }))

    it.effect("sub and user_id that disagree, and alg none, are refused", () =>
      Effect.gen(function*() {
        const victimUser = yield* signup("legacy")
        const other = yield* signup("legacy")
        yield* expectRefused(yield* legacyToken(other.userId, { extra: { sub: victimUser.userId } }))
        const token = yield* legacyToken(victimUser.userId)
        const [, payload] = token.split(".")
        yield* expectRefused(`${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`)
      }))

    it.effect("a token with our claims (sid, iss, aud) but no typ does not pass as a sessionless legacy one", () =>
      Effect.gen(function*() {
        const { fresh, userId } = yield* victim("keys")
        const header = { alg: "HS256", kid: keyIdOf(TEST_JWT_SECRET) }
        // the same claims with typ at+jwt are accepted: only the missing typ is refused
        yield* expectAccepted(yield* sign(fresh, { ...header, typ: "at+jwt" }, secretKey(TEST_JWT_SECRET)), userId)
        yield* expectRefused(yield* sign(fresh, header, secretKey(TEST_JWT_SECRET)))
        yield* expectRefused(yield* legacyToken(userId, { extra: { aud: "tasks-api" } }))
      }))
  }
)

it.layer(serviceWith({}))("legacy tokens without LEGACY_TOKENS_UNTIL", (it) => {
  it.effect("an old-style token of a real user is refused", () =>
    Effect.gen(function*() {
      const { token, userId } = yield* signup("legacy")
      yield* expectAccepted(token, userId)
      yield* expectRefused(yield* legacyToken(userId))
    }))
})

// TestClock is shared by every test of an it.layer block: moving it gets a service of its own.
it.layer(serviceWith({ LEGACY_TOKENS_UNTIL: LEGACY_UNTIL }))("legacy tokens once LEGACY_TOKENS_UNTIL is past", (it) => {
  it.effect("an old-style token accepted before the instant is refused after it (TestClock)", () =>
    Effect.gen(function*() {
      const { userId } = yield* signup("legacy")
      const token = yield* legacyToken(userId, { lifetimeSeconds: 3 * 60 * 60 })
      yield* expectAccepted(token, userId)
      yield* TestClock.adjust("61 minutes")
      yield* expectRefused(token)
    }))
})

// ------------------------------------------------------------------ configuration

describe("signing configuration", () => {
  const load = (variables: Record<string, string>) => loadConfig(readEnvironment(variables, "/nonexistent"))
  const problemsOf = (variables: Record<string, string>) =>
    Effect.map(Effect.flip(load(variables)), (error) => error.problems)
  const variablesOf = (problems: ReadonlyArray<ConfigProblem>) => problems.map((p) => p.variable).sort()
  const base = { APP_ENV: "test", JWT_SECRET: TEST_JWT_SECRET }
  const problemOf = (problems: ReadonlyArray<ConfigProblem>, variable: string) =>
    problems.find((p) => p.variable === variable)?.problem ?? ""

  it.effect("RS256 without JWT_PRIVATE_KEY is reported with the other problems", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({
        ...base,
        JWT_ALGORITHM: "RS256",
        PORT: "abc",
        LEGACY_TOKENS_UNTIL: "next tuesday"
      })
      expect(variablesOf(problems)).toEqual(["JWT_PRIVATE_KEY", "LEGACY_TOKENS_UNTIL", "PORT"])
      expect(problemOf(problems, "JWT_PRIVATE_KEY")).toContain("required")
    }))

  it.effect("a P-256 key for RS256, and a bad LEGACY_TOKENS_UNTIL, are reported together, never echoing the key", () =>
    Effect.gen(function*() {
      for (const key of [PAIRS.ES256.pem, JSON.stringify(PAIRS.ES256.privateJwk)]) {
        const error = yield* Effect.flip(load({
          ...base,
          JWT_ALGORITHM: "RS256",
          JWT_PRIVATE_KEY: key,
          LEGACY_TOKENS_UNTIL: "2026-13-45T99:00:00Z",
          BCRYPT_COST: "9"
        }))
        expect(variablesOf(error.problems)).toEqual(["BCRYPT_COST", "JWT_PRIVATE_KEY", "LEGACY_TOKENS_UNTIL"])
        expect(problemOf(error.problems, "JWT_PRIVATE_KEY")).toContain("RSA")
        expect(error.problems.find((p) => p.variable === "JWT_PRIVATE_KEY")).not.toHaveProperty("received")
        const diagnostic = error.diagnostic
        for (const secret of [key, PAIRS.ES256.privateJwk.d!, TEST_JWT_SECRET, "PRIVATE KEY"]) {
          expect(diagnostic).not.toContain(secret)
        }
      }
    }))

  it.effect("keys that do not fit their algorithm, or are not keys, are refused", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["ES256", PAIRS.RS256.pem, "P-256"],
        ["EdDSA", PAIRS.ES256.pem, "Ed25519"],
        ["RS256", JSON.stringify(PAIRS.RS256.publicJwk), "private"],
        ["EdDSA", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", "PKCS#8"]
      ]
      for (const [algorithm, key, hint] of cases) {
        const problems = yield* problemsOf({ ...base, JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: key })
        expect(variablesOf(problems)).toEqual(["JWT_PRIVATE_KEY"])
        expect(problemOf(problems, "JWT_PRIVATE_KEY")).toContain(hint)
        expect(JSON.stringify(problems)).not.toContain(key)
      }
      // jose will not even make a 1024-bit key: node does
      const weakPem = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
        type: "pkcs8",
        format: "pem"
      })
        .toString()
      const problems = yield* problemsOf({ ...base, JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY: weakPem })
      expect(problemOf(problems, "JWT_PRIVATE_KEY")).toContain("2048")
    }))

  it.effect("an unknown algorithm, and a private key with HS256, are refused", () =>
    Effect.gen(function*() {
      expect(variablesOf(yield* problemsOf({ ...base, JWT_ALGORITHM: "none" }))).toEqual(["JWT_ALGORITHM"])
      expect(variablesOf(yield* problemsOf({ ...base, JWT_PRIVATE_KEY: PAIRS.EdDSA.pem }))).toEqual(["JWT_PRIVATE_KEY"])
    }))

  it.effect("valid keys load in any case of the algorithm; LEGACY_TOKENS_UNTIL parses to its instant", () =>
    Effect.gen(function*() {
      for (const pair of Object.values(PAIRS)) {
        for (const key of [pair.pem, JSON.stringify(pair.privateJwk), pair.pem.trim().replaceAll("\n", "\\n")]) {
          const config = yield* load({ ...base, JWT_ALGORITHM: pair.alg.toLowerCase(), JWT_PRIVATE_KEY: key })
          expect(config.jwtAlgorithm).toBe(pair.alg)
          expect(Option.isSome(config.jwtPrivateKey)).toBe(true)
        }
      }
      const config = yield* load({ ...base, LEGACY_TOKENS_UNTIL: "2030-01-02T03:04:05+01:00" })
      expect(Option.getOrThrow(config.legacyTokensUntil).toISOString()).toBe("2030-01-02T02:04:05.000Z")
      const defaults = yield* load(base)
      expect(Option.isNone(defaults.legacyTokensUntil)).toBe(true)
      expect(defaults.jwtAlgorithm).toBe("HS256")
      expect(Option.isNone(defaults.jwtPrivateKey)).toBe(true)
    }))

  it.effect("production with an asymmetric key needs no JWT_SECRET; its stand-in is bound to the key", () =>
    Effect.gen(function*() {
      const production = { APP_ENV: "production", DATABASE_URL: "postgres://app:pw@db.example.com/tasks" }
      const secretWith = (pem: string) =>
        Effect.map(
          load({ ...production, JWT_ALGORITHM: "EdDSA", JWT_PRIVATE_KEY: pem }),
          (c) => Redacted.value(c.jwtSecret)
        )
      const otherKey = yield* Effect.promise(() => keyPair("EdDSA"))
      // stable for one key (refresh tokens survive a restart), different for another key
      expect(yield* secretWith(PAIRS.EdDSA.pem)).toBe(yield* secretWith(PAIRS.EdDSA.pem))
      expect(yield* secretWith(PAIRS.EdDSA.pem)).not.toBe(yield* secretWith(otherKey.pem))
      expect(variablesOf(yield* problemsOf({ ...production, JWT_ALGORITHM: "EdDSA" }))).toEqual(
        ["JWT_PRIVATE_KEY", "JWT_SECRET"]
      )
      expect(variablesOf(yield* problemsOf(production))).toEqual(["JWT_SECRET"])
    }))

  it.effect("LEGACY_TOKENS_UNTIL without JWT_SECRET is refused (legacy tokens need the old shared secret)", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({
        APP_ENV: "test",
        JWT_ALGORITHM: "ES256",
        JWT_PRIVATE_KEY: PAIRS.ES256.pem,
        LEGACY_TOKENS_UNTIL: LEGACY_UNTIL
      })
      expect(variablesOf(problems)).toEqual(["LEGACY_TOKENS_UNTIL"])
    }))
})
