/**
 * The standard OTEL_* variables, set as an operator sets them and nothing else (issue 14, item 10):
 * OTLP over http/protobuf to per-signal endpoints (log records too), OTEL_SDK_DISABLED, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_TRACES_SAMPLER, and the Prometheus exporter (OTEL_METRICS_EXPORTER=prometheus) on a
 * listener of its own. Against a real in-process OTLP receiver, over real HTTP.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe } from "vitest"
import { freePort } from "../../src/infra/platform/FreePort.js"
import { SERVICE_VERSION } from "../../src/infra/platform/Version.js"
import { get, signup } from "../support/http.js"
import { pause } from "../support/locks.js"
import {
  attributeOf,
  awaitExport,
  EXPORT_INTERVAL,
  type OtlpAttribute,
  OtlpReceiver,
  type OtlpReceiverShape,
  SERVER,
  spansOf,
  TracedService
} from "./telemetry-helpers.js"

class PrometheusPort extends Context.Service<PrometheusPort, number>()("test/PrometheusPort") {}

/** The traced test service, given a free port for the Prometheus listener. */
const withPrometheusPort = (service: (port: number) => ReturnType<typeof TracedService>) =>
  Layer.unwrap(
    Effect.map(Effect.promise(freePort), (port) => Layer.merge(service(port), Layer.succeed(PrometheusPort, port)))
  )

/** GET /metrics on the Prometheus listener; status 0 when nothing listens there. */
const scrape = Effect.gen(function*() {
  const port = yield* PrometheusPort
  return yield* Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/metrics`).then(
      async (response) => ({
        status: response.status,
        type: response.headers.get("content-type"),
        text: await response.text()
      }),
      () => ({ status: 0, type: null, text: "" })
    )
  )
})

/** The first body received at `path` holding `text` (protobuf keeps strings as they are). */
const bodyWith = (receiver: OtlpReceiverShape, path: string, text: string) =>
  receiver.received.find((r) => r.path === path && r.bytes.includes(Buffer.from(text)))

describe("http/protobuf to per-signal endpoints", () => {
  it.layer(TracedService((url) => ({
    // Only the signals' own URLs: the base endpoint unset (an empty value is no value).
    OTEL_EXPORTER_OTLP_ENDPOINT: "",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/collector/traces`,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${url}/collector/metrics`,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${url}/collector/logs`,
    OTEL_SERVICE_NAME: "tasks-api-protobuf",
    // The service's default level (the suites' is warn): each request has its access record.
    LOG_LEVEL: ""
  })))("protobuf", (it) => {
    it.effect("spans, metrics and log records arrive protobuf-encoded at the URLs the variables name", () =>
      Effect.gen(function*() {
        // A refresh token's shape as the request id: its records carry it, scrubbed.
        const opaqueToken = "a".repeat(40) + "B".repeat(36)
        expect((yield* get("/api/tasks", { headers: { "x-request-id": opaqueToken } })).status).toBe(401)
        const receiver = yield* OtlpReceiver
        const traces = yield* awaitExport(
          () => bodyWith(receiver, "/collector/traces", "GET /api/tasks"),
          "the server span over protobuf"
        )
        expect(traces.headers["content-type"]).toBe("application/x-protobuf")
        expect(traces.bytes.includes(Buffer.from("tasks-api-protobuf"))).toBe(true)
        const metrics = yield* awaitExport(
          () => bodyWith(receiver, "/collector/metrics", "http.server.request.duration"),
          "the duration histogram over protobuf"
        )
        expect(metrics.headers["content-type"]).toBe("application/x-protobuf")
        const logs = yield* awaitExport(
          () => bodyWith(receiver, "/collector/logs", "/api/tasks"),
          "the request's access record over protobuf"
        )
        expect(logs.headers["content-type"]).toBe("application/x-protobuf")
        expect(logs.bytes.includes(Buffer.from("tasks-api-protobuf"))).toBe(true)
        expect(logs.bytes.includes(Buffer.from("<redacted>"))).toBe(true)
        expect(receiver.received.some((r) => r.bytes.includes(Buffer.from(opaqueToken)))).toBe(false)
        // Not JSON, and nothing went to the base endpoint's paths.
        expect(() => JSON.parse(metrics.body)).toThrow()
        expect(receiver.received.filter((r) => r.path.startsWith("/v1/"))).toEqual([])
      }))
  })
})

