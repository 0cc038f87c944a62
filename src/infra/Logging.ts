/**
 * The process logger: one JSON object per line in production, pretty in development, level from
 * LOG_LEVEL. Every line, whoever writes it, passes through the scrubber of Redaction.ts (the one
 * spans pass through too): credential-named fields are replaced, and configured secrets, bearer
 * values, JWTs and opaque tokens are cut out of messages, fields and errors.
 */
import { Cause, HashMap, Layer, List, Logger, LogLevel } from "effect"
import type { AppConfigShape, LogLevelName } from "./Config.js"
import { makeScrubber, type Scrubber, secretsOf } from "./Redaction.js"

const LEVELS: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal
}

const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map(messageText).join(" ") : typeof message === "string" ? message : JSON.stringify(message)

/** One JSON object per line: time, level, message, then the annotations as top-level fields. */
const jsonLogger = (redact: Scrubber) =>
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
const prettyLogger = (redact: Scrubber) =>
  Logger.mapInputOptions(Logger.prettyLoggerDefault, (options) => ({
    ...options,
    message: redact.value("", options.message),
    annotations: HashMap.map(options.annotations, (v, name) => redact.value(name, v))
  }))

export const loggingLayer = (config: AppConfigShape) => {
  const redact = makeScrubber(secretsOf(config))
  return Layer.merge(
    Logger.replace(Logger.defaultLogger, config.logFormat === "json" ? jsonLogger(redact) : prettyLogger(redact)),
    Logger.minimumLogLevel(LEVELS[config.logLevel])
  )
}
