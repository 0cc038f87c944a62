/** Health reports in the `application/health+json` format (draft-inadarei-api-health-check). */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export const HealthStatus = Schema.Literal("pass", "warn", "fail")
export type HealthStatus = typeof HealthStatus.Type

export const HealthCheck = Schema.Struct({
  componentType: Schema.optional(Schema.String),
  status: HealthStatus,
  observedValue: Schema.optional(Schema.Union(Schema.Number, Schema.String, Schema.Boolean)),
  observedUnit: Schema.optional(Schema.String),
  time: Schema.String,
  output: Schema.optional(Schema.String)
})
export type HealthCheck = typeof HealthCheck.Type

export const HealthReport = Schema.Struct({
  status: HealthStatus,
  checks: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(HealthCheck) }))
}).pipe(HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/health+json" }))
  .annotations({ identifier: "HealthReport" })
export type HealthReport = typeof HealthReport.Type

/** 503 from readiness: the same report, with a failing status. */
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", { report: HealthReport }) {
  static readonly Response = Schema.transform(HealthReport, NotReady, {
    strict: true,
    decode: (report) => ({ _tag: "NotReady" as const, report }),
    encode: ({ report }) => report
  }).annotations({
    ...HttpApiSchema.annotations({ status: 503 }),
    [HttpApiSchema.AnnotationEncoding]: { kind: "Json", contentType: "application/health+json" }
  })
}

export const LegacyHealth = Schema.Struct({ status: Schema.Literal("healthy") })
