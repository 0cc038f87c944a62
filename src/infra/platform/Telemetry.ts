/**
 * OpenTelemetry for the whole service: spans, metrics and log records exported over OTLP/HTTP,
 * and metrics served for Prometheus to scrape, as the standard OTEL_* variables say.
 * effect/observability's exporters read those variables themselves (endpoints per signal,
 * headers, intervals, timeouts, compression, OTEL_SDK_DISABLED, OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES); this layer adds what they lack: OTEL_EXPORTER_OTLP_PROTOCOL,
 * OTEL_TRACES_SAMPLER, the Prometheus exporter, and the scrubber on spans and log records.
 *
 * Provided beneath every other layer (it sets the tracer, the loggers and
 * `Headers.CurrentRedactedNames`, which layers built on it see), so the boot, the migrations and
 * every request fiber trace and log through it.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer, Redacted, References, Tracer } from "effect"
import {
  FetchHttpClient,
  Headers,
  HttpMiddleware,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
import {
  OtlpLogger,
  OtlpMetrics,
  type OtlpResource,
  OtlpSerialization,
  OtlpTracer,
  PrometheusMetrics
} from "effect/observability"
import { createServer } from "node:http"
import { AppConfig, type AppConfigShape } from "./Config.js"
import { scrubLogs } from "./LogRedaction.js"
import { INTEGER_ATTRIBUTES, prometheusNameOf } from "./Metrics.js"
import { scrubberOf } from "./Redaction.js"
import { samplingTracer } from "./Sampling.js"
import { redactingTracer } from "./SpanRedaction.js"
import { SERVICE_VERSION } from "./Version.js"

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
 * The variables the exporters read: the OTEL_* ones as set (checked in Config.ts), with this
 * service's defaults where they are unset. The deployment environment comes first among the
 * resource attributes, so OTEL_RESOURCE_ATTRIBUTES may override it (the last entry wins).
 */
const exporterVariables = (config: AppConfigShape): Record<string, string> => {
  const { otel } = config
  const set = Redacted.value(otel.environment)
  const resource = `deployment.environment.name=${encodeURIComponent(config.env)}`
  return {
    ...set,
    OTEL_SERVICE_NAME: otel.serviceName,
    ...(set.OTEL_SERVICE_VERSION === undefined && otel.resourceAttributes["service.version"] === undefined
      ? { OTEL_SERVICE_VERSION: SERVICE_VERSION }
      : {}),
    OTEL_RESOURCE_ATTRIBUTES: set.OTEL_RESOURCE_ATTRIBUTES === undefined
      ? resource
      : `${resource},${set.OTEL_RESOURCE_ATTRIBUTES}`,
    // The specification's default, where effect/observability exports nothing without them.
    OTEL_TRACES_EXPORTER: otel.tracesExporters.join(","),
    OTEL_METRICS_EXPORTER: otel.metricsExporters.join(","),
    OTEL_LOGS_EXPORTER: otel.logsExporters.join(",")
  }
}

/**
 * A data point's attributes as OpenTelemetry types them: the unit is the metric's (Effect carries
 * it as an attribute), and a status code an integer (Effect's attributes are strings).
 */
const conformPoint = <P extends { readonly attributes?: Array<OtlpResource.KeyValue> | undefined }>(point: P): P => ({
  ...point,
  attributes: point.attributes?.flatMap((attribute) =>
    attribute.key === "unit" || attribute.key === "time_unit"
      ? []
      : INTEGER_ATTRIBUTES.has(attribute.key) && attribute.value.stringValue !== undefined
      ? [{ key: attribute.key, value: { intValue: Number(attribute.value.stringValue) } }]
      : [attribute]
  )
})

const conformMetrics = (data: OtlpMetrics.MetricsData): OtlpMetrics.MetricsData => ({
  resourceMetrics: data.resourceMetrics.map((resource) => ({
    ...resource,
    scopeMetrics: resource.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map((metric) => ({
        ...metric,
        ...(metric.sum && { sum: { ...metric.sum, dataPoints: metric.sum.dataPoints.map(conformPoint) } }),
        ...(metric.gauge && { gauge: { ...metric.gauge, dataPoints: metric.gauge.dataPoints.map(conformPoint) } }),
        ...(metric.histogram &&
          { histogram: { ...metric.histogram, dataPoints: metric.histogram.dataPoints.map(conformPoint) } })
      }))
    }))
  }))
})

