/**
 * The messages of a `POST /rpc` body (NDJSON: one JSON message a line), checked before anything
 * runs. `effect/rpc` trusts its peer: a missing `headers` or a header pair of numbers throws inside
 * it and is answered as a defect that carries the JavaScript error ("….for is not iterable"), an
 * unknown procedure as a defect naming it, a payload of the wrong shape as a defect with the
 * schema's message. Here a body is taken whole or refused whole: every line must be one of the
 * messages the shipped client sends, with a sane id, a known procedure, `[name, value]` header
 * pairs and a payload its procedure's schema accepts; the first that is not names the line and the
 * field in our own words, never the input or an internal message.
 */
import { Exit, Option, Result, Schema, type SchemaIssue } from "effect"
import type { Rpc } from "effect/rpc"
import type { FromClientEncoded } from "effect/rpc/RpcMessage"

/** How many digits a string id may have (the client's ids are counters; 20 covers any int64). */
const MAX_ID_DIGITS = 20
/** Header pairs one message may add to the request's own. */
const MAX_HEADERS = 64

/** A request id as clients send it: a counter, as a number or as its decimal digits. */
const RequestIdFrame = Schema.Union([
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(Number.MAX_SAFE_INTEGER)),
  Schema.String.check(Schema.isPattern(new RegExp(`^[0-9]{1,${MAX_ID_DIGITS}}$`)))
])

const HeaderPairs = Schema.Array(Schema.mutable(Schema.Tuple([Schema.String, Schema.String]))).check(
  Schema.isMaxLength(MAX_HEADERS)
)

/** The messages a client may send over HTTP, by `_tag`; unknown fields are dropped. */
const requestFrame = (tags: ReadonlyArray<string>) =>
  Schema.Struct({
    _tag: Schema.Literal("Request"),
    id: RequestIdFrame,
    tag: Schema.Literals(tags),
    payload: Schema.Unknown,
    headers: HeaderPairs,
    traceId: Schema.optional(Schema.String),
    spanId: Schema.optional(Schema.String),
    sampled: Schema.optional(Schema.Boolean),
    discard: Schema.optional(Schema.Literal(true))
  })
const AckFrame = Schema.Struct({ _tag: Schema.Literal("Ack"), requestId: RequestIdFrame })
const InterruptFrame = Schema.Struct({ _tag: Schema.Literal("Interrupt"), requestId: RequestIdFrame })
const PingFrame = Schema.Struct({ _tag: Schema.Literal("Ping") })

/** What each field must be, in the refusal's words (keyed by the field whose check failed). */
const FIELD_RULES: Record<string, string> = {
  _tag: "not an RPC message",
  id: `id must be a non-negative integer, or its decimal digits (at most ${MAX_ID_DIGITS})`,
  requestId: `requestId must be a non-negative integer, or its decimal digits (at most ${MAX_ID_DIGITS})`,
  tag: "unknown procedure",
  headers: `headers must be an array of at most ${MAX_HEADERS} [name, value] string pairs`,
  traceId: "traceId must be a string",
  spanId: "spanId must be a string",
  sampled: "sampled must be a boolean",
  discard: "discard must be true when present"
}

/** The field an issue is about: the first key on its path. */
const fieldOf = (issue: SchemaIssue.Issue): PropertyKey | undefined => {
  switch (issue._tag) {
    case "Pointer":
      return issue.path[0]
    case "Composite":
      return issue.issues.length > 0 ? fieldOf(issue.issues[0]) : undefined
    case "Filter":
    case "Encoding":
      return fieldOf(issue.issue)
    default:
      return undefined
  }
}

/** A body refused: which line, and what is wrong with it. */
export interface MalformedBody {
  readonly detail: string
}

export type FramesResult = Result.Result<ReadonlyArray<FromClientEncoded>, MalformedBody>

/**
 * The decoder of request bodies for a group's procedures (its `requests`): the body's messages, in
 * order, or why it is refused. Blank lines are skipped, and a client's `Eof` (the protocol ends
 * each request's input itself).
 */
export const makeFrameDecoder = (procedures: ReadonlyMap<string, Rpc.AnyWithProps>) => {
  const rpcs = [...procedures.values()]
  const RequestFrame = requestFrame(rpcs.map((rpc) => rpc._tag))
  const decodeRequest = Schema.decodeUnknownResult(RequestFrame)
  const decodeControl = Schema.decodeUnknownOption(Schema.Union([AckFrame, InterruptFrame, PingFrame]))
  /** An Ack, Interrupt or Ping. */
  const controlFrame = (tag: unknown, message: unknown): Option.Option<FromClientEncoded> =>
    tag === "Ack" || tag === "Interrupt" || tag === "Ping" ? decodeControl(message) : Option.none()
  // Each procedure's payload as the server decodes it (the JSON codec of its payload schema).
  const decodePayload = new Map(
    rpcs.map((rpc) => [rpc._tag, Schema.decodeUnknownEffect(Schema.toCodecJson(rpc.payloadSchema))] as const)
  )
  /** A payload its procedure refuses. Decoders run eagerly: one that needs no service is an Exit already. */
  const payloadRefused = (tag: string, payload: unknown) => {
    const decode = decodePayload.get(tag)
    if (decode === undefined) return true
    const decoded = decode(payload)
    return Exit.isExit(decoded) && Exit.isFailure(decoded)
  }

  const refuse = (line: number, what: string): FramesResult => Result.fail({ detail: `line ${line}: ${what}` })

  /** Why a request that did not decode was refused. */
  const ruleBroken = (issue: SchemaIssue.Issue): string => {
    const field = fieldOf(issue)
    return (typeof field === "string" ? FIELD_RULES[field] : undefined) ?? FIELD_RULES._tag
  }

  return (body: string): FramesResult => {
    const messages: Array<FromClientEncoded> = []
    const ids = new Set<string>()
    const lines = body.split("\n")
    for (let index = 0; index < lines.length; index++) {
      const text = lines[index].endsWith("\r") ? lines[index].slice(0, -1) : lines[index]
      if (text.trim() === "") continue
      const line = index + 1
      let message: unknown
      try {
        message = JSON.parse(text)
      } catch {
        return refuse(line, "not JSON")
      }
      const tag = typeof message === "object" && message !== null && "_tag" in message ? message._tag : undefined
      if (tag === "Eof") continue
      if (tag === "Request") {
        const request = decodeRequest(message)
        if (Result.isFailure(request)) return refuse(line, ruleBroken(request.failure.issue))
        const id = String(request.success.id)
        if (ids.has(id)) return refuse(line, "id repeats an earlier call's")
        ids.add(id)
        if (payloadRefused(request.success.tag, request.success.payload)) {
          return refuse(line, `payload does not fit ${request.success.tag}`)
        }
        messages.push(request.success)
        continue
      }
      const frame = controlFrame(tag, message)
      if (Option.isNone(frame)) {
        return refuse(line, tag === "Ack" || tag === "Interrupt" ? FIELD_RULES.requestId : FIELD_RULES._tag)
      }
      messages.push(frame.value)
    }
    return Result.succeed(messages)
  }
}
