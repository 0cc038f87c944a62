/**
 * Helpers of the telemetry suites (test/telemetry-*.test.ts): an in-process OTLP/HTTP receiver
 * (a node:http server keeping every POST, to /v1/traces, /v1/metrics, /v1/logs, as received), the test
 * service exporting to it, and a deterministic flush: the service runs on TestClock, so the
 * exporters send only when the test moves the clock past their interval.
 */
import { Context, Duration, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { createServer, type IncomingHttpHeaders } from "node:http"
import { pause } from "../support/locks.js"
import { TestService } from "../support/TestService.js"

export interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** The body as UTF-8 text (OTLP/JSON). */
  readonly body: string
  /** The body exactly as it arrived (OTLP/protobuf). */
  readonly bytes: Buffer
}

export interface OtlpReceiverShape {
  readonly url: string
  readonly received: ReadonlyArray<Received>
}

export class OtlpReceiver extends Context.Service<OtlpReceiver, OtlpReceiverShape>()("test/OtlpReceiver") {}

/** A collector on a free loopback port for the scope; it answers 200 `{}` to every export. */
export const otlpReceiver = Effect.acquireRelease(
  Effect.callback<{ readonly shape: OtlpReceiverShape; readonly close: () => Promise<void> }>((resume) => {
    const received: Array<Received> = []
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const bytes = Buffer.concat(chunks)
        received.push({ path: req.url ?? "", headers: req.headers, body: bytes.toString("utf8"), bytes })
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({
        shape: { url: `http://127.0.0.1:${port}`, received },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      }))
    })
  }),
  ({ close }) => Effect.promise(close)
)

/** What the exporters are configured with in these suites (OTEL_BSP_SCHEDULE_DELAY, OTEL_METRIC_EXPORT_INTERVAL). */
export const EXPORT_INTERVAL = Duration.seconds(1)

/**
 * The test service exporting to a receiver of its own, over OTLP/JSON (the suites read JSON).
 * `env` may depend on the receiver's URL; an empty value unsets a default. The receiver is
 * acquired first, so it is released last: the service's final flush at shutdown still finds it.
 */
export const TracedService = (env: Record<string, string> | ((receiverUrl: string) => Record<string, string>) = {}) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const { shape } = yield* otlpReceiver
      return TestService({
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: shape.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BSP_SCHEDULE_DELAY: String(Duration.toMillis(EXPORT_INTERVAL)),
          OTEL_METRIC_EXPORT_INTERVAL: String(Duration.toMillis(EXPORT_INTERVAL)),
          ...(typeof env === "function" ? env(shape.url) : env)
        }
      }).pipe(Layer.merge(Layer.succeed(OtlpReceiver, shape)))
    })
  )

/**
 * Moves TestClock one export interval at a time and polls (in real time, bounded) until `find`
 * answers: a span ends just after its response is written, so it may miss one export and come
 * with the next. Dies after ~5 s of real time.
 */
export const awaitExport = <A>(find: () => A | undefined, what: string) =>
  Effect.gen(function*() {
    for (let round = 0; round < 50; round++) {
      yield* TestClock.adjust(EXPORT_INTERVAL)
      for (let poll = 0; poll < 10; poll++) {
        const found = find()
        if (found !== undefined) return found
        yield* pause(10)
      }
    }
    return yield* Effect.die(new Error(`the OTLP receiver never got ${what}`))
  })

// ---------------------------------------------------------------------------------------------
// OTLP JSON, as far as the suites read it.

export interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: number
  readonly boolValue?: boolean
  readonly doubleValue?: number
}

export interface OtlpAttribute {
  readonly key: string
  readonly value: OtlpValue
}

export interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly links?: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
}

/** OTLP's SpanKind for a server span. */
export const SERVER = 2

/** OTLP's SpanKind for a client span. */
export const CLIENT = 3

export interface OtlpDataPoint {
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly asInt?: number
  readonly asDouble?: number
  readonly count?: number
  readonly explicitBounds?: ReadonlyArray<number>
  readonly bucketCounts?: ReadonlyArray<number>
}

export interface OtlpMetric {
  readonly name: string
  readonly unit?: string
  readonly sum?: { readonly dataPoints: ReadonlyArray<OtlpDataPoint> }
  readonly gauge?: { readonly dataPoints: ReadonlyArray<OtlpDataPoint> }
  readonly histogram?: { readonly dataPoints: ReadonlyArray<OtlpDataPoint> }
}