/**
 * OTEL_EXPORTER_OTLP_PROTOCOL's serialization, metrics conformed and log records scrubbed on the
 * way: no record is sent without passing through the scrubber.
 */
const serializationOf = (config: AppConfigShape) =>
  Layer.effect(
    OtlpSerialization.OtlpSerialization,
    Effect.map(OtlpSerialization.OtlpSerialization, (inner) => {
      const scrub = scrubLogs(scrubberOf(config))
      return {
        ...inner,
        metrics: (data: OtlpMetrics.MetricsData) => inner.metrics(conformMetrics(data)),
        logs: (data: OtlpLogger.LogsData) => inner.logs(scrub(data))
      }
    })
  ).pipe(
    Layer.provide(config.otel.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf)
  )

/** The OTLP tracer, its spans sampled, then scrubbed. */
const tracesLive = (config: AppConfigShape) =>
  Layer.effect(
    Tracer.Tracer,
    Effect.map(
      Effect.tracer,
      (tracer) =>
        redactingTracer(samplingTracer(tracer, config.otel.sampler, config.otel.samplerRatio), scrubberOf(config))
    )
  ).pipe(Layer.provide(OtlpTracer.layerFromConfig()))

/**
 * `GET /metrics` in Prometheus' text format on a listener of its own (OTEL_EXPORTER_PROMETHEUS_HOST
 * and _PORT, `localhost:9464` by default as in the OpenTelemetry SDK): scrapes pass no rate limit,
 * authentication or access log, and the API's port does not publish the service's internals.
 */
const prometheusLive = ({ otel }: AppConfigShape) => {
  // Its own handler, not `PrometheusMetrics.layerHttp`: that adds the route to the shared
  // `HttpRouter` layer, the API's router too.
  const handler = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "GET" || request.url.split("?")[0] !== "/metrics") {
      return HttpServerResponse.empty({ status: 404 })
    }
    const text = yield* PrometheusMetrics.format({ metricNameMapper: prometheusNameOf })
    return HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
  })
  return HttpServer.serve(handler).pipe(
    // Scrapes are not traced.
    Layer.provide(Layer.succeed(HttpMiddleware.TracerDisabledWhen, () => true)),
    Layer.provide(NodeHttpServer.layer(createServer, { host: otel.prometheusHost, port: otel.prometheusPort })),
    Layer.merge(Layer.effectDiscard(
      Effect.logInfo("metrics served for Prometheus").pipe(
        Effect.annotateLogs({ url: `http://${otel.prometheusHost}:${otel.prometheusPort}/metrics` })
      )
    ))
  )
}

const exportersLive = (config: AppConfigShape) => {
  const { otel } = config
  return Layer.mergeAll(
    otel.tracesExported ? tracesLive(config) : Layer.empty,
    // Off unless OTEL_METRICS_EXPORTER has otlp and a metrics URL is set (it reads them itself).
    Layer.empty.pipe(Layer.provide(OtlpMetrics.layerFromConfig())),
    // Beside the loggers already in place (stdout, span events): it reads OTEL_BLRP_* itself.
    otel.logsExported ? OtlpLogger.layerFromConfig({ mergeWithExisting: true }) : Layer.empty,
    otel.metricsServed ? prometheusLive(config) : Layer.empty
  ).pipe(
    Layer.provide(serializationOf(config)),
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(exporterVariables(config))))
  )
}

/**
 * BENCH_GUARDS_OFF=spans: the tracer disabled for everything built on this layer. Effect then makes
 * no-op spans (nothing recorded, timed or exported) and the server's tracer middleware no server span.
 */
const TracerOffLive = Layer.succeed(References.TracerEnabled, false)

/** Header redaction always; the exporters as configured. */
export const TelemetryLive: Layer.Layer<never, HttpServerError.ServeError, AppConfig> = Layer.unwrap(
  Effect.map(
    AppConfig,
    (config) => {
      const base = config.benchGuardsOff.has("spans")
        ? Layer.merge(RedactHeadersLive, TracerOffLive)
        : RedactHeadersLive
      return config.otel.tracesExported || config.otel.metricsExported || config.otel.logsExported
        // In sequence: the exporters' layer is built with the redaction already in place.
        ? exportersLive(config).pipe(Layer.provideMerge(base))
        : base
    }
  )
)
