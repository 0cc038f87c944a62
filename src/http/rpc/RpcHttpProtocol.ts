/**
 * The HTTP transport of `POST /rpc` (a `RpcServer.Protocol`), in place of `effect/rpc`'s own
 * (`makeProtocolWithHttpEffect`), which hands every call of a body to the server at once: a body
 * of 3,000 calls runs 3,000 handlers together, and the answers of calls whose client does not read
 * pile up in memory, encoded, until the process runs out of it. Here, for each request:
 *
 * - the body is checked before anything runs (RpcFrames.ts): a malformed message answers 400 in
 *   the API's error shape, without running any call of the body;
 * - a body of more than RPC_MAX_CALLS_PER_REQUEST messages runs none: each call answers
 *   `RpcLimitReached` (`too_many_calls`), before authentication, so refusing it costs no lookup;
 * - at most RPC_MAX_IN_FLIGHT_PER_REQUEST calls run at once. A call keeps its place until its
 *   answer is queued for the client, and the queue holds a few answers: a client that stops
 *   reading stops the work (Node's response waits for `drain`, the queue fills, the running calls
 *   wait to queue their answers, the others wait for a place), so what one request holds in memory
 *   is bounded by a handful of answers whatever the size of its body.
 *
 * Otherwise it does what the library's does: the HTTP request's headers under each call's, the
 * answers streamed as NDJSON from the first one on (a body of a few unary calls in one piece), the
 * calls interrupted when the client goes. The successes of the procedures given writers arrive
 * already written and go into their frames as they are (RpcAnswers.ts).
 */
