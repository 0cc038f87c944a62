/**
 * Redaction, in one place for logs (Logging.ts, and LogRedaction.ts for their OTLP records) and
 * spans (SpanRedaction.ts): configured secret values, credential-shaped strings (JWTs, bearer
 * values, long opaque tokens), credential-named keys and query-string values are replaced,
 * whoever wrote them.
 */
import { Inspectable, Option, Redacted } from "effect"
import type { AppConfigShape } from "./Config.js"

export const REDACTED = "<redacted>"

/** Keys whose value is a credential whatever it looks like (`password`, `refresh_token`, `…header.cookie`). */
const SENSITIVE_KEY = /(^|[._-])(password|passwd|secret|token|authorization|cookie|api[-_]?key)$/i

/** Whether a field or attribute named `key` is replaced whole, whatever its value. */
export const isCredentialKey = (key: string): boolean => SENSITIVE_KEY.test(key)

/** Keys holding a URL or a query string: the query's values may carry tokens (`?access_token=…`). */
const URL_KEYS = new Set(["url.full", "url.original", "http.url", "http.target"])
const QUERY_KEYS = new Set(["url.query"])

/** Credentials recognisable by their shape alone. */
const CREDENTIAL_SHAPES: ReadonlyArray<RegExp> = [
  // JWS / JWT: the protected header is base64url JSON, so it starts with `eyJ` (`{"`).
  /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  // Opaque tokens and API keys: refresh tokens are 76 base64url characters. Nothing we trace
  // (ids, SQL, paths, stacks) has a run this long without a separator.
  /[A-Za-z0-9_-]{64,}/g
]

/**
 * Arrays are scrubbed item by item down to this depth; deeper, a log line or span carries this
 * marker (one recursion per level: a value nested past the stack would throw in the logger).
 */
const MAX_SCRUB_DEPTH = 32
const TOO_DEEP = "<nested too deep>"

/** Shorter values would be replaced wherever they happen to occur, for no protection. */
const MIN_SECRET_LENGTH = 8

export interface Scrubber {
  readonly text: (text: string) => string
  readonly value: (key: string, value: unknown) => unknown
  readonly record: (attributes: Readonly<Record<string, unknown>>) => Record<string, unknown>
}

const redactQuery = (query: string) =>
  query.split("&").map((part) => {
    const at = part.indexOf("=")
    return at < 0 ? part : `${part.slice(0, at)}=${REDACTED}`
  }).join("&")

const redactUrlQuery = (url: string) => {
  const at = url.indexOf("?")
  return at < 0 ? url : `${url.slice(0, at)}?${redactQuery(url.slice(at + 1))}`
}

/** A scrubber that also removes each of `secrets` (configuration values) wherever it appears. */
export const makeScrubber = (secrets: ReadonlyArray<string>): Scrubber => {
  const known = [...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]))]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    // Longest first: a secret containing another is removed whole.
    .sort((a, b) => b.length - a.length)

  const text = (input: string) => {
    let out = input
    for (const secret of known) out = out.replaceAll(secret, REDACTED)
    for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, REDACTED)
    return out
  }

  const scrubUnknown = (value: unknown, depth = 0): unknown => {
    if (typeof value === "string") return text(value)
    if (Array.isArray(value)) {
      return depth < MAX_SCRUB_DEPTH ? value.map((item) => scrubUnknown(item, depth + 1)) : TOO_DEEP
    }
    if (value === null || typeof value !== "object") return value
    // Objects are exported as their text anyway: scrub that text, so nothing nested slips through.
    return text(Inspectable.toStringUnknown(value))
  }

  const value = (key: string, input: unknown): unknown => {
    if (isCredentialKey(key)) return REDACTED
    if (typeof input === "string" && URL_KEYS.has(key)) return text(redactUrlQuery(input))
    if (typeof input === "string" && QUERY_KEYS.has(key)) return text(redactQuery(input))
    return scrubUnknown(input)
  }

  const record = (attributes: Readonly<Record<string, unknown>>) => {
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(attributes)) out[key] = value(key, v)
    return out
  }

  return { text, value, record }
}

const passwordOf = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).password)
  } catch {
    return ""
  }
}

/** Configuration values that must never reach a log line or a span, wherever they are echoed from. */
const redactedValuesOf = (config: AppConfigShape): Array<string> => {
  const urls = [
    ...Option.toArray(config.databaseUrl).map(Redacted.value),
    ...Option.toArray(config.rateLimit.redisUrl).map(Redacted.value),
    ...[config.otel.endpoint, config.otel.tracesEndpoint, config.otel.metricsEndpoint, config.otel.logsEndpoint]
      .flatMap(Option.toArray)
  ]
  return [
    Redacted.value(config.jwtSecret),
    ...config.jwtPreviousSecrets.map(Redacted.value),
    ...Object.values(config.otel.headers).map(Redacted.value),
    ...urls,
    ...urls.map(passwordOf)
  ].filter((secret) => secret.length > 0)
}

const scrubbers = new WeakMap<AppConfigShape, Scrubber>()

/**
 * The scrubber of a configuration (its secrets and every credential shape), built once for it:
 * the logger, the access log and the tracer share it.
 */
export const scrubberOf = (config: AppConfigShape): Scrubber => {
  const built = scrubbers.get(config)
  if (built !== undefined) return built
  const scrubber = makeScrubber(redactedValuesOf(config))
  scrubbers.set(config, scrubber)
  return scrubber
}
