/**
 * OpenTelemetry for the whole service: spans and metrics exported over OTLP/HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, nothing exported while it is unset. Provided beneath every other
 * layer (it sets the tracer and a FiberRef, which layers built after it inherit), so the boot,
 * the migrations and every request fiber trace through it.
 */
import { OtlpMetrics, OtlpSerialization, OtlpTracer } from "@effect/opentelemetry"
import { FetchHttpClient, Headers } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { AppConfig, type AppConfigShape } from "./Config.js"
import { makeScrubber, secretsOf } from "./Redaction.js"
import { redactingTracer } from "./SpanRedaction.js"

/**
 * Request and response headers the server span must not copy, beyond the platform's
 * (authorization, cookie, set-cookie, x-api-key): anything named like a credential.
 */
const CREDENTIAL_HEADERS: ReadonlyArray<string | RegExp> = [
  "proxy-authorization",
  /token/i,
  /secret/i,
  /password/i,
  /api-?key/i,
  /session/i,
  /csrf/i
]

/** Extends the header names redacted from spans for every fiber started after this layer is built. */
const RedactHeadersLive = Layer.scopedDiscard(
  Effect.locallyScopedWith(Headers.currentRedactedNames, (names) => [...names, ...CREDENTIAL_HEADERS])
)

const exportersLive = (config: AppConfigShape, endpoint: string) => {
  const base = endpoint.replace(/\/+$/, "")
  const resource = {
    serviceName: config.otel.serviceName,
    attributes: { "deployment.environment.name": config.env }
  }
  const headers = Object.fromEntries(Object.entries(config.otel.headers).map(([name, value]) => [name, Redacted.value(value)]))
  const tracer = Layer.unwrapScoped(
    Effect.map(
      OtlpTracer.make({
        url: `${base}/v1/traces`,
        resource,
        headers,
        exportInterval: config.otel.tracesExportInterval
      }),
      (tracer) => Layer.setTracer(redactingTracer(tracer, makeScrubber(secretsOf(config))))
    )
  )
  const metrics = OtlpMetrics.layer({
    url: `${base}/v1/metrics`,
    resource,
    headers,
    exportInterval: config.otel.metricsExportInterval
  })
  return Layer.mergeAll(tracer, metrics).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )
}

/** Header redaction always; the OTLP exporters when an endpoint is configured. */
export const TelemetryLive: Layer.Layer<never, never, AppConfig> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Option.match(config.otel.endpoint, {
      onNone: () => RedactHeadersLive,
      // In sequence: the exporters' layer is built with the redaction already in place.
      onSome: (endpoint) => exportersLive(config, endpoint).pipe(Layer.provideMerge(RedactHeadersLive))
    }))
)
