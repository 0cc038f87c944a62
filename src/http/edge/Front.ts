/**
 * The server's front: what Node's `request` event meets before the Effect app, in one synchronous
 * step and without a fiber. It
 * - answers `GET /health/live` itself: no auth, limiter, pool or access line, so a liveness probe is
 *   answered in milliseconds however busy the pipeline is (it still waits its turn on the event loop);
 * - sheds a request with `503 overloaded` and `Retry-After` when MAX_REQUESTS_IN_FLIGHT are in flight
 *   (or MAX_REQUESTS_RECEIVING, for one whose body is still arriving),
 *   and, with more connections open than MAX_REQUESTS_IN_FLIGHT, when the event loop runs more than
 *   MAX_EVENT_LOOP_DELAY late or (a share of them) while it is busier than MAX_EVENT_LOOP_UTILIZATION,
 *   before anything reads its body, its token or the database: under overload the cheapest answer is
 *   the one that does no work;
 * - counts every other request in flight until its response's `close` (see Lifecycle.ts). A request
 *   whose body is still arriving counts as receiving until the body is in: a slow sender waits on its
 *   client, not on the service, and a thousand of them (slowloris) must not take the slots of the
 *   requests the service is working on.
 * - answers `503 not_ready` while no handler is attached: effect's server listens before the router
 *   built on it attaches its handler (and takes it off at the end of a drain), and a request in
 *   that gap would otherwise wait for an answer nobody writes.
 * A shed request's body is not read: its connection closes after the answer.
 */
import { randomUUID } from "node:crypto"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { performance } from "node:perf_hooks"
import type { LifecycleShape } from "./Lifecycle.js"

export interface FrontOptions {
  /** Requests in flight whose body has arrived (or that have none). */
  readonly maxInFlight: number
  /** Requests in flight whose body is still arriving. */
  readonly maxReceiving: number
  /** 0: not watched. */
  readonly maxEventLoopDelayMs: number
  /** 0: not watched. */
  readonly maxEventLoopUtilization: number
  readonly lifecycle: LifecycleShape
  /** The origins CORS allows (CORS_ORIGINS): a shed answer must be readable by the page that asked. */
  readonly corsOrigins: ReadonlyArray<string>
  /**
   * Told of every request the front answers 503 itself (shed, or not ready), for the request
   * metrics: the access log gets `onShed`'s summary of the shed ones.
   */
  readonly onRefusedRequest: (refused: RefusedRequest) => void
  /** Told (at most once a second) how many requests were shed since it was last told, and why. */
  readonly onShed: (report: ShedReport) => void
}

export interface ShedReport {
  readonly shed: number
  readonly inFlight: number
  readonly eventLoopDelayMs: number
  readonly eventLoopUtilization: number
}

export interface RefusedRequest {
  readonly method: string
  readonly url: string
  readonly durationMs: number
}

/** How often the event loop's lateness is sampled. */
const SAMPLE_INTERVAL_MS = 100
const REPORT_INTERVAL_MS = 1000

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The request's `X-Request-Id` when it sent a sane one, else a new one. */
export const requestIdFrom = (sent: string | undefined) =>
  sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : randomUUID()

/** On every answer, the front's and the edge's (Edge.ts). */
export const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer"
} as const

/** What a 503 tells the client to wait, the front's sheds and the edge's 503s alike. */
export const RETRY_AFTER_SECONDS = "1"

/** The response headers a page may read across origins, on the front's answers and the edge's. */
export const CORS_EXPOSED_HEADERS = [
  "x-request-id",
  "retry-after",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset"
] as const

/** The CORS headers the edge's answers carry (Edge.ts, effect's `HttpMiddleware.cors`), for a shed one. */
const corsHeaders = (corsOrigins: ReadonlyArray<string>, origin: string | undefined) => {
  const allowed = corsOrigins.includes("*") ? "*" : corsOrigins.find((listed) => listed === origin)
  return {
    ...(allowed === undefined ? {} : { "Access-Control-Allow-Origin": allowed }),
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS.join(","),
    Vary: "Origin"
  }
}

/** What every answer of the front carries, as the edge's do (Edge.ts). */
const baseHeaders = (request: IncomingMessage) => {
  const sent = request.headers["x-request-id"]
  return {
    ...SECURITY_HEADERS,
    "Cache-Control": "no-store",
    "X-Request-Id": requestIdFrom(typeof sent === "string" ? sent : undefined)
  }
}