export interface OtlpLogRecord {
  readonly severityNumber: number
  readonly severityText: string
  readonly body?: OtlpValue
  readonly attributes: ReadonlyArray<OtlpAttribute>
  readonly traceId?: string
  readonly spanId?: string
}

interface TracesBody {
  readonly resourceSpans: ReadonlyArray<
    { readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }> }
  >
}

interface MetricsBody {
  readonly resourceMetrics: ReadonlyArray<
    {
      readonly resource: { readonly attributes: ReadonlyArray<OtlpAttribute> }
      readonly scopeMetrics: ReadonlyArray<{ readonly metrics: ReadonlyArray<OtlpMetric> }>
    }
  >
}

interface LogsBody {
  readonly resourceLogs: ReadonlyArray<
    {
      readonly resource: { readonly attributes: ReadonlyArray<OtlpAttribute> }
      readonly scopeLogs: ReadonlyArray<{ readonly logRecords: ReadonlyArray<OtlpLogRecord> }>
    }
  >
}

const bodiesAt = (receiver: OtlpReceiverShape, path: string) =>
  receiver.received.filter((r) => r.path === path).map((r) => r.body)

/** Every span received so far. */
export const spansOf = (receiver: OtlpReceiverShape): Array<OtlpSpan> =>
  bodiesAt(receiver, "/v1/traces").flatMap((body) =>
    (JSON.parse(body) as TracesBody).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
  )

/** The metrics of the latest export (each export is a cumulative snapshot). */
export const latestMetricsOf = (receiver: OtlpReceiverShape): Array<OtlpMetric> => {
  const latest = bodiesAt(receiver, "/v1/metrics").at(-1)
  if (latest === undefined) return []
  return (JSON.parse(latest) as MetricsBody).resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
}

/** The resource of the latest metrics export. */
export const latestMetricsResourceOf = (receiver: OtlpReceiverShape) => {
  const latest = bodiesAt(receiver, "/v1/metrics").at(-1)
  return latest === undefined ? undefined : (JSON.parse(latest) as MetricsBody).resourceMetrics[0]?.resource
}

/** Every log record received so far (OTLP/JSON), each with the resource it came with. */
export const logRecordsOf = (
  receiver: OtlpReceiverShape
): Array<OtlpLogRecord & { readonly resource: { readonly attributes: ReadonlyArray<OtlpAttribute> } }> =>
  bodiesAt(receiver, "/v1/logs").flatMap((body) =>
    (JSON.parse(body) as LogsBody).resourceLogs.flatMap((r) =>
      r.scopeLogs.flatMap((s) => s.logRecords.map((record) => ({ ...record, resource: r.resource })))
    )
  )

export const attributeOf = (item: { readonly attributes: ReadonlyArray<OtlpAttribute> }, key: string) => {
  const value = item.attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? value?.intValue ?? value?.boolValue ?? value?.doubleValue
}

/**
 * A SQL statement's span. Effect 4 names it after the database (OpenTelemetry's database span
 * convention: `db.namespace`, where Effect 3 said `sql.execute`): it is the client span of the
 * PostgreSQL client (`sql.transaction` spans carry the same attributes, but are internal).
 */
export const isSqlStatement = (span: OtlpSpan) =>
  span.kind === CLIENT && attributeOf(span, "db.system.name") === "postgresql"

/** The spans above `span`, nearest first, as far as they were received. */
export const ancestorsOf = (span: OtlpSpan, spans: ReadonlyArray<OtlpSpan>): Array<OtlpSpan> => {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const chain: Array<OtlpSpan> = []
  let parent = span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId)
  while (parent !== undefined && !chain.includes(parent)) {
    chain.push(parent)
    parent = parent.parentSpanId === undefined ? undefined : byId.get(parent.parentSpanId)
  }
  return chain
}

/** The spans below `root` in its trace. */
export const descendantsOf = (root: OtlpSpan, spans: ReadonlyArray<OtlpSpan>): Array<OtlpSpan> =>
  spans.filter((s) => s.traceId === root.traceId && ancestorsOf(s, spans).includes(root))

/** Data points of `name` in `metrics` (counters, gauges and histograms alike). */
export const dataPointsOf = (metrics: ReadonlyArray<OtlpMetric>, name: string): Array<OtlpDataPoint> =>
  metrics.filter((m) => m.name === name).flatMap((
    m
  ) => [...(m.sum?.dataPoints ?? []), ...(m.gauge?.dataPoints ?? []), ...(m.histogram?.dataPoints ?? [])])
