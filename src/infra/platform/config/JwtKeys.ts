/**
 * The JWT signing settings: the HS256 secrets (at least 32 bytes each), the algorithm and its
 * private key checked against each other, and the secret used when none is configured — derived
 * from the private key, or kept in the data directory in development.
 */
import { Config, Effect, Option, Redacted, Result } from "effect"
import { createPrivateKey, hkdfSync, type JsonWebKey, type KeyObject, randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises"
import { resolve } from "node:path"
import { ConfigInvalid, invalid, mapOrFail } from "./Problems.js"
import { JWT_ALGORITHMS, type JwtAlgorithm } from "./Settings.js"

/** A secret of at least 32 bytes (as UTF-8). */
export const secretOfAtLeast32Bytes = (name: string) =>
  Config.Redacted(name).pipe(
    mapOrFail((secret) =>
      Buffer.byteLength(Redacted.value(secret), "utf8") >= 32
        ? Result.succeed(secret)
        : Result.fail(invalid(name, "must be at least 32 bytes"))
    )
  )

const isPrivateJwk = (value: unknown): value is JsonWebKey & { readonly d: string } =>
  typeof value === "object" && value !== null && "d" in value && typeof value.d === "string"

/**
 * Parses a PKCS#8 PEM or a private JWK; also a PEM on one line with its line breaks written `\n`,
 * as env files carry it.
 */
const parsePrivateKey = (text: string): Result.Result<KeyObject, string> => {
  const trimmed = text.trim()
  try {
    if (trimmed.startsWith("{")) {
      const jwk: unknown = JSON.parse(trimmed)
      return isPrivateJwk(jwk)
        ? Result.succeed(createPrivateKey({ key: jwk, format: "jwk" }))
        : Result.fail("expected a private key (a JWK with \"d\"), not a public one")
    }
    return Result.succeed(createPrivateKey({ key: trimmed.replaceAll("\\n", "\n"), format: "pem" }))
  } catch {
    // The parser's message is not passed on: it is not worth the risk of quoting the key.
    return Result.fail("expected an unencrypted PKCS#8 PEM private key or a private JWK (JSON)")
  }
}

/** Why `key` cannot sign with `algorithm`, if it cannot. */
const keyMismatch = (algorithm: Exclude<JwtAlgorithm, "HS256">, key: KeyObject): string | undefined => {
  switch (algorithm) {
    case "RS256": {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
      return key.asymmetricKeyType === "rsa" && bits >= 2048
        ? undefined
        : "RS256 needs an RSA key of at least 2048 bits"
    }
    case "ES256":
      return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1"
        ? undefined
        : "ES256 needs a P-256 (prime256v1) EC key"
    case "EdDSA":
      return key.asymmetricKeyType === "ed25519" ? undefined : "EdDSA needs an Ed25519 key"
  }
}

const jwtAlgorithm = Config.String("JWT_ALGORITHM").pipe(
  Config.withDefault("HS256"),
  mapOrFail((raw: string) => {
    const found = JWT_ALGORITHMS.find((a) => a.toLowerCase() === raw.trim().toLowerCase())
    return found !== undefined
      ? Result.succeed(found)
      : Result.fail(invalid("JWT_ALGORITHM", `expected one of ${JWT_ALGORITHMS.join(", ")}`))
  })
)

export interface JwtSigning {
  readonly algorithm: JwtAlgorithm
  readonly privateKey: Option.Option<Redacted.Redacted<KeyObject>>
}

/** The algorithm and its private key, checked against each other (the key only when the algorithm parses). */
export const jwtSigning = Config.all({
  algorithm: jwtAlgorithm,
  privateKey: Config.option(Config.Redacted("JWT_PRIVATE_KEY"))
}).pipe(
  mapOrFail(({ algorithm, privateKey }): Result.Result<JwtSigning, Config.ConfigError> => {
    const keyProblem = (problem: string) => Result.fail(invalid("JWT_PRIVATE_KEY", problem))
    if (algorithm === "HS256") {
      // A key with HS256 is most likely a forgotten JWT_ALGORITHM: tokens would silently stay HS256.
      return Option.isSome(privateKey)
        ? keyProblem("set, but JWT_ALGORITHM is HS256; set JWT_ALGORITHM to the key's algorithm")
        : Result.succeed({ algorithm, privateKey: Option.none() })
    }
    if (Option.isNone(privateKey)) return keyProblem(`required when JWT_ALGORITHM is ${algorithm}`)
    const parsed = parsePrivateKey(Redacted.value(privateKey.value))
    if (Result.isFailure(parsed)) return keyProblem(parsed.failure)
    const mismatch = keyMismatch(algorithm, parsed.success)
    return mismatch !== undefined
      ? keyProblem(mismatch)
      : Result.succeed({ algorithm, privateKey: Option.some(Redacted.make(parsed.success)) })
  })
)

const NO_SECRETS: ReadonlyArray<Redacted.Redacted<string>> = []

/** `JWT_PREVIOUS_SECRETS`: a comma list of the secrets tokens were signed with before (verify only). */
export const previousSecrets = Config.Redacted("JWT_PREVIOUS_SECRETS").pipe(
  mapOrFail((raw: Redacted.Redacted<string>) => {
    const secrets = Redacted.value(raw).split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    return secrets.every((s) => Buffer.byteLength(s, "utf8") >= 32)
      ? Result.succeed(secrets.map((s) => Redacted.make(s)))
      : Result.fail(invalid("JWT_PREVIOUS_SECRETS", "every secret must be at least 32 bytes"))
  }),
  Config.withDefault(NO_SECRETS)
)

/** Reads the development signing secret from `dataDir`, creating it (mode 0600) on first start. */
const developmentSecret = (dataDir: string) =>
  Effect.tryPromise({
    try: async () => {
      const file = resolve(dataDir, "jwt-secret")
      if (existsSync(file)) return Redacted.make((await readFile(file, "utf8")).trim())
      await mkdir(dataDir, { recursive: true })
      const secret = randomBytes(48).toString("base64url")
      await writeFile(file, secret + "\n", { mode: 0o600 })
      await chmod(file, 0o600)
      return Redacted.make(secret)
    },
    catch: (cause) =>
      new ConfigInvalid({
        problems: [{ variable: "DATA_DIR", problem: `cannot keep the development secret there: ${String(cause)}` }]
      })
  })

/** A secret bound to the private key but revealing nothing of it (HKDF of its PKCS#8 bytes). */
const secretFromPrivateKey = (key: Redacted.Redacted<KeyObject>) => {
  const der = Redacted.value(key).export({ format: "der", type: "pkcs8" })
  const derived = hkdfSync("sha256", der, "tasks-api", "jwt-secret-from-private-key", 32)
  return Redacted.make(Buffer.from(derived).toString("base64url"))
}

/**
 * The HS256 secret (see `AppConfigShape.jwtSecret`): JWT_SECRET when set; else one derived from
 * the private key; else, outside production, the development secret kept in `dataDir`.
 */
export const jwtSecretOf = (
  configured: Option.Option<Redacted.Redacted<string>>,
  signing: JwtSigning,
  dataDir: string
): Effect.Effect<Redacted.Redacted<string>, ConfigInvalid> =>
  Option.isSome(configured)
    ? Effect.succeed(configured.value)
    : Option.isSome(signing.privateKey)
    ? Effect.succeed(secretFromPrivateKey(signing.privateKey.value))
    : developmentSecret(dataDir)

/**
 * What the refresh-token MAC key is derived from (see `AppConfigShape.refreshTokenSecret`): the
 * private key whenever there is one, never a JWT_SECRET set beside it (the old backend's, shared
 * with whoever held it); with HS256, the signing secret.
 */
export const refreshTokenSecretOf = (
  jwtSecret: Redacted.Redacted<string>,
  signing: JwtSigning
): Redacted.Redacted<string> =>
  Option.match(signing.privateKey, { onNone: () => jwtSecret, onSome: secretFromPrivateKey })
