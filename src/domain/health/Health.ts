/** Health reports in the `application/health+json` format (draft-inadarei-api-health-check). */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiSchema } from "effect/http-api"
import { omittable } from "../Fields.js"

const HEALTH_JSON = { contentType: "application/health+json" }

export const HealthStatus = Schema.Literals(["pass", "warn", "fail"])
export type HealthStatus = typeof HealthStatus.Type

export const HealthCheck = Schema.Struct({
  componentType: omittable(Schema.String),
  status: HealthStatus,
  observedValue: omittable(Schema.Union([Schema.Finite, Schema.String, Schema.Boolean])),
  observedUnit: omittable(Schema.String),
  time: Schema.String.annotate({ format: "date-time" }),
  output: omittable(Schema.String)
})
export type HealthCheck = typeof HealthCheck.Type

export const HealthReport = Schema.Struct({
  status: HealthStatus,
  checks: omittable(Schema.Record(Schema.String, Schema.Array(HealthCheck)))
}).pipe(HttpApiSchema.asJson(HEALTH_JSON)).annotate({ identifier: "HealthReport" })
export type HealthReport = typeof HealthReport.Type

/** 503 from readiness: the same report, with a failing status. */
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", { report: HealthReport }, {
  httpApiStatus: 503
}) {
  /** On the wire, the report itself. */
  static readonly Response = HealthReport.pipe(
    Schema.decodeTo(
      Schema.toType(NotReady),
      SchemaTransformation.transform({
        decode: (report: HealthReport) => new NotReady({ report }),
        encode: ({ report }: NotReady): HealthReport => report
      })
    ),
    HttpApiSchema.asJson(HEALTH_JSON)
  ).annotate({ identifier: undefined }) // OpenAPI names the report, not the error class
}

export const LegacyHealth = Schema.Struct({ status: Schema.Literal("healthy") })