const LIVE_BODY = JSON.stringify({ status: "pass" })
const OVERLOADED_BODY = JSON.stringify({ detail: "Service temporarily unavailable", error_code: "overloaded" })
const NOT_READY_BODY = JSON.stringify({ detail: "Service not ready", error_code: "not_ready" })

const isLiveProbe = (request: IncomingMessage) =>
  request.method === "GET" && (request.url === "/health/live" || request.url?.startsWith("/health/live?") === true)

/** A body is on its way (or may be): answering without reading it must close the connection. */
export const hasBody = (headers: IncomingMessage["headers"]) =>
  headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? "0") > 0

/**
 * How much the share of requests shed moves per sample, per unit of utilisation above or below the
 * bound: a saturated loop (1 against 0.9) sheds everything within half a second, an idle one stops
 * shedding at the next sample.
 */
const SHED_GAIN = 2
/**
 * The weight of each sample in the smoothed utilisation that starts the control: a burst of
 * a few hundred ms (a cold process meeting 50 requests at once) stays under the bound, saturation
 * lasting ~0.6 s crosses it.
 */
const SMOOTHING = 0.3
/** How far under the bound the smoothed utilisation must fall for the control to stop. */
const HYSTERESIS = 0.2

/**
 * The event loop's load, sampled every SAMPLE_INTERVAL_MS:
 * - its delay: the lateness of the sampling timer, how long the loop was held by other work. A loop
 *   this late answers everything late (a blocked loop: shed everything until it catches up);
 * - its utilisation (perf_hooks): the share of the interval it was busy. A saturated loop shows no
 *   delay to speak of (each turn is short) and no pile of requests in flight (each is quick): the pile
 *   is of requests unread in the sockets' buffers, each waiting for the loop to come round to it, and
 *   grows as long as more arrive than the loop answers. Shedding a share of the new requests (cheap
 *   answers) keeps the loop's work within what it can do, so every request is read soon; the share
 *   follows the utilisation (integral control), so it settles at what the offered load needs.
 *   Sampled from `start` (the server listening): boot's busy loop is not load.
 */
const eventLoopSampler = (maxUtilization: number) => {
  let delayMs = 0
  let utilization = 0
  let shedShare = 0
  let saturated = false
  let expected = performance.now() + SAMPLE_INTERVAL_MS
  let last = performance.eventLoopUtilization()
  const start = () => {
    utilization = 0
    shedShare = 0
    saturated = false
    expected = performance.now() + SAMPLE_INTERVAL_MS
    last = performance.eventLoopUtilization()
  }
  const timer = setInterval(() => {
    const now = performance.now()
    delayMs = Math.max(0, now - expected)
    expected = now + SAMPLE_INTERVAL_MS
    const current = performance.eventLoopUtilization()
    const sampled = performance.eventLoopUtilization(current, last).utilization
    utilization += SMOOTHING * (sampled - utilization)
    last = current
    // Saturation, not a burst, starts the control: the smoothed utilisation above the bound; it ends
    // once that is well below (hysteresis, so the dips of a saturated loop do not end it). Meanwhile
    // the share follows the latest sample: fast, with no lag to oscillate on.
    if (maxUtilization > 0) {
      if (utilization > maxUtilization) saturated = true
      else if (utilization < maxUtilization - HYSTERESIS) saturated = false
      shedShare = saturated ? Math.min(1, Math.max(0, shedShare + SHED_GAIN * (sampled - maxUtilization))) : 0
    }
  }, SAMPLE_INTERVAL_MS)
  timer.unref()
  // Sheds exactly `shedShare` of the requests, spread evenly (no randomness: the same arrivals, the same answers).
  let credit = 0
  const shedNext = () => {
    credit += shedShare
    if (credit < 1) return false
    credit -= 1
    return true
  }
  return { delayMs: () => delayMs, utilization: () => utilization, shedNext, start, stop: () => clearInterval(timer) }
}

