/**
 * The process logger: one JSON object per line in production, pretty in development, level from
 * LOG_LEVEL. Every line, whoever writes it, passes through the scrubber of Redaction.ts (the one
 * spans pass through too): credential-named fields are replaced, and configured secrets, bearer
 * values, JWTs and opaque tokens are cut out of messages, fields and errors.
 */
import { Cause, Effect, Layer, Logger, LogLevel, References } from "effect"
import type { AppConfigShape, LogLevelName } from "./Config.js"
import { type Scrubber, scrubberOf } from "./Redaction.js"

const LEVELS: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal"
}

const messageText = (message: unknown): string =>
  Array.isArray(message)
    ? message.map(messageText).join(" ")
    : typeof message === "string"
    ? message
    : JSON.stringify(message)

/**
 * Standard output, written once per turn of the event loop with every line logged during it: under
 * load a write(2) per request line cost more than formatting it. What is pending at exit is
 * written then (stdout to a file or a pipe is written synchronously on Linux).
 */
const makeLineWriter = () => {
  let pending: Array<string> = []
  const flush = () => {
    if (pending.length === 0) return
    const chunk = pending.join("\n") + "\n"
    pending = []
    process.stdout.write(chunk)
  }
  process.on("exit", flush)
  return (line: string) => {
    if (pending.push(line) === 1) setImmediate(flush)
  }
}

/** One writer for the process, however many loggers are built (tests build many). */
const writeLine = makeLineWriter()

/** The start of a JSON line: time, level and message, then each field at the top level, scrubbed. */
const jsonLine = (
  redact: Scrubber,
  date: Date,
  level: string,
  message: string,
  fields: Iterable<readonly [string, unknown]>
): Record<string, unknown> => {
  const line: Record<string, unknown> = { time: date.toISOString(), level, message: redact.text(message) }
  for (const [name, v] of fields) line[name] = redact.value(name, v)
  return line
}

/** One JSON object per line: time, level, message, then the annotations as top-level fields. */
const jsonLogger = (redact: Scrubber) =>
  Logger.make(({ cause, date, fiber, logLevel, message }) => {
    const annotations = Object.entries(fiber.getRef(References.CurrentLogAnnotations))
    const line = jsonLine(redact, date, logLevel.toLowerCase(), messageText(message), annotations)
    if (cause.reasons.length > 0) line.cause = redact.text(Cause.pretty(cause))
    const spanNames = fiber.getRef(References.CurrentLogSpans).map(([label]) => label)
    if (spanNames.length > 0) line.spans = spanNames
    writeLine(JSON.stringify(line))
  })

const prettyText = (value: unknown): string =>
  typeof value === "string" ? value : JSON.stringify(value) ?? String(value)

/**
 * The development format, as Effect's pretty logger lays it out (a header line, then the cause and
 * each annotation indented below it), with the message and annotations scrubbed on the way.
 */
const prettyLogger = (redact: Scrubber) =>
  Logger.make(({ cause, date, fiber, logLevel, message }) => {
    const now = date.getTime()
    const spans = fiber.getRef(References.CurrentLogSpans).map(([label, start]) => ` ${label}=${now - start}ms`)
    const lines = [
      `[${date.toISOString().slice(11, 23)}] ${logLevel.toUpperCase()} (#${fiber.id})${spans.join("")}: ${
        redact.text(messageText(message))
      }`
    ]
    if (cause.reasons.length > 0) {
      lines.push(...redact.text(Cause.pretty(cause)).split("\n").map((l) => `  ${l}`))
    }
    for (const [name, value] of Object.entries(fiber.getRef(References.CurrentLogAnnotations))) {
      lines.push(`  ${name}: ${prettyText(redact.value(name, value))}`)
    }
    writeLine(lines.join("\n"))
  })

/**
 * Our logger in place of Effect's default one, beside the tracer logger (which records each log
 * line as an event of the current span: SpanRedaction.ts scrubs those).
 */
export const loggingLayer = (config: AppConfigShape) => {
  const redact = scrubberOf(config)
  return Layer.merge(
    Logger.layer([config.logFormat === "json" ? jsonLogger(redact) : prettyLogger(redact), Logger.tracerLogger]),
    Layer.succeed(References.MinimumLogLevel, LEVELS[config.logLevel])
  )
}

/**
 * The access line of each request, written without Effect's log call: one per request, and that
 * call (annotations, every logger, the fiber's context) cost a sixth of a task read's CPU. The JSON
 * line is the logger's (same fields, scrubber, writer and Clock). The pretty format, for
 * development, goes through the loggers, and so does the JSON one when log records are exported
 * over OTLP: the record is the OTLP logger's (with the request's trace and span), the line the
 * same one.
 */
export const makeAccessLog = (config: AppConfigShape): (fields: Record<string, unknown>) => Effect.Effect<void> => {
  if (LogLevel.isGreaterThan(LEVELS[config.logLevel], "Info")) return () => Effect.void
  if (config.logFormat !== "json" || config.otel.logsExported) {
    return (fields) => Effect.annotateLogs(Effect.logInfo("request"), fields)
  }
  const redact = scrubberOf(config)
  return (fields) =>
    Effect.clockWith((clock) =>
      Effect.sync(() =>
        writeLine(
          JSON.stringify(
            jsonLine(redact, new Date(clock.currentTimeMillisUnsafe()), "info", "request", Object.entries(fields))
          )
        )
      )
    )
}