describe("OTEL_SDK_DISABLED", () => {
  it.layer(withPrometheusPort((port) =>
    TracedService({
      OTEL_SDK_DISABLED: "true",
      // Records to send, were anything sent.
      LOG_LEVEL: "",
      OTEL_METRICS_EXPORTER: "otlp,prometheus",
      OTEL_EXPORTER_PROMETHEUS_HOST: "127.0.0.1",
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port)
    })
  ))("disabled", (it) => {
    it.effect("sends nothing (no span, metric or log record) and serves no /metrics, whatever else is set", () =>
      Effect.gen(function*() {
        yield* signup("untraced")
        expect((yield* get("/api/tasks")).status).toBe(401)
        for (let round = 0; round < 5; round++) {
          yield* TestClock.adjust(EXPORT_INTERVAL)
          yield* pause(20)
        }
        expect((yield* OtlpReceiver).received).toEqual([])
        expect((yield* scrape).status).toBe(0)
      }))
  })
})

describe("OTEL_METRICS_EXPORTER=prometheus, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES", () => {
  it.layer(withPrometheusPort((port) =>
    TracedService({
      OTEL_METRICS_EXPORTER: "prometheus",
      OTEL_EXPORTER_PROMETHEUS_HOST: "127.0.0.1",
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      OTEL_TRACES_SAMPLER: "parentbased_always_off",
      OTEL_RESOURCE_ATTRIBUTES: "service.namespace=acme,deployment.environment.name=staging"
    })
  ))("prometheus", (it) => {
    it.effect("/metrics serves the duration histogram in Prometheus' text format, on its own port only", () =>
      Effect.gen(function*() {
        // Metrics are per process, and other suites of this file count too: the request's own increment.
        const before = yield* scrape
        expect((yield* get("/api/tasks")).status).toBe(401)
        const scraped = yield* scrape
        expect(scraped.status).toBe(200)
        expect(scraped.type).toMatch(/^text\/plain; version=0\.0\.4/)
        expect(scraped.text).toContain("# TYPE http_server_request_duration_seconds histogram\n")
        const bucket = (text: string, le: string) =>
          Number(
            new RegExp(
              `^http_server_request_duration_seconds_bucket\\{[^}]*http_route="/api/tasks"[^}]*` +
                `http_response_status_code="401"[^}]*le="${le.replace(".", "\\.").replace("+", "\\+")}"\\} (\\d+)$`,
              "m"
            ).exec(text)?.[1] ?? 0
          )
        // Seconds: the request is in the 10 s bucket, and the boundaries are the conventions'.
        expect(bucket(scraped.text, "10") - bucket(before.text, "10")).toBe(1)
        expect(bucket(scraped.text, "+Inf") - bucket(before.text, "+Inf")).toBe(1)
        expect(scraped.text).toMatch(/le="0\.005"/)
        expect(scraped.text).toMatch(/le="7\.5"/)
        expect(scraped.text).not.toMatch(/unit="/)
        // The API's port has no /metrics, and no OTLP metrics are pushed (otlp is not listed).
        expect((yield* get("/metrics")).status).toBe(404)
        for (let round = 0; round < 3; round++) yield* TestClock.adjust(EXPORT_INTERVAL)
        expect((yield* OtlpReceiver).received.filter((r) => r.path === "/v1/metrics")).toEqual([])
      }))

    it.effect("parentbased_always_off: only a sampled caller's trace is exported, with the resource's attributes", () =>
      Effect.gen(function*() {
        expect((yield* get("/api/tasks")).status).toBe(401)
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        const traced = yield* get("/api/tasks", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })
        expect(traced.status).toBe(401)
        const receiver = yield* OtlpReceiver
        yield* awaitExport(
          () => spansOf(receiver).find((s) => s.traceId === traceId && s.kind === SERVER),
          "the sampled caller's server span"
        )
        const servers = spansOf(receiver).filter((s) => s.kind === SERVER && s.name === "GET /api/tasks")
        expect(servers.map((s) => s.traceId)).toEqual([traceId])
        const resource = receiver.received.filter((r) =>
          r.path === "/v1/traces"
        ).map((r) =>
          (JSON.parse(r.body) as { resourceSpans: Array<{ resource: { attributes: Array<OtlpAttribute> } }> })
            .resourceSpans[0]?.resource
        )[0]
        expect(resource).toBeDefined()
        if (resource === undefined) return
        // OTEL_RESOURCE_ATTRIBUTES over the service's defaults, which fill in the rest.
        expect(attributeOf(resource, "service.namespace")).toBe("acme")
        expect(attributeOf(resource, "deployment.environment.name")).toBe("staging")
        expect(attributeOf(resource, "service.name")).toBe("tasks-api")
        expect(attributeOf(resource, "service.version")).toBe(SERVICE_VERSION)
      }))
  })
})