import { Cause, Effect, Exit, Queue, Schema, Scope, Semaphore, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { type Rpc, RpcSchema, RpcSerialization, RpcServer } from "effect/rpc"
import { constEof, type FromClientEncoded, type FromServerEncoded } from "effect/rpc/RpcMessage"
import { RpcLimitReached } from "../../domain/tasks/TasksRpc.js"
import { securityEvent } from "../../infra/platform/SecurityEvents.js"
import { errorResponse } from "../edge/Errors.js"
import { type AnyAnswerWriters, codecForWritten, makeFrameEncoder } from "./RpcAnswers.js"
import { makeFrameDecoder } from "./RpcFrames.js"

export interface RpcHttpLimits {
  /** RPC_MAX_CALLS_PER_REQUEST: messages one body may carry. */
  readonly maxCallsPerRequest: number
  /** RPC_MAX_IN_FLIGHT_PER_REQUEST: calls of one request running at once. */
  readonly maxInFlightPerRequest: number
}

/**
 * Answers queued per request beyond those of the running calls. Small: an answer may be a page of
 * 100 tasks of 10,000 characters each, a megabyte or more once encoded.
 */
const QUEUED_ANSWERS = 4

/** The refusal of every call of an oversized body, as the Exit each call's schema decodes. */
const encodeRefusal = Schema.encodeSync(Schema.toCodecJson(Schema.Exit(Schema.Never, RpcLimitReached, Schema.Defect())))

/** The request's own headers, under each call's (a call's `authorization` wins, as the client sets it). */
const requestHeadersOf = (request: HttpServerRequest.HttpServerRequest): Array<[string, string]> =>
  Object.entries(request.headers)

export const makeRpcHttpProtocol = (
  procedures: ReadonlyMap<string, Rpc.AnyWithProps>,
  limits: RpcHttpLimits,
  writers: AnyAnswerWriters
) =>
  Effect.gen(function*() {
    const serialization = yield* RpcSerialization.RpcSerialization
    const decodeFrames = makeFrameDecoder(procedures)
    /** A message with one answer at most: anything but a call of a streaming procedure. */
    const isUnary = (message: FromClientEncoded) => {
      const procedure = message._tag === "Request" ? procedures.get(message.tag) : undefined
      return procedure === undefined || !RpcSchema.isStreamSchema(procedure.successSchema)
    }
    const disconnects = yield* Queue.make<number>()
    const refusal = encodeRefusal(Exit.fail(RpcLimitReached.perRequest(limits.maxCallsPerRequest)))

    interface Client {
      readonly write: (response: FromServerEncoded) => Effect.Effect<void>
      readonly end: Effect.Effect<void>
    }
    const clients = new Map<number, Client>()
    let nextClientId = 0
    let writeRequest!: (clientId: number, message: FromClientEncoded) => Effect.Effect<void>

    /** Every call of an oversized body refused, without running any. */
    const refuseAll = (messages: ReadonlyArray<FromClientEncoded>) => {
      const parser = serialization.makeUnsafe()
      let body = ""
      for (const message of messages) {
        if (message._tag !== "Request") continue
        const line = parser.encode({ _tag: "Exit", requestId: message.id, exit: refusal })
        if (typeof line === "string") body += line
      }
      return HttpServerResponse.text(body, { contentType: serialization.contentType })
    }

    const httpEffect = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const scope = yield* Scope.Scope
      // Already read within MAX_BODY_BYTES by the error middleware (Errors.ts): this is the cached text.
      const decoded = decodeFrames(yield* Effect.orDie(request.text))
      if (decoded._tag === "Failure") {
        return errorResponse(400, { detail: decoded.failure.detail, error_code: "invalid_rpc_message" })
      }
      const messages = decoded.success
      if (messages.length > limits.maxCallsPerRequest) {
        yield* securityEvent("rpc.limit_reached", {
          rule: "calls_per_request",
          limit: limits.maxCallsPerRequest,
          messages: messages.length
        })
        return refuseAll(messages)
      }

      const id = nextClientId++
      const answers = yield* Queue.make<string, Cause.Done>({ capacity: QUEUED_ANSWERS })
      const places = yield* Semaphore.make(limits.maxInFlightPerRequest)
      // Calls holding a place, by id: each gives it back once its Exit is queued.
      const running = new Set<string>()
      const dispatched: Array<string | number> = []

      const encode = makeFrameEncoder(serialization.makeUnsafe())
      clients.set(id, {
        write: (response) => {
          const encoded = encode(response)
          const queued = encoded === undefined ? Effect.void : Effect.asVoid(Queue.offer(answers, encoded))
          return response._tag === "Exit" && running.delete(String(response.requestId))
            ? Effect.andThen(queued, places.release(1))
            : queued
        },
        end: Effect.asVoid(Queue.end(answers))
      })
      yield* Scope.addFinalizer(
        scope,
        Effect.suspend(() => {
          clients.delete(id)
          Queue.offerUnsafe(disconnects, id)
          if (answers.state._tag === "Done") return Effect.void
          return Effect.andThen(
            Queue.shutdown(answers),
            Effect.forEach(dispatched, (requestId) => writeRequest(id, { _tag: "Interrupt", requestId }), {
              discard: true
            })
          )
        })
      )

      // In the background, so answers flow (or hold the rest back) while later calls wait their turn.
      const headers = requestHeadersOf(request)
      const dispatch = Effect.forEach(messages, (message) =>
        message._tag === "Request"
          ? Effect.andThen(
            places.take(1),
            Effect.suspend(() => {
              running.add(String(message.id))
              dispatched.push(message.id)
              return writeRequest(id, { ...message, headers: headers.concat(message.headers) })
            })
          )
          : writeRequest(id, message), { discard: true }).pipe(
          Effect.andThen(Effect.suspend(() => writeRequest(id, constEof)))
        )
      yield* Effect.forkIn(dispatch, scope)

      // The response starts with the first answer (REQUEST_TIMEOUT bounds the wait for it). A body
      // of a few unary calls is answered in one piece: its answers fit in the queue, so waiting for
      // all of them holds no more than streaming would, and a text answer costs less than a stream.
      const takeAnswers = Effect.interruptible(
        Effect.catchCause(
          Queue.takeAll(answers),
          (cause) => Cause.hasFails(cause) ? Effect.succeed<Array<string>>([]) : Effect.failCause(cause)
        )
      )
      const inOnePiece = messages.length <= QUEUED_ANSWERS && messages.every(isUnary)
      const first = yield* takeAnswers
      while (inOnePiece && answers.state._tag !== "Done") first.push(...(yield* takeAnswers))
      if (answers.state._tag === "Done") {
        return HttpServerResponse.text(first.join(""), { contentType: serialization.contentType })
      }
      return HttpServerResponse.stream(
        Stream.fromIterable(first).pipe(
          Stream.concat(Stream.fromQueue(answers)),
          Stream.encodeText
        ),
        { contentType: serialization.contentType }
      )
    })

    const protocol = yield* RpcServer.Protocol.make((writeRequest_) => {
      writeRequest = writeRequest_
      return Effect.succeed({
        disconnects,
        send: (clientId, response) => clients.get(clientId)?.write(response) ?? Effect.void,
        end: (clientId) => clients.get(clientId)?.end ?? Effect.void,
        clientIds: Effect.sync(() => new Set(clients.keys())),
        initialMessage: Effect.succeedNone,
        supportsAck: false,
        supportsTransferables: false,
        supportsSpanPropagation: false,
        supportsNotifications: true,
        codecFor: codecForWritten(procedures, writers, serialization.codecFor)
      })
    })

    return { protocol, httpEffect } as const
  })