/** Puts the front before every listener of `server`'s `request` and `checkContinue` events. */
export const installFront = (server: Server, options: FrontOptions) => {
  const { lifecycle, maxEventLoopDelayMs, maxEventLoopUtilization, maxInFlight, maxReceiving } = options
  const sampler = eventLoopSampler(maxEventLoopUtilization)
  server.once("listening", sampler.start)
  // HTTP/1.1 reads one request of a connection at a time: with no more connections open than
  // MAX_REQUESTS_IN_FLIGHT, every request waiting anywhere (in flight, or unread in a socket) is
  // bounded by the in-flight bound, and a busy or late loop is only busy (32 clients in a closed loop
  // keep it near 1 and are answered in milliseconds; 128 make each turn ~250 ms long). Past it,
  // requests can pile up unread in the sockets' buffers, where no count sees them: that is what the
  // event-loop checks are for.
  let openConnections = 0
  server.on("connection", (socket: Socket) => {
    openConnections += 1
    socket.once("close", () => {
      openConnections -= 1
    })
  })
  server.once("close", sampler.stop)
  let receiving = 0
  let shedSinceReport = 0
  let lastReport = 0

  const answerLive = (request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(200, {
      ...baseHeaders(request),
      "Content-Type": "application/health+json",
      "Content-Length": Buffer.byteLength(LIVE_BODY),
      // Draining: the connection would carry requests the server is about to stop serving.
      ...(lifecycle.shuttingDownUnsafe() ? { Connection: "close" } : {})
    })
    response.end(LIVE_BODY)
  }

  /** A 503 the front writes itself, readable by the page that asked (CORS), with `Retry-After`. */
  const answerUnavailable = (request: IncomingMessage, response: ServerResponse, body: string, close: boolean) => {
    const started = performance.now()
    response.writeHead(503, {
      ...baseHeaders(request),
      ...corsHeaders(options.corsOrigins, request.headers.origin),
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
      "Retry-After": RETRY_AFTER_SECONDS,
      ...(close ? { Connection: "close" } : {})
    })
    response.end(body)
    const durationMs = performance.now() - started
    options.onRefusedRequest({ method: request.method ?? "GET", url: request.url ?? "/", durationMs })
  }

  const shed = (request: IncomingMessage, response: ServerResponse, inFlight: number, delayMs: number) => {
    answerUnavailable(request, response, OVERLOADED_BODY, hasBody(request.headers) || lifecycle.shuttingDownUnsafe())
    const now = performance.now()
    shedSinceReport += 1
    if (now - lastReport >= REPORT_INTERVAL_MS) {
      lastReport = now
      options.onShed({
        shed: shedSinceReport,
        inFlight,
        eventLoopDelayMs: Math.round(delayMs),
        eventLoopUtilization: Math.round(sampler.utilization() * 100) / 100
      })
      shedSinceReport = 0
    }
  }

  /** True when the front answered the request itself. */
  const front = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (isLiveProbe(request)) {
      answerLive(request, response)
      return true
    }
    if (server.listenerCount("request") === 0) {
      answerUnavailable(request, response, NOT_READY_BODY, true)
      return true
    }
    const inFlight = lifecycle.inFlightUnsafe()
    const delayMs = sampler.delayMs()
    // Node emits `request` once the headers are in, before any of the body is read: every request with
    // a body starts out receiving, for as long as its body takes.
    const arriving = !request.complete && hasBody(request.headers)
    if (
      inFlight - receiving >= maxInFlight || (arriving && receiving >= maxReceiving) ||
      (openConnections > maxInFlight &&
        ((maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs) || sampler.shedNext()))
    ) {
      shed(request, response, inFlight, delayMs)
      return true
    }
    // `close` comes however the response ends: written, or its connection lost.
    response.once("close", lifecycle.enterUnsafe())
    if (arriving) {
      receiving += 1
      let counted = true
      const received = () => {
        if (!counted) return
        counted = false
        receiving -= 1
      }
      request.once("end", received)
      response.once("close", received)
    }
    return false
  }

  const emit = server.emit.bind(server) as (event: string | symbol, ...args: Array<unknown>) => boolean
  server.emit = ((event: string | symbol, ...args: Array<unknown>) => {
    if (
      (event === "request" || event === "checkContinue") &&
      front(args[0] as IncomingMessage, args[1] as ServerResponse)
    ) {
      return true
    }
    return emit(event, ...args)
  }) as Server["emit"]
}
