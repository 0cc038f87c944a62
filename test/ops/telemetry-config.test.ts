/**
 * The OTEL_* settings (operations.md "Configuration"; issue #5; issue 14 item 10), the sampler and
 * the span scrubber on their own: what the scrubber removes from attributes, events and failures,
 * whoever records them.
 */
import { expect, it } from "@effect/vitest"
import { Cause, Context, Duration, Effect, Exit, Option, Redacted, Result, Tracer } from "effect"
import { describe } from "vitest"
import { loadConfig, readEnvironment } from "../../src/infra/platform/Config.js"
import type { TracesSampler } from "../../src/infra/platform/Config.js"
import { makeScrubber, REDACTED } from "../../src/infra/platform/Redaction.js"
import { samplingTracer } from "../../src/infra/platform/Sampling.js"
import { redactingTracer } from "../../src/infra/platform/SpanRedaction.js"

const SECRET = "a-valid-signing-secret-of-more-than-32-bytes"

const configOf = (variables: Record<string, string>) =>
  loadConfig(readEnvironment({ APP_ENV: "test", JWT_SECRET: SECRET, ...variables }, "/nonexistent/.env"))

describe("OTEL configuration", () => {
  it.effect("is off by default, named tasks-api, with the standard export intervals", () =>
    Effect.gen(function*() {
      const { otel } = yield* configOf({})
      expect(Option.isNone(otel.endpoint)).toBe(true)
      expect(otel.serviceName).toBe("tasks-api")
      expect(otel.headers).toEqual({})
      expect(Duration.toMillis(otel.tracesExportInterval)).toBe(5_000)
      expect(Duration.toMillis(otel.metricsExportInterval)).toBe(60_000)
      expect(Duration.toMillis(otel.logsExportInterval)).toBe(1_000)
      // The OpenTelemetry SDK's defaults.
      expect(otel.protocol).toBe("http/protobuf")
      expect(otel.disabled).toBe(false)
      expect(otel.tracesExporters).toEqual(["otlp"])
      expect(otel.metricsExporters).toEqual(["otlp"])
      expect(otel.logsExporters).toEqual(["otlp"])
      expect(otel.sampler).toBe("parentbased_always_on")
      expect(otel.samplerRatio).toBe(1)
      expect([otel.prometheusHost, otel.prometheusPort]).toEqual(["localhost", 9464])
      expect([otel.tracesExported, otel.metricsExported, otel.logsExported]).toEqual([false, false, false])
    }))

  it.effect("reads per-signal endpoints, protocol, sampler, exporters, resource attributes, disabled", () =>
    Effect.gen(function*() {
      const { otel } = yield* configOf({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example.com/v1/traces",
        OTEL_EXPORTER_OTLP_PROTOCOL: "HTTP/JSON",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
        OTEL_METRICS_EXPORTER: "prometheus",
        OTEL_EXPORTER_PROMETHEUS_HOST: "0.0.0.0",
        OTEL_EXPORTER_PROMETHEUS_PORT: "9100",
        OTEL_RESOURCE_ATTRIBUTES: "service.name=from-resource,team=a%2Cb"
      })
      expect(otel.tracesEndpoint).toEqual(Option.some("https://traces.example.com/v1/traces"))
      expect(Option.isNone(otel.endpoint)).toBe(true)
      expect(otel.protocol).toBe("http/json")
      expect([otel.sampler, otel.samplerRatio]).toEqual(["parentbased_traceidratio", 0.25])
      expect(otel.metricsExporters).toEqual(["prometheus"])
      expect([otel.prometheusHost, otel.prometheusPort]).toEqual(["0.0.0.0", 9100])
      expect(otel.resourceAttributes).toEqual({ "service.name": "from-resource", team: "a,b" })
      // OTEL_SERVICE_NAME unset: the resource's service.name.
      expect(otel.serviceName).toBe("from-resource")
      // Traces have their URL, logs none (the base endpoint is unset).
      expect([otel.tracesExported, otel.metricsExported, otel.logsExported]).toEqual([true, true, false])
      // The variables pass on to the exporters as set, redacted meanwhile.
      expect(Redacted.value(otel.environment)).toMatchObject({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio" })
      expect(String(otel.environment)).not.toContain("traces.example.com")

      const disabled = yield* configOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
        OTEL_METRICS_EXPORTER: "otlp,prometheus",
        OTEL_SDK_DISABLED: "true"
      })
      expect([disabled.otel.tracesExported, disabled.otel.metricsExported, disabled.otel.logsExported]).toEqual([
        false,
        false,
        false
      ])

      const logs = yield* configOf({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "https://logs.example.com/v1/logs" })
      expect(logs.otel.logsEndpoint).toEqual(Option.some("https://logs.example.com/v1/logs"))
      expect([logs.otel.tracesExported, logs.otel.logsExported]).toEqual([false, true])
      const noLogs = yield* configOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
        OTEL_LOGS_EXPORTER: "none"
      })
      expect([noLogs.otel.tracesExported, noLogs.otel.logsExported]).toEqual([true, false])
    }))

  it.effect("refuses what the exporters could not honour, naming each variable", () =>
    Effect.gen(function*() {
      const result = yield* Effect.result(configOf({
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_TRACES_SAMPLER: "jaeger_remote",
        OTEL_TRACES_SAMPLER_ARG: "1.5",
        OTEL_TRACES_EXPORTER: "zipkin",
        OTEL_LOGS_EXPORTER: "console",
        OTEL_BLRP_SCHEDULE_DELAY: "soon",
        OTEL_RESOURCE_ATTRIBUTES: "team=%E0%A4%A",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "metrics-without-scheme"
      }))
      expect(Result.isFailure(result)).toBe(true)
      if (Result.isSuccess(result)) return
      expect(result.failure.problems.map((p) => p.variable).sort()).toEqual([
        "OTEL_BLRP_SCHEDULE_DELAY",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_LOGS_EXPORTER",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG"
      ])
      expect(result.failure.diagnostic).not.toContain("metrics-without-scheme")
    }))

  it.effect("reads the endpoint, service name, headers (percent-decoded, redacted) and intervals", () =>
    Effect.gen(function*() {
      const { otel } = yield* configOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example.com:4318",
        OTEL_SERVICE_NAME: "tasks-api-eu",
        OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc%3D%3D, Tenant=acme",
        OTEL_BSP_SCHEDULE_DELAY: "250",
        OTEL_METRIC_EXPORT_INTERVAL: "15000"
      })
      expect(otel.endpoint).toEqual(Option.some("https://collector.example.com:4318"))
      expect(otel.serviceName).toBe("tasks-api-eu")
      expect(Object.keys(otel.headers).sort()).toEqual(["tenant", "x-api-key"])
      expect(Redacted.value(otel.headers["x-api-key"]!)).toBe("abc==")
      expect(Redacted.value(otel.headers["tenant"]!)).toBe("acme")
      // Printed or serialised by mistake, a header value still does not show.
      expect(JSON.stringify(otel.headers)).not.toContain("abc")
      expect(Duration.toMillis(otel.tracesExportInterval)).toBe(250)
      expect(Duration.toMillis(otel.metricsExportInterval)).toBe(15_000)
    }))

  it.effect("refuses malformed endpoints and headers without echoing any value", () =>
    Effect.gen(function*() {
      const headers = "x-api-key-without-a-value-s3cr3t"
      const endpoint = "collector:4318/with-s3cr3t"
      const result = yield* Effect.result(
        configOf({
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${endpoint}/logs`,
          OTEL_EXPORTER_OTLP_HEADERS: headers
        })
      )
      expect(Result.isFailure(result)).toBe(true)
      if (Result.isSuccess(result)) return
      const variables = result.failure.problems.map((p) => p.variable).sort()
      expect(variables).toEqual([
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
      ])
      expect(result.failure.diagnostic).not.toContain("s3cr3t")
    }))
})

describe("OTEL_TRACES_SAMPLER", () => {
  const native = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
  const sampledUnder = (sampler: TracesSampler, ratio: number, parent?: Tracer.AnySpan) =>
    samplingTracer(native, sampler, ratio).span({
      name: "GET /api/tasks",
      parent: Option.fromUndefinedOr(parent),
      annotations: Context.empty(),
      links: [],
      startTime: 0n,
      kind: "server",
      root: parent === undefined,
      sampled: parent?.sampled ?? true
    }).sampled
  const remote = (traceId: string, sampled: boolean) =>
    Tracer.externalSpan({ traceId, spanId: "00f067aa0ba902b7", sampled })
  // The low 56 bits decide: all zero is kept at any ratio above 0, all ones at none below 1.
  const low = remote("4bf92f3577b34da6a300000000000000", true)
  const high = remote("4bf92f3577b34da6a3ffffffffffffff", true)

  it("samples roots and follows the caller's decision as each sampler says", () => {
    expect(sampledUnder("parentbased_always_on", 1)).toBe(true)
    expect(sampledUnder("parentbased_always_on", 1, remote(low.traceId, false))).toBe(false)
    expect(sampledUnder("always_off", 1)).toBe(false)
    expect(sampledUnder("always_off", 1, low)).toBe(false)
    expect(sampledUnder("parentbased_always_off", 1)).toBe(false)
    expect(sampledUnder("parentbased_always_off", 1, low)).toBe(true)
    expect(sampledUnder("parentbased_traceidratio", 0)).toBe(false)
    expect(sampledUnder("parentbased_traceidratio", 1)).toBe(true)
    expect(sampledUnder("parentbased_traceidratio", 0, high)).toBe(true)
    expect(sampledUnder("traceidratio", 0.5, low)).toBe(true)
    expect(sampledUnder("traceidratio", 0.5, high)).toBe(false)
    expect(sampledUnder("traceidratio", 0)).toBe(false)
  })
})

describe("span scrubber", () => {
  const secret = "configured-secret-value"
  const scrub = makeScrubber([secret])
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
  const refreshToken = "A".repeat(76)

  it("redacts query-string values of URLs, credential-named keys, credential shapes and configured secrets", () => {
    expect(scrub.value("url.full", "http://h/api/tasks?access_token=abc&page=2")).toBe(
      `http://h/api/tasks?access_token=${REDACTED}&page=${REDACTED}`
    )
    expect(scrub.value("url.query", "refresh_token=abc")).toBe(`refresh_token=${REDACTED}`)
    expect(scrub.value("url.path", "/api/tasks/5f0c6a8e-3b4d-4c2a-9e7f-1a2b3c4d5e6f")).toBe(
      "/api/tasks/5f0c6a8e-3b4d-4c2a-9e7f-1a2b3c4d5e6f"
    )
    expect(scrub.value("http.request.header.x-refresh-token", "short")).toBe(REDACTED)
    expect(scrub.value("password", "hunter2")).toBe(REDACTED)
    expect(scrub.value("token_id", "5f0c6a8e")).toBe("5f0c6a8e")
    expect(scrub.text(`failed for ${jwt}!`)).toBe(`failed for ${REDACTED}!`)
    expect(scrub.text(`Bearer abc.def`)).toBe(REDACTED)
    expect(scrub.text(`token ${refreshToken}`)).toBe(`token ${REDACTED}`)
    expect(scrub.text(`using ${secret} and ${encodeURIComponent(secret)}`)).toBe(`using ${REDACTED} and ${REDACTED}`)
    expect(scrub.value("detail", { nested: { value: secret } })).not.toContain(secret)
    expect(scrub.value("count", 3)).toBe(3)
    expect(scrub.value("db.query.text", "SELECT 1 WHERE id = $1")).toBe("SELECT 1 WHERE id = $1")
  })

  it("wraps a tracer: attributes, events, links and a failure's messages reach the real span scrubbed", () => {
    const recorded: {
      attributes: Map<string, unknown>
      events: Array<[string, Record<string, unknown> | undefined]>
      exit?: Exit.Exit<unknown, unknown>
    } = { attributes: new Map(), events: [] }
    const inner = Tracer.make({
      span: ({ annotations, kind, links, name, parent, startTime }) => ({
        _tag: "Span",
        name,
        spanId: "0000000000000001",
        traceId: "00000000000000000000000000000001",
        parent,
        annotations,
        status: { _tag: "Started", startTime },
        attributes: recorded.attributes,
        links,
        sampled: true,
        kind,
        end: (_, exit) => void (recorded.exit = exit),
        attribute: (key, value) => void recorded.attributes.set(key, value),
        event: (eventName, _, attributes) => void recorded.events.push([eventName, attributes]),
        addLinks: () => {}
      })
    })
    const span = redactingTracer(inner, scrub).span({
      name: "GET /api/tasks",
      parent: Option.none(),
      annotations: Context.empty(),
      links: [],
      startTime: 0n,
      kind: "server",
      root: true,
      sampled: true
    })
    expect(span.spanId).toBe("0000000000000001")
    span.attribute("url.full", `http://h/x?token=${jwt}`)
    span.attribute("http.request.header.authorization", `Bearer ${jwt}`)
    span.event(`refresh ${refreshToken} refused`, 1n, { secret_value: secret, note: `with ${secret}` })
    span.end(2n, Exit.fail(new Error(`could not verify ${jwt} with ${secret}`)))

    const everything = JSON.stringify({
      attributes: [...recorded.attributes],
      events: recorded.events,
      failure: recorded.exit && Exit.isFailure(recorded.exit) ? Cause.pretty(recorded.exit.cause) : ""
    })
    for (const leaked of [jwt, refreshToken, secret]) expect(everything).not.toContain(leaked)
    expect(recorded.exit && Exit.isFailure(recorded.exit) ? Cause.pretty(recorded.exit.cause) : "").toContain(
      "could not verify"
    )
  })
})
