/**
 * Keeps credentials out of exported spans, whoever recorded them. Spans are written by code we do
 * not own: the platform's server span records the full URL with its query string and every header
 * not listed in `Headers.currentRedactedNames`; Effect attaches each log line (message,
 * annotations, cause) to the current span as an event; a failed span carries its cause's messages
 * and stacks. So the exporting tracer is wrapped, and everything on its way into a span passes
 * through a scrubber: known secret values, credential-shaped strings, credential-named keys and
 * query-string values are replaced.
 */
import { Cause, Exit, Inspectable, Tracer } from "effect"

export const REDACTED = "<redacted>"

/** Keys whose value is a credential whatever it looks like (`password`, `refresh_token`, `…header.cookie`). */
const SENSITIVE_KEY = /(^|[._-])(password|passwd|secret|token|authorization|cookie|api[-_]?key)$/i

/** Keys holding a URL or a query string: the query's values may carry tokens (`?access_token=…`). */
const URL_KEYS = new Set(["url.full", "url.original", "http.url", "http.target"])
const QUERY_KEYS = new Set(["url.query"])

/** Credentials recognisable by their shape alone. */
const CREDENTIAL_SHAPES: ReadonlyArray<RegExp> = [
  // JWS / JWT: the protected header is base64url JSON, so it starts with `eyJ` (`{"`).
  /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  // Opaque tokens and API keys: refresh tokens are 76 base64url characters. Nothing we trace
  // (ids, SQL, paths, stacks) has a run this long without a separator.
  /[A-Za-z0-9_-]{64,}/g
]

/** Shorter values would be replaced wherever they happen to occur, for no protection. */
const MIN_SECRET_LENGTH = 8

export interface Scrubber {
  readonly text: (text: string) => string
  readonly value: (key: string, value: unknown) => unknown
  readonly record: (attributes: Readonly<Record<string, unknown>>) => Record<string, unknown>
}

const redactQuery = (query: string) =>
  query.split("&").map((part) => {
    const at = part.indexOf("=")
    return at < 0 ? part : `${part.slice(0, at)}=${REDACTED}`
  }).join("&")

const redactUrlQuery = (url: string) => {
  const at = url.indexOf("?")
  return at < 0 ? url : `${url.slice(0, at)}?${redactQuery(url.slice(at + 1))}`
}

/** A scrubber that also removes each of `secrets` (configuration values) wherever it appears. */
export const makeScrubber = (secrets: ReadonlyArray<string>): Scrubber => {
  const known = [...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]))]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    // Longest first: a secret containing another is removed whole.
    .sort((a, b) => b.length - a.length)

  const text = (input: string) => {
    let out = input
    for (const secret of known) out = out.replaceAll(secret, REDACTED)
    for (const shape of CREDENTIAL_SHAPES) out = out.replace(shape, REDACTED)
    return out
  }

  const scrubUnknown = (value: unknown): unknown => {
    if (typeof value === "string") return text(value)
    if (Array.isArray(value)) return value.map(scrubUnknown)
    if (value === null || typeof value !== "object") return value
    // Objects are exported as their text anyway: scrub that text, so nothing nested slips through.
    return text(Inspectable.toStringUnknown(value))
  }

  const value = (key: string, input: unknown): unknown => {
    if (SENSITIVE_KEY.test(key)) return REDACTED
    if (typeof input === "string" && URL_KEYS.has(key)) return text(redactUrlQuery(input))
    if (typeof input === "string" && QUERY_KEYS.has(key)) return text(redactQuery(input))
    return scrubUnknown(input)
  }

  const record = (attributes: Readonly<Record<string, unknown>>) => {
    const out: Record<string, unknown> = {}
    for (const [key, v] of Object.entries(attributes)) out[key] = value(key, v)
    return out
  }

  return { text, value, record }
}

/**
 * The exit as the span will report it: a failure keeps its errors' names, and their messages and
 * stacks scrubbed (the exporter writes them into an `exception` event).
 */
const scrubExit = (exit: Exit.Exit<unknown, unknown>, scrubber: Scrubber): Exit.Exit<unknown, unknown> => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return exit
  const errors = Cause.prettyErrors(exit.cause).map((pretty) => {
    const error = new Error(scrubber.text(pretty.message))
    error.name = pretty.name
    error.stack = scrubber.text(pretty.stack ?? "")
    return Cause.fail(error)
  })
  const [first, ...rest] = errors
  return first === undefined ? exit : Exit.failCause(rest.reduce<Cause.Cause<Error>>(Cause.parallel, first))
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
  get context() {
    return this.span.context
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
    span(name, parent, context, links, startTime, kind, options) {
      const span = tracer.span(scrubber.text(name), parent, context, scrubLinks(links, scrubber), startTime, kind, options)
      return new RedactedSpan(span, scrubber)
    },
    context: (f, fiber) => tracer.context(f, fiber)
  })
