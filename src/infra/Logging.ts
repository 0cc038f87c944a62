/** The process logger: one JSON object per line in production, pretty in development. */
import { Layer, Logger, LogLevel } from "effect"
import type { AppConfigShape, LogLevelName } from "./Config.js"

const LEVELS: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal
}

export const loggingLayer = (config: Pick<AppConfigShape, "logFormat" | "logLevel">) =>
  Layer.merge(
    config.logFormat === "json" ? Logger.json : Logger.pretty,
    Logger.minimumLogLevel(LEVELS[config.logLevel])
  )
