/**
 * How each kind of setting is read from its variable: durations, integers, booleans, choices,
 * origins, rate rules, trust-proxy, instants and URLs. A bad value fails with a `ConfigError`
 * naming the variable and the problem, as the diagnostic lists it.
 */
import { Config, Duration, Option, Redacted, Result } from "effect"
import { booleanOfWord, oneOf } from "../../../domain/Choices.js"
import { invalid, mapOrFail } from "./Problems.js"
import type { RateRule, TrustProxy } from "./Settings.js"

const DURATION_UNITS: Readonly<Record<string, (amount: number) => Duration.Duration>> = {
  ms: Duration.millis,
  s: Duration.seconds,
  m: Duration.minutes,
  h: Duration.hours,
  d: Duration.days
}

/** `90s`, `15m`, `7d`, `250ms`, `2h`. */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim())
  const unit = match === null ? undefined : DURATION_UNITS[match[2]]
  return match === null || unit === undefined ? Option.none() : Option.some(unit(Number(match[1])))
}

/** One of `values`, in any case. */
export const choice = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback?: A) =>
  (fallback === undefined ? Config.String(name) : Config.String(name).pipe(Config.withDefault(fallback))).pipe(
    mapOrFail((raw: string) => {
      const value = raw.trim().toLowerCase()
      const found = values.find((v) => v === value)
      return found !== undefined
        ? Result.succeed(found)
        : Result.fail(invalid(name, `expected one of ${values.join(", ")}`))
    })
  )

export const integer = (name: string, fallback: number, min: number, max: number) =>
  Config.String(name).pipe(
    Config.withDefault(String(fallback)),
    mapOrFail((raw: string) => {
      const value = Number(raw.trim())
      return /^\s*-?\d+\s*$/.test(raw) && value >= min && value <= max
        ? Result.succeed(value)
        : Result.fail(invalid(name, `expected an integer between ${min} and ${max}`))
    })
  )

export const duration = (name: string, fallback: string) =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) =>
      Option.match(parseDuration(raw), {
        onNone: () => Result.fail(invalid(name, "expected a duration such as 250ms, 90s, 15m, 12h or 7d")),
        onSome: (d) => Result.succeed(d)
      })
    )
  )

export const boolean = (name: string, fallback: boolean) =>
  Config.String(name).pipe(
    Config.withDefault(String(fallback)),
    mapOrFail((raw: string) => {
      const value = booleanOfWord(raw.trim())
      return value !== undefined ? Result.succeed(value) : Result.fail(invalid(name, "expected true or false"))
    })
  )

const ORIGIN = /^https?:\/\/[^/\s]+$/

/** Exact origins (`scheme://host[:port]`), or `*` (refused in production: Rules.ts). */
export const origins = (name: string, fallback: string) =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) => {
      const list = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      if (list.length === 0) return Result.fail(invalid(name, "expected at least one origin"))
      return list.every((origin) => origin === "*" || ORIGIN.test(origin))
        ? Result.succeed(list)
        : Result.fail(invalid(name, "expected origins such as https://app.example.com, separated by commas"))
    })
  )

/** `10/1m`: a count and a window. */
export const rateRule = (name: string, fallback: string) =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) => {
      const [count, window] = raw.split("/")
      const limit = Number(count)
      const duration = window === undefined ? Option.none() : parseDuration(window)
      if (!Number.isInteger(limit) || limit <= 0 || Option.isNone(duration)) {
        return Result.fail(invalid(name, "expected a count per window such as 10/1m or 600/1m"))
      }
      // The limiter spaces requests window/count apart in whole milliseconds (Redis PX).
      return Duration.toMillis(duration.value) % limit === 0
        ? Result.succeed<RateRule>({ limit, window: duration.value })
        : Result.fail(
          invalid(name, "the window in milliseconds must be a multiple of the count (e.g. 12/1m, not 7/1m)")
        )
    })
  )

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/
const IPV6 = /^[0-9a-f:]+(\/\d{1,3})?$/i

export const trustProxy = Config.String("TRUST_PROXY").pipe(
  Config.withDefault("false"),
  mapOrFail((raw: string): Result.Result<TrustProxy, Config.ConfigError> => {
    const value = raw.trim().toLowerCase()
    if (value === "false" || value === "0") return Result.succeed({ _tag: "None" })
    if (/^\d+$/.test(value)) return Result.succeed({ _tag: "Hops", hops: Number(value) })
    const addresses = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    return addresses.length > 0 && addresses.every((a) => IPV4.test(a) || (a.includes(":") && IPV6.test(a)))
      ? Result.succeed({ _tag: "Addresses", addresses })
      : Result.fail(invalid("TRUST_PROXY", "expected false, a hop count, or a comma list of addresses / CIDRs"))
  })
)

