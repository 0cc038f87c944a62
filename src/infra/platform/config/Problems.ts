/**
 * The one diagnostic a bad configuration halts boot with: every problem found, each naming its
 * variable (as the operator spelled it, old name included), never echoing a secret value.
 */
import { Config, Data, Effect, Result, Schema, SchemaIssue } from "effect"

/** One problem with one variable, as the boot diagnostic lists it. */
export interface ConfigProblem {
  readonly variable: string
  readonly problem: string
  readonly received?: string
}

export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{
  readonly problems: ReadonlyArray<ConfigProblem>
}> {
  /** The one-line JSON diagnostic printed on stderr before exiting 78 (EX_CONFIG). */
  get diagnostic(): string {
    return JSON.stringify({ level: "fatal", event: "config_invalid", errors: this.problems })
  }
}

/** Never echoed in diagnostics (a database URL carries its password). */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "JWT_SECRET",
  "JWT_PREVIOUS_SECRETS",
  "JWT_PRIVATE_KEY",
  "REDIS_URL",
  // A collector's URL may carry basic-auth credentials; its headers carry API keys.
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS"
])

/**
 * A problem with the value of `name`, as a `ConfigError` whose issue points at the variable and
 * carries the diagnostic's wording (read back by `problemsOf`).
 */
export const invalid = (name: string, problem: string) =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer([name], new SchemaIssue.InvalidValue({ message: problem })))
  )

/** A check of a read value that may refuse it with a `ConfigError` naming the variable and the problem. */
export const mapOrFail = <A, B>(f: (value: A) => Result.Result<B, Config.ConfigError>) =>
  Config.mapEffect((value: A) => Effect.fromResult(f(value)))

/** Each issue of a schema error with its path and message (`invalid`'s wording where it made the issue). */
const issuesOf = SchemaIssue.makeFormatterStandardSchemaV1()

/** The problems a `ConfigError` reports, each with its variable as the environment spelled it. */
export const problemsOf = (
  error: Config.ConfigError,
  env: Map<string, string>,
  aliasUsed: Map<string, string>
): Array<ConfigProblem> => {
  const cause = error.cause
  // The provider reads a map in memory, so it cannot fail to read; kept total all the same.
  if (cause._tag === "SourceError") return [{ variable: "(environment)", problem: cause.message }]
  return issuesOf(cause.issue).issues.map((issue) => {
    const last = issue.path?.at(-1)
    const name = last === undefined ? "" : typeof last === "object" ? String(last.key) : String(last)
    return problem(name, issue.message, env, aliasUsed)
  })
}

const problem = (
  name: string,
  message: string,
  env: Map<string, string>,
  aliasUsed: Map<string, string>
): ConfigProblem => {
  const variable = aliasUsed.get(name) ?? name
  const received = env.get(name)
  return SECRET_VARIABLES.has(name) || received === undefined
    ? { variable, problem: message }
    : { variable, problem: message, received }
}
