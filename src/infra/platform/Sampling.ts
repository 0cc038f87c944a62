/**
 * OTEL_TRACES_SAMPLER for Effect's tracer, which has no sampler of its own: a span is created
 * sampled or not, and an unsampled one is never exported (nor are its children, Effect decides).
 * The OpenTelemetry SDK's samplers, as far as they need no remote service.
 */
import { Option, Tracer } from "effect"
import type { TracesSampler } from "./config/Settings.js"

/**
 * Whether a trace is kept at `ratio`, from its id's low 56 bits (as W3C trace-context level 2
 * randomness), so every service sampling the same trace by ratio decides alike.
 */
const keptByTraceId = (traceId: string, ratio: number) => Number.parseInt(traceId.slice(-14), 16) < ratio * 2 ** 56

/**
 * A root span's id is drawn by the tracer only once the span is made, so a root is kept at
 * random at `ratio`: the same odds, and its descendants follow it (they share its decision).
 */
const byRatio = (parent: Tracer.AnySpan | undefined, ratio: number) =>
  parent === undefined
    ? Math.random() < ratio
    : parent._tag === "Span"
    ? parent.sampled
    : keptByTraceId(parent.traceId, ratio)

const decide = (
  sampler: TracesSampler,
  ratio: number,
  parent: Tracer.AnySpan | undefined
): boolean => {
  if (sampler.startsWith("parentbased_") && parent !== undefined) return parent.sampled
  switch (sampler) {
    case "always_off":
    case "parentbased_always_off":
      return false
    case "traceidratio":
    case "parentbased_traceidratio":
      return byRatio(parent, ratio)
    default:
      return true
  }
}

/**
 * `tracer`, its spans sampled by `sampler`. A span Effect already made unsampled (an unsampled
 * parent, `sampled: false`, below the minimum trace level) stays so.
 */
export const samplingTracer = (tracer: Tracer.Tracer, sampler: TracesSampler, ratio: number): Tracer.Tracer =>
  sampler === "parentbased_always_on" || sampler === "always_on"
    ? tracer
    : Tracer.make({
      span: (options) =>
        tracer.span({
          ...options,
          sampled: options.sampled && decide(sampler, ratio, Option.getOrUndefined(options.parent))
        }),
      context: tracer.context
    })
