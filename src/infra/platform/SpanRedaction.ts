/**
 * Keeps credentials out of exported spans, whoever recorded them. Spans are written by code we do
 * not own: the platform's server span records the full URL with its query string and every header
 * not listed in `Headers.CurrentRedactedNames`; Effect attaches each log line (message,
 * annotations, cause) to the current span as an event; a failed span carries its cause's messages
 * and stacks. So the exporting tracer is wrapped, and everything on its way into a span passes
 * through the scrubber of Redaction.ts.
 */
import { Cause, Exit, Tracer } from "effect"
import type { Scrubber } from "./Redaction.js"

/**
 * The exit as the span will report it: a failure keeps its errors' names, and their messages and
 * stacks scrubbed (the exporter writes them into an `exception` event).
 */
const scrubExit = (exit: Exit.Exit<unknown, unknown>, scrubber: Scrubber): Exit.Exit<unknown, unknown> => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return exit
  // With the causes in the stack, as the exporter itself renders them: then scrubbed, and kept.
  const errors = Cause.prettyErrors(exit.cause, { includeCauseInStack: true }).map((pretty) => {
    const error = new Error(scrubber.text(pretty.message))
    error.name = pretty.name
    error.stack = scrubber.text(pretty.stack ?? "")
    return Cause.fail(error)
  })
  const [first, ...rest] = errors
  return first === undefined ? exit : Exit.failCause(rest.reduce<Cause.Cause<Error>>(Cause.combine, first))
}

const scrubLinks = (links: ReadonlyArray<Tracer.SpanLink>, scrubber: Scrubber): Array<Tracer.SpanLink> =>
  links.map((link) => ({ ...link, attributes: scrubber.record(link.attributes) }))

/** A span that scrubs what is recorded on it, and otherwise is the span it wraps. */
class RedactedSpan implements Tracer.Span {
  readonly _tag = "Span"
  constructor(private readonly span: Tracer.Span, private readonly scrubber: Scrubber) {}
  get name() {
    return this.span.name
  }
  get spanId() {
    return this.span.spanId
  }
  get traceId() {
    return this.span.traceId
  }
  get parent() {
    return this.span.parent
  }
  get annotations() {
    return this.span.annotations
  }
  get status() {
    return this.span.status
  }
  get attributes() {
    return this.span.attributes
  }
  get links() {
    return this.span.links
  }
  get sampled() {
    return this.span.sampled
  }
  get kind() {
    return this.span.kind
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.span.end(endTime, scrubExit(exit, this.scrubber))
  }
  attribute(key: string, value: unknown) {
    this.span.attribute(key, this.scrubber.value(key, value))
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>) {
    this.span.event(this.scrubber.text(name), startTime, attributes && this.scrubber.record(attributes))
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.span.addLinks(scrubLinks(links, this.scrubber))
  }
}

/** `tracer`, with every span it makes scrubbed by `scrubber`. */
export const redactingTracer = (tracer: Tracer.Tracer, scrubber: Scrubber): Tracer.Tracer =>
  Tracer.make({
    span(options) {
      const span = tracer.span({
        ...options,
        name: scrubber.text(options.name),
        links: scrubLinks(options.links, scrubber)
      })
      return new RedactedSpan(span, scrubber)
    },
    context: tracer.context
  })
