/**
 * Access tokens: JWTs signed through `jose` with the one configured algorithm — HS256 with the
 * secret, or EdDSA / ES256 / RS256 with a private key whose public half is served as a JWKS.
 * Verification pins that algorithm, accepts only known key ids, and checks `typ`, `iss`, `aud`
 * and `exp` (30 s skew) against Effect's `Clock`, so expiry is testable with `TestClock`.
 * Tokens of the old backend (HS256 with the shared secret, no `typ`/`iss`/`aud`/`sid`) are
 * accepted only while LEGACY_TOKENS_UNTIL is in the future, and for at most the old backend's
 * 24 h from their `iat` whatever their `exp` says.
 */
import { Clock, Context, Data, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
  SignJWT
} from "jose"
import { createHash, createPublicKey, hkdfSync, type KeyObject, randomUUID } from "node:crypto"
import { type CallerSessionId, legacySessionId, SessionId } from "../../domain/auth/Session.js"
import { UserId } from "../../domain/auth/User.js"
import { AppConfig, type AppConfigShape, type JwtAlgorithm } from "../platform/Config.js"
import { hotSpan } from "../platform/HotSpans.js"

export const ACCESS_TOKEN_TYPE = "at+jwt"
const CLOCK_SKEW_SECONDS = 30
/** The old backend's token lifetime: a legacy token is refused this long after its `iat`. */
export const LEGACY_TOKEN_MAX_AGE_SECONDS = 24 * 60 * 60

/** What a verified access token tells: whose it is, of which session, and its lifetime. */
export interface AccessClaims {
  readonly userId: UserId
  /** The session the token belongs to; for a legacy token of the old backend, its LegacySessionId. */
  readonly sessionId: CallerSessionId
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
    readonly userId: UserId
    readonly email: string
    readonly role: string
    readonly sessionId: SessionId
  }) => Effect.Effect<IssuedToken>
  readonly verifyAccessToken: (token: string) => Effect.Effect<AccessClaims, InvalidToken>
  /** The public verification keys (empty with a symmetric algorithm), for `/.well-known/jwks.json`. */
  readonly jwks: { readonly keys: ReadonlyArray<Record<string, unknown>> }
  /**
   * Keys that authenticate refresh tokens (HMAC), derived from `refreshTokenSecret`: the current
   * one mints, the previous ones (from previous HS256 secrets) still verify.
   */
  readonly refreshTokenKeys: { readonly current: Uint8Array; readonly previous: ReadonlyArray<Uint8Array> }
}

export class Tokens extends Context.Service<Tokens, TokensShape>()("tasks-api/Tokens") {}

/** A key id derived from the secret: tells keys apart without revealing anything about them. */
export const keyIdOf = (secret: string) =>
  createHash("sha256").update(`tasks-api:hs256:${secret}`).digest("base64url").slice(0, 16)

/** A refresh-token HMAC key, independent of the JWT key it is derived from. */
export const refreshKeyOf = (secret: string) =>
  new Uint8Array(hkdfSync("sha256", secret, "tasks-api", "refresh-token-mac", 32))

/**
 * A legacy token's id: a hash of its signed part (the old backend set no `jti`). Not of the whole
 * string: a signature can be re-encoded (base64url's spare bits) into another string that still
 * verifies, and must not thereby escape the token's revocation.
 */
export const legacyTokenIdOf = (token: string) =>
  createHash("sha256").update(token.slice(0, token.lastIndexOf("."))).digest("base64url")

