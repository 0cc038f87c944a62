/**
 * Access tokens: JWTs signed with a pinned algorithm (HS256) through `jose`. Verification accepts
 * only that algorithm, only known key ids, and checks `typ`, `iss`, `aud` and `exp` (30 s skew)
 * against Effect's `Clock`, so expiry is testable with `TestClock`.
 */
import { Clock, Context, Data, Duration, Effect, Layer, Redacted } from "effect"
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload, type ProtectedHeaderParameters } from "jose"
import { createHash, randomUUID } from "node:crypto"
import { AppConfig } from "./Config.js"

export const ACCESS_TOKEN_TYPE = "at+jwt"
const ALGORITHM = "HS256"
const CLOCK_SKEW_SECONDS = 30

export interface AccessClaims {
  readonly userId: string
  readonly email: string
  readonly role: string
  readonly sessionId: string
  readonly tokenId: string
  readonly issuedAt: Date
  readonly expiresAt: Date
}

export interface IssuedToken {
  readonly token: string
  readonly issuedAt: Date
  readonly expiresAt: Date
}

/** Why a token was refused: kept for logs and tests, never shown to the client. */
export class InvalidToken extends Data.TaggedError("InvalidToken")<{ readonly reason: string }> {}

export interface TokensShape {
  readonly issueAccessToken: (subject: {
    readonly userId: string
    readonly email: string
    readonly role: string
    readonly sessionId: string
  }) => Effect.Effect<IssuedToken>
  readonly verifyAccessToken: (token: string) => Effect.Effect<AccessClaims, InvalidToken>
}

export class Tokens extends Context.Tag("tasks-api/Tokens")<Tokens, TokensShape>() {}

/** A key id derived from the secret: tells keys apart without revealing anything about them. */
export const keyIdOf = (secret: string) =>
  createHash("sha256").update(`tasks-api:hs256:${secret}`).digest("base64url").slice(0, 16)

const stringClaim = (payload: JWTPayload, name: string) => {
  const value = payload[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

export const TokensLive = Layer.effect(
  Tokens,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const encoder = new TextEncoder()
    const current = Redacted.value(config.jwtSecret)
    const currentKid = keyIdOf(current)
    const signingKey = encoder.encode(current)
    // Verification keys by kid: the current secret and the previous ones (verify only).
    const verificationKeys = new Map<string, Uint8Array>([
      [currentKid, signingKey],
      ...config.jwtPreviousSecrets.map((s) => [keyIdOf(Redacted.value(s)), encoder.encode(Redacted.value(s))] as const)
    ])
    const ttlSeconds = Math.floor(Duration.toSeconds(config.accessTokenTtl))

    const keyFor = (header: ProtectedHeaderParameters) => {
      // A key embedded in or pointed at by the token is the attacker's key: never look at it.
      if ("jwk" in header || "jku" in header || "x5u" in header || "x5c" in header) {
        throw new joseErrors.JWSInvalid("embedded or remote keys are not accepted")
      }
      const key = header.kid === undefined ? undefined : verificationKeys.get(header.kid)
      if (key === undefined) throw new joseErrors.JWSInvalid("unknown key id")
      return key
    }

    const issueAccessToken: TokensShape["issueAccessToken"] = (subject) =>
      Effect.gen(function*() {
        const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const token = yield* Effect.promise(() =>
          new SignJWT({
            user_id: subject.userId,
            email: subject.email,
            role: subject.role,
            sid: subject.sessionId
          })
            .setProtectedHeader({ alg: ALGORITHM, kid: currentKid, typ: ACCESS_TOKEN_TYPE })
            .setIssuer(config.jwtIssuer)
            .setAudience(config.jwtAudience)
            .setSubject(subject.userId)
            .setJti(randomUUID())
            .setIssuedAt(nowSeconds)
            .setExpirationTime(nowSeconds + ttlSeconds)
            .sign(signingKey)
        )
        return { token, issuedAt: new Date(nowSeconds * 1000), expiresAt: new Date((nowSeconds + ttlSeconds) * 1000) }
      }).pipe(Effect.withSpan("Tokens.issueAccessToken"))

    const verifyAccessToken: TokensShape["verifyAccessToken"] = (token) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const { payload } = yield* Effect.tryPromise({
          try: () =>
            jwtVerify(token, keyFor, {
              algorithms: [ALGORITHM],
              issuer: config.jwtIssuer,
              audience: config.jwtAudience,
              typ: ACCESS_TOKEN_TYPE,
              clockTolerance: CLOCK_SKEW_SECONDS,
              currentDate: new Date(now),
              requiredClaims: ["sub", "sid", "jti", "iat", "exp"]
            }),
          catch: (cause) => new InvalidToken({ reason: cause instanceof Error ? cause.message : "unverifiable" })
        })
        const userId = stringClaim(payload, "sub")
        const sessionId = stringClaim(payload, "sid")
        const tokenId = stringClaim(payload, "jti")
        if (userId === undefined || sessionId === undefined || tokenId === undefined) {
          return yield* new InvalidToken({ reason: "missing claims" })
        }
        if (payload.user_id !== undefined && payload.user_id !== userId) {
          return yield* new InvalidToken({ reason: "user_id does not match sub" })
        }
        return {
          userId,
          sessionId,
          tokenId,
          email: stringClaim(payload, "email") ?? "",
          role: stringClaim(payload, "role") ?? "user",
          issuedAt: new Date((payload.iat ?? 0) * 1000),
          expiresAt: new Date((payload.exp ?? 0) * 1000)
        }
      }).pipe(Effect.withSpan("Tokens.verifyAccessToken"))

    return { issueAccessToken, verifyAccessToken }
  })
)