/** An instant with a date, a time and an offset, e.g. 2026-06-30T00:00:00Z. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i

export const instant = (name: string) =>
  Config.String(name).pipe(
    mapOrFail((raw: string) => {
      const millis = ISO_INSTANT.test(raw.trim()) ? Date.parse(raw.trim()) : Number.NaN
      return Number.isNaN(millis)
        ? Result.fail(invalid(name, "expected an ISO 8601 instant with an offset, e.g. 2026-06-30T00:00:00Z"))
        : Result.succeed(new Date(millis))
    })
  )

export const databaseUrl = Config.Redacted("DATABASE_URL").pipe(
  mapOrFail((url) => {
    const value = Redacted.value(url)
    return /^postgres(ql)?:\/\/[^\s]+$/.test(value) && URL.canParse(value)
      ? Result.succeed(url)
      : Result.fail(invalid("DATABASE_URL", "expected a postgres:// or postgresql:// URL"))
  }),
  Config.option
)

export const redisUrl = Config.option(
  Config.Redacted("REDIS_URL").pipe(
    mapOrFail((url) =>
      /^rediss?:\/\/\S+$/.test(Redacted.value(url))
        ? Result.succeed(url)
        : Result.fail(invalid("REDIS_URL", "expected a redis:// or rediss:// URL"))
    )
  )
)

/** An OTLP/HTTP URL: the collector's base URL, or one signal's full URL. */
export const otlpUrl = (name: string) =>
  Config.option(
    Config.String(name).pipe(
      mapOrFail((raw: string) =>
        /^https?:\/\//.test(raw.trim()) && URL.canParse(raw.trim())
          ? Result.succeed(raw.trim())
          : Result.fail(invalid(name, "expected an http:// or https:// URL"))
      )
    )
  )

/** A comma list of names among `values` (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER), in any case. */
export const choices = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback: A) => {
  const isValue = oneOf(values)
  return Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) => {
      const list = raw.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0)
      return list.length > 0 && list.every(isValue)
        ? Result.succeed(list)
        : Result.fail(invalid(name, `expected one or more of ${values.join(", ")}, separated by commas`))
    })
  )
}

/** A fraction between 0 and 1 (OTEL_TRACES_SAMPLER_ARG). */
export const ratio = (name: string, fallback: number) =>
  Config.String(name).pipe(
    Config.withDefault(String(fallback)),
    mapOrFail((raw: string) => {
      const value = Number(raw.trim())
      return raw.trim() !== "" && value >= 0 && value <= 1
        ? Result.succeed(value)
        : Result.fail(invalid(name, "expected a number between 0 and 1"))
    })
  )

/**
 * The entries of an OTel `key=value,…` list (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS),
 * trimmed and still percent-encoded; blank entries are skipped, and a missing key is "".
 */
const otelListEntries = (raw: string) =>
  raw.split(",").filter((pair) => pair.trim().length > 0).map((pair) => {
    const at = pair.indexOf("=")
    return { key: at > 0 ? pair.slice(0, at).trim() : "", value: pair.slice(at + 1).trim() }
  })

/** `text` percent-decoded, or undefined when its encoding is broken. */
const percentDecoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/**
 * `OTEL_RESOURCE_ATTRIBUTES`: `key=value,…`, values percent-encoded (the OTel format). Checked here
 * so a bad list halts boot with the diagnostic; the exporters read the variable themselves.
 */
export const resourceAttributes = Config.String("OTEL_RESOURCE_ATTRIBUTES").pipe(
  Config.withDefault(""),
  mapOrFail((raw: string) => {
    const attributes: Record<string, string> = {}
    for (const entry of otelListEntries(raw)) {
      const key = percentDecoded(entry.key)
      const value = percentDecoded(entry.value)
      if (key === undefined || value === undefined) {
        return Result.fail(invalid("OTEL_RESOURCE_ATTRIBUTES", "invalid percent-encoding"))
      }
      if (key === "") {
        return Result.fail(invalid("OTEL_RESOURCE_ATTRIBUTES", "expected comma-separated key=value pairs"))
      }
      attributes[key] = value
    }
    return Result.succeed(attributes)
  })
)

/** `k=v,k2=v2` (OTel's format: values may be percent-encoded). Never echoed: the values are secrets. */
export const otlpHeaders = Config.String("OTEL_EXPORTER_OTLP_HEADERS").pipe(
  Config.withDefault(""),
  mapOrFail((raw: string) => {
    const headers: Record<string, Redacted.Redacted<string>> = {}
    for (const { key: name, value: encoded } of otelListEntries(raw)) {
      const value = percentDecoded(encoded)
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value === undefined) {
        return Result.fail(invalid("OTEL_EXPORTER_OTLP_HEADERS", "expected comma-separated name=value pairs"))
      }
      headers[name.toLowerCase()] = Redacted.make(value)
    }
    return Result.succeed(headers)
  })
)

/** `0` (check every request) or a duration of at most 5 s (security.md). */
export const sessionCheckInterval = Config.String("SESSION_CHECK_INTERVAL").pipe(
  Config.withDefault("5s"),
  mapOrFail((raw: string) => {
    const d = raw.trim() === "0" ? Option.some(Duration.zero) : parseDuration(raw)
    if (Option.isNone(d)) return Result.fail(invalid("SESSION_CHECK_INTERVAL", "expected 0 or a duration such as 2s"))
    return Duration.isLessThanOrEqualTo(d.value, Duration.seconds(5))
      ? Result.succeed(d.value)
      : Result.fail(
        invalid("SESSION_CHECK_INTERVAL", "at most 5s: revocations must reach every instance within 5 seconds")
      )
  })
)

/**
 * Above zero and at most 24 h, the old backend's token lifetime: the longest a client that cannot
 * refresh yet needs. A token's session is still checked on every request (SESSION_CHECK_INTERVAL),
 * so a long lifetime never outlives a logout, a revocation or a ban.
 */
export const accessTokenTtl = duration("ACCESS_TOKEN_TTL", "15m").pipe(
  mapOrFail((d: Duration.Duration) =>
    Duration.isGreaterThan(d, Duration.zero) && Duration.isLessThanOrEqualTo(d, Duration.hours(24))
      ? Result.succeed(d)
      : Result.fail(invalid("ACCESS_TOKEN_TTL", "expected a duration above 0 and at most 24h"))
  )
)
