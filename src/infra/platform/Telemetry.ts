/**
 * OpenTelemetry for the whole service: spans and metrics exported over OTLP/HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, nothing exported while it is unset. Provided beneath every other
 * layer (it sets the tracer and `Headers.CurrentRedactedNames`, which layers built on it see), so
 * the boot, the migrations and every request fiber trace through it.
 */
import { ConfigProvider, Effect, Layer, Option, Redacted, Tracer } from "effect"
import { FetchHttpClient, Headers, HttpMiddleware } from "effect/http"
import { OtlpExporter, OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"
import { AppConfig, type AppConfigShape } from "./Config.js"
import { scrubberOf } from "./Redaction.js"
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

/**
 * Extends the header names redacted from spans for everything built on this layer, and has the
 * server span record every request and response header (Effect 4 records none by default; a
 * redacted one shows as `<redacted>`, so a credential's presence stays visible, never its value).
 */
const RedactHeadersLive = Layer.mergeAll(
  Layer.effect(
    Headers.CurrentRedactedNames,
    Effect.map(Headers.CurrentRedactedNames, (names) => [...names, ...CREDENTIAL_HEADERS])
  ),
  Layer.succeed(HttpMiddleware.TracerHeaderFilter, () => true)
)

/**
 * Every setting is read once, in Config.ts. The exporters' resource would otherwise also read
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_VERSION from the process environment, unvalidated.
 */
const withoutAmbientConfig = Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown({}))

const exportersLive = (config: AppConfigShape, endpoint: string) => {
  const base = endpoint.replace(/\/+$/, "")
  const resource = {
    serviceName: config.otel.serviceName,
    attributes: { "deployment.environment.name": config.env }
  }
  const headers = Object.fromEntries(
    Object.entries(config.otel.headers).map(([name, value]) => [name, Redacted.value(value)])
  )
  const tracer = Layer.effect(
    Tracer.Tracer,
    OtlpTracer.make({
      url: `${base}/v1/traces`,
      resource,
      headers,
      exportInterval: config.otel.tracesExportInterval
    }).pipe(
      withoutAmbientConfig,
      Effect.map((tracer) => redactingTracer(tracer, scrubberOf(config)))
    )
  )
  const metrics = Layer.effectDiscard(
    OtlpMetrics.make({
      url: `${base}/v1/metrics`,
      resource,
      headers,
      exportInterval: config.otel.metricsExportInterval
    }).pipe(withoutAmbientConfig)
  )
  return Layer.mergeAll(tracer, metrics).pipe(
    // One flusher for both exporters (each also flushes when its scope closes).
    Layer.provide(OtlpExporter.layerFlusher),
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(FetchHttpClient.layer)
  )
}

/** Header redaction always; the OTLP exporters when an endpoint is configured. */
export const TelemetryLive: Layer.Layer<never, never, AppConfig> = Layer.unwrap(
  Effect.map(AppConfig, (config) =>
    Option.match(config.otel.endpoint, {
      onNone: () => RedactHeadersLive,
      // In sequence: the exporters' layer is built with the redaction already in place.
      onSome: (endpoint) => exportersLive(config, endpoint).pipe(Layer.provideMerge(RedactHeadersLive))
    }))
)
