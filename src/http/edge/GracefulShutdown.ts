/**
 * Graceful shutdown (operations.md, "Shutdown and faults"). On SIGTERM / SIGINT the runtime
 * interrupts the main fiber and the layers close in reverse order of construction. The drain layer
 * is built after the HTTP layers, so its finalizer runs first, while the handler, the pool and the
 * database are all still up:
 *   1. readiness turns 503 and every response from now on closes its connection;
 *   2. after IDLE_LINGER, the listening socket closes (new connections are refused) and idle
 *      keep-alive ones are closed;
 *   3. in-flight requests finish and their connections end, for up to SHUTDOWN_GRACE;
 *   4. whatever is left is cut off (its fiber interrupted, which cancels its SQL).
 * Then the HTTP layers, the pool and an embedded database close, and the process exits 0.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Deferred, Duration, Effect, Exit, Layer, Option } from "effect"
import { createServer, type Server, type ServerOptions } from "node:http"
import { AppConfig, type AppConfigShape } from "../../infra/platform/Config.js"
import { installFront } from "./Front.js"
import { Lifecycle } from "./Lifecycle.js"
import { requestRecorder } from "./RequestMetrics.js"
import { routeOf } from "./Routes.js"

/** Node's `http.Server` under the HttpServer layer: the drain closes it itself. */
export class NodeServer extends Context.Service<NodeServer, Server>()("tasks-api/NodeServer") {}

/**
 * How long idle keep-alive connections stay open after the signal. A request a client sent just
 * before it may still sit unread in the socket's buffer, and Node counts that connection idle:
 * closing it at once resets the request unprocessed. One turn of the event loop reads it (and Node
 * then counts it busy); the linger gives a loaded loop a few. A request it brings in is served, and
 * its response closes the connection.
 */
const IDLE_LINGER = Duration.millis(250)

/** How long cut-off requests get to unwind (cancel their SQL, roll back) after the grace. */
const CUT_OFF_UNWIND = Duration.seconds(2)

/** The longest a client may take to send a request's headers (Node's default is 60 s). */
const HEADERS_TIMEOUT_MAX = Duration.seconds(10)
/**
 * Node's own bound on receiving a whole request, past REQUEST_TIMEOUT: the edge answers a body still
 * arriving at REQUEST_TIMEOUT itself (503 `request_timeout`); Node's 408 is the backstop.
 */
const RECEIPT_BACKSTOP = Duration.seconds(2)
/** How often Node checks those two timeouts (its default, 30 s, lets a slow sender hold 30 s more). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000
/** Node's default is 2,000; no client of this API sends more than a few dozen. */
const MAX_HEADERS_COUNT = 100

/**
 * Node's timeouts for many idle keep-alive clients and slow senders: an idle connection stays
 * KEEP_ALIVE_TIMEOUT (longer than a load balancer's idle timeout, so the balancer closes first and
 * never sends on a connection being closed here); headers must arrive within min(REQUEST_TIMEOUT,
 * 10 s), the whole request within REQUEST_TIMEOUT + 2 s. A quiet response stream is never cut.
 */
export const serverOptions = (config: AppConfigShape): ServerOptions => {
  const requestTimeout = Duration.toMillis(config.requestTimeout)
  return {
    keepAliveTimeout: Duration.toMillis(config.keepAliveTimeout),
    headersTimeout: Math.min(Duration.toMillis(HEADERS_TIMEOUT_MAX), requestTimeout),
    requestTimeout: requestTimeout + Duration.toMillis(RECEIPT_BACKSTOP),
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS
  }
}

/**
 * Node's HTTP server on `host`:`port` with its timeouts, connection cap and front (Front.ts), also
 * provided as `NodeServer` for the drain.
 */
export const nodeServerLayer = (listen: { readonly host: string; readonly port: number }) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const config = yield* AppConfig
      const lifecycle = yield* Lifecycle
      const context = yield* Effect.context<never>()
      const record = requestRecorder(config.benchGuardsOff)
      const server = createServer(serverOptions(config))
      server.maxConnections = config.maxConnections
      server.maxHeadersCount = MAX_HEADERS_COUNT
      installFront(server, {
        maxInFlight: config.maxRequestsInFlight,
        maxReceiving: config.maxRequestsReceiving,
        maxEventLoopDelayMs: Duration.toMillis(config.maxEventLoopDelay),
        maxEventLoopUtilization: config.maxEventLoopUtilization,
        lifecycle,
        corsOrigins: config.corsOrigins,
        onRefusedRequest: ({ durationMs, method, url }) =>
          Effect.runSyncWith(context)(record({ method, route: routeOf(method, url), status: 503, durationMs })),
        onShed: ({ eventLoopDelayMs, eventLoopUtilization, inFlight, shed }) =>
          Effect.runForkWith(context)(
            Effect.logWarning("overloaded: shedding requests").pipe(
              Effect.annotateLogs({
                event: "http.shed",
                shed,
                in_flight: inFlight,
                event_loop_delay_ms: eventLoopDelayMs,
                event_loop_utilization: eventLoopUtilization
              })
            )
          )
      })
      return Layer.merge(NodeHttpServer.layer(() => server, listen), Layer.succeed(NodeServer, server))
    })
  )

/** Stops accepting connections; completes when every open connection has ended. */
const stopAccepting = (server: Server) =>
  Effect.gen(function*() {
    const allClosed = yield* Deferred.make<void>()
    // `close` also closes the connections idle at this moment; the callback waits for the others.
    // Its error (the server was not listening) means there is nothing to wait for either.
    server.close(() => Deferred.doneUnsafe(allClosed, Exit.void))
    return Deferred.await(allClosed)
  })

const drain = Effect.gen(function*() {
  const lifecycle = yield* Lifecycle
  const server = yield* NodeServer
  const { shutdownGrace } = yield* AppConfig
  yield* lifecycle.beginShutdown
  yield* Effect.logInfo("shutdown: draining").pipe(Effect.annotateLogs({ in_flight: yield* lifecycle.inFlight }))
  yield* Effect.sleep(IDLE_LINGER)
  const allClosed = yield* stopAccepting(server)
  const drained = lifecycle.idle.pipe(
    // A response written just before the flag was set left its keep-alive connection open: close
    // it now that it is idle, instead of waiting for the keep-alive timeout.
    Effect.tap(() => Effect.sync(() => server.closeIdleConnections())),
    Effect.andThen(allClosed)
  )
  // Finalizers run uninterruptibly: the waits must be interruptible for their timeouts to cut them.
  const outcome = yield* Effect.timeoutOption(Effect.interruptible(drained), shutdownGrace)
  if (Option.isSome(outcome)) return yield* Effect.logInfo("shutdown: drained")
  yield* Effect.logWarning("shutdown: grace expired, closing remaining connections").pipe(
    Effect.annotateLogs({ in_flight: yield* lifecycle.inFlight })
  )
  // Destroying a socket interrupts its request's fiber (platform-node does so on `close`).
  server.closeAllConnections()
  yield* Effect.timeoutOption(Effect.interruptible(lifecycle.idle), CUT_OFF_UNWIND)
})

/** Drains on the way down; build it after (on top of) the HTTP layers so it finalizes first. */
export const GracefulShutdownLive: Layer.Layer<never, never, Lifecycle | NodeServer | AppConfig> = Layer.effectDiscard(
  Effect.gen(function*() {
    const context = yield* Effect.context<Lifecycle | NodeServer | AppConfig>()
    yield* Effect.addFinalizer(() => Effect.provideContext(drain, context))
  })
)