const stringClaim = (payload: JWTPayload, name: string) => {
  const value = payload[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/**
 * Where ids from tokens are branded. The signature vouches for the subject (a user id we, or the
 * old backend, wrote), so it is branded as it is (`UserId.make` in both verifications); a `sid`
 * must still be a session id (a UUID), else it names no session and the token is refused.
 */
const decodeSessionId = Schema.decodeUnknownOption(SessionId)

const refusal = (cause: unknown) =>
  new InvalidToken({ reason: cause instanceof Error ? cause.message : "unverifiable" })

/** The keys of the configured algorithm: one signs, all of them (by kid) verify. */
interface SigningKeys {
  readonly algorithm: JwtAlgorithm
  readonly kid: string
  readonly signingKey: KeyObject | Uint8Array
  readonly verificationKeys: ReadonlyMap<string, KeyObject | Uint8Array>
  readonly jwks: ReadonlyArray<Record<string, unknown>>
}

/** The HS256 secrets by kid: the current one and the previous ones (verify only). */
const signingSecretsOf = (config: AppConfigShape): ReadonlyMap<string, Uint8Array> => {
  const encoder = new TextEncoder()
  return new Map(
    [config.jwtSecret, ...config.jwtPreviousSecrets].map((
      s
    ) => [keyIdOf(Redacted.value(s)), encoder.encode(Redacted.value(s))])
  )
}

const signingKeysOf = (
  config: AppConfigShape,
  secrets: ReadonlyMap<string, Uint8Array>
): Effect.Effect<SigningKeys> => {
  const algorithm = config.jwtAlgorithm
  if (algorithm === "HS256") {
    const secret = Redacted.value(config.jwtSecret)
    const signingKey = new TextEncoder().encode(secret)
    return Effect.succeed({ algorithm, kid: keyIdOf(secret), signingKey, verificationKeys: secrets, jwks: [] })
  }
  return Option.match(config.jwtPrivateKey, {
    onNone: () => Effect.die(new Error(`JWT_ALGORITHM ${algorithm} without JWT_PRIVATE_KEY got past loadConfig`)),
    onSome: (redacted) =>
      Effect.promise(async () => {
        const privateKey = Redacted.value(redacted)
        // Derived by node from the private key: the public JWK cannot carry a private member.
        const publicKey = createPublicKey(privateKey)
        const publicJwk: JWK = await exportJWK(publicKey)
        const kid = await calculateJwkThumbprint(publicJwk)
        return {
          algorithm,
          kid,
          signingKey: privateKey,
          verificationKeys: new Map([[kid, publicKey]]),
          jwks: [{ ...publicJwk, kid, alg: algorithm, use: "sig" }]
        }
      })
  })
}

/** The old backend's tokens: no `typ` (or the generic `JWT`); ours always say `at+jwt`. */
const isLegacyShaped = (header: ProtectedHeaderParameters) =>
  header.typ === undefined || header.typ.toUpperCase() === "JWT"

export const TokensLive = Layer.effect(
  Tokens,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const secrets = signingSecretsOf(config)
    const keys = yield* signingKeysOf(config, secrets)
    const ttlSeconds = Math.floor(Duration.toSeconds(config.accessTokenTtl))

    const keyFor = (header: ProtectedHeaderParameters) => {
      const key = header.kid === undefined ? undefined : keys.verificationKeys.get(header.kid)
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
            .setProtectedHeader({ alg: keys.algorithm, kid: keys.kid, typ: ACCESS_TOKEN_TYPE })
            .setIssuer(config.jwtIssuer)
            .setAudience(config.jwtAudience)
            .setSubject(subject.userId)
            .setJti(randomUUID())
            .setIssuedAt(nowSeconds)
            .setExpirationTime(nowSeconds + ttlSeconds)
            .sign(keys.signingKey)
        )
        return { token, issuedAt: new Date(nowSeconds * 1000), expiresAt: new Date((nowSeconds + ttlSeconds) * 1000) }
      }).pipe(Effect.withSpan("Tokens.issueAccessToken"))

    const verifyCurrent = (token: string, now: number) =>
      Effect.gen(function*() {
        const { payload } = yield* Effect.tryPromise({
          try: () =>
            jwtVerify(token, keyFor, {
              // Only the configured algorithm: no alg: none, no HS256 keyed with a public key.
              algorithms: [keys.algorithm],
              issuer: config.jwtIssuer,
              audience: config.jwtAudience,
              typ: ACCESS_TOKEN_TYPE,
              clockTolerance: CLOCK_SKEW_SECONDS,
              currentDate: new Date(now),
              requiredClaims: ["sub", "sid", "jti", "iat", "exp"]
            }),
          catch: refusal
        })
        const userId = stringClaim(payload, "sub")
        const sid = stringClaim(payload, "sid")
        // jose requires a jti but accepts any value: ours is always a string.
        if (userId === undefined || sid === undefined || stringClaim(payload, "jti") === undefined) {
          return yield* new InvalidToken({ reason: "missing claims" })
        }
        if (payload.user_id !== undefined && payload.user_id !== userId) {
          return yield* new InvalidToken({ reason: "user_id does not match sub" })
        }
        const sessionId = decodeSessionId(sid)
        if (Option.isNone(sessionId)) return yield* new InvalidToken({ reason: "sid is not a session id" })
        return {
          userId: UserId.make(userId),
          sessionId: sessionId.value,
          issuedAt: new Date((payload.iat ?? 0) * 1000),
          expiresAt: new Date((payload.exp ?? 0) * 1000)
        } satisfies AccessClaims
      })

    const verifyLegacy = (token: string, header: ProtectedHeaderParameters, now: number) =>
      Effect.gen(function*() {
        // The old backend set no kid, so each secret is tried; a kid, when present, must be ours.
        const candidates = header.kid === undefined
          ? [...secrets.values()]
          : Option.toArray(Option.fromUndefinedOr(secrets.get(header.kid)))
        if (candidates.length === 0) return yield* new InvalidToken({ reason: "unknown key id" })
        const { payload } = yield* Effect.firstSuccessOf(
          candidates.map((secret) =>
            Effect.tryPromise({
              try: () =>
                jwtVerify(token, secret, {
                  algorithms: ["HS256"],
                  clockTolerance: CLOCK_SKEW_SECONDS,
                  currentDate: new Date(now),
                  // Its own exp may lie far ahead: the old backend's 24 h from iat bound it (iat required).
                  maxTokenAge: LEGACY_TOKEN_MAX_AGE_SECONDS,
                  requiredClaims: ["exp", "iat"]
                }),
              catch: refusal
            })
          )
        )
        // A token with our claims must pass our checks (session, audience): never the sessionless path.
        if (["iss", "aud", "sid"].some((name) => name in payload)) {
          return yield* new InvalidToken({ reason: "not a legacy token: it carries iss, aud or sid" })
        }
        const sub = stringClaim(payload, "sub")
        const userIdClaim = stringClaim(payload, "user_id")
        const userId = sub ?? userIdClaim
        if (userId === undefined) return yield* new InvalidToken({ reason: "missing claims" })
        if (sub !== undefined && userIdClaim !== undefined && sub !== userIdClaim) {
          return yield* new InvalidToken({ reason: "user_id does not match sub" })
        }
        const iat = payload.iat ?? 0
        return {
          userId: UserId.make(userId),
          sessionId: legacySessionId(legacyTokenIdOf(token)),
          issuedAt: new Date(iat * 1000),
          expiresAt: new Date(Math.min(payload.exp ?? 0, iat + LEGACY_TOKEN_MAX_AGE_SECONDS) * 1000)
        } satisfies AccessClaims
      })

    const legacyAcceptedAt = (now: number) => Option.exists(config.legacyTokensUntil, (until) => now < until.getTime())

    const verifyAccessToken: TokensShape["verifyAccessToken"] = (token) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const header = yield* Effect.try({ try: () => decodeProtectedHeader(token), catch: refusal })
        // A key embedded in or pointed at by the token is the attacker's key: never look at it.
        if ("jwk" in header || "jku" in header || "x5u" in header || "x5c" in header) {
          return yield* new InvalidToken({ reason: "embedded or remote keys are not accepted" })
        }
        if (!isLegacyShaped(header)) return yield* verifyCurrent(token, now)
        if (!legacyAcceptedAt(now)) return yield* new InvalidToken({ reason: "legacy tokens are not accepted" })
        return yield* verifyLegacy(token, header, now)
      }).pipe(hotSpan("Tokens.verifyAccessToken"))

    return {
      issueAccessToken,
      verifyAccessToken,
      jwks: { keys: keys.jwks },
      // With an asymmetric algorithm only the private key's: previous HS256 secrets are no keys of ours.
      refreshTokenKeys: {
        current: refreshKeyOf(Redacted.value(config.refreshTokenSecret)),
        previous: keys.algorithm === "HS256"
          ? config.jwtPreviousSecrets.map((s) => refreshKeyOf(Redacted.value(s)))
          : []
      }
    }
  })
)
