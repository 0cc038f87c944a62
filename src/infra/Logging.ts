/**
 * The process logger: one JSON object per line in production, pretty in development, level from
 * LOG_LEVEL. Redaction is enforced here, in one place, for every line whoever writes it:
 * annotations whose name says secret (password, token, authorization, cookie, …) are replaced,
 * and any configured secret value, bearer token or JWT that appears in a message, an annotation
 * or an error is cut out.
 */
import { Cause, HashMap, Layer, List, Logger, LogLevel, Option, Redacted } from "effect"
import type { AppConfigShape, LogLevelName } from "./Config.js"

const LEVELS: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal
}

export const REDACTED = "[REDACTED]"

const SECRET_NAME = /pass(word|wd)?|secret|token|authorization|cookie|api[-_]?key|private[-_]?key|credential/i
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g

/** The configured secrets whose values must never appear in a log line. */
export const secretValues = (config: AppConfigShape): ReadonlyArray<string> => {
  const values = [config.jwtSecret, ...config.jwtPreviousSecrets].map(Redacted.value)
  for (const url of [config.databaseUrl, config.rateLimit.redisUrl]) {
    if (Option.isSome(url)) {
      const raw = Redacted.value(url.value)
      values.push(raw)
      const password = URL.canParse(raw) ? decodeURIComponent(new URL(raw).password) : ""
      if (password.length >= 4) values.push(password)
    }
  }
  return values.filter((v) => v.length >= 4).sort((a, b) => b.length - a.length)
}

/** A redactor for strings and annotation values, given the secrets to cut out. */
export const makeRedactor = (secrets: ReadonlyArray<string>) => {
  const text = (value: string) => {
    let out = value.replace(BEARER, `Bearer ${REDACTED}`).replace(JWT, REDACTED)
    for (const secret of secrets) out = out.split(secret).join(REDACTED)
    return out
  }
  const value = (name: string, v: unknown): unknown => {
    if (SECRET_NAME.test(name)) return REDACTED
    if (typeof v === "string") return text(v)
    if (Array.isArray(v)) return v.map((item) => value("", item))
    if (typeof v === "object" && v !== null && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, value(k, item)]))
    }
    return v
  }
  return { text, value }
}

const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map(messageText).join(" ") : typeof message === "string" ? message : JSON.stringify(message)

/** One JSON object per line: time, level, message, then the annotations as top-level fields. */
const jsonLogger = (redact: ReturnType<typeof makeRedactor>) =>
  Logger.make(({ annotations, cause, date, logLevel, message, spans }) => {
    const line: Record<string, unknown> = {
      time: date.toISOString(),
      level: logLevel.label.toLowerCase(),
      message: redact.text(messageText(message))
    }
    for (const [name, v] of HashMap.toEntries(annotations)) line[name] = redact.value(name, v)
    if (!Cause.isEmpty(cause)) line.cause = redact.text(Cause.pretty(cause, { renderErrorCause: true }))
    const spanNames = List.toArray(spans).map((s) => s.label)
    if (spanNames.length > 0) line.spans = spanNames
    globalThis.console.log(JSON.stringify(line))
  })

/** The pretty logger, fed redacted messages and annotations. */
const prettyLogger = (redact: ReturnType<typeof makeRedactor>) =>
  Logger.mapInputOptions(Logger.prettyLoggerDefault, (options) => ({
    ...options,
    message: redact.value("", options.message),
    annotations: HashMap.map(options.annotations, (v, name) => redact.value(name, v))
  }))

export const loggingLayer = (config: AppConfigShape) => {
  const redact = makeRedactor(secretValues(config))
  return Layer.merge(
    Logger.replace(Logger.defaultLogger, config.logFormat === "json" ? jsonLogger(redact) : prettyLogger(redact)),
    Logger.minimumLogLevel(LEVELS[config.logLevel])
  )
}
