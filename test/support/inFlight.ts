/**
 * Holding requests in flight from a test, structurally: raw connections that send part of a request
 * and no more; and watching the service's count of requests in flight.
 */
import { Effect } from "effect"
import { connect, type Socket } from "node:net"
import { Lifecycle } from "../../src/http/edge/Lifecycle.js"
import { pause } from "./locks.js"
import { TestServer } from "./TestService.js"

/** Polls (real time, bounded: 200 × 10 ms) until `reached` holds for the service's requests in flight. */
export const untilInFlight = (reached: (n: number) => boolean) =>
  Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    for (let attempt = 0; attempt < 200; attempt++) {
      if (reached(yield* lifecycle.inFlight)) break
      yield* pause(10)
    }
    return yield* lifecycle.inFlight
  })

export interface RawConnection {
  readonly socket: Socket
  /** Everything the server sent so far. */
  readonly received: () => string
  /** Completes when the server closed the connection (or it was destroyed). */
  readonly closed: Effect.Effect<void>
}

/** A raw connection that has sent `head` (and no more), for the scope. */
export const rawConnection = (head: string) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    const port = Number(new URL(baseUrl).port)
    const socket = yield* Effect.acquireRelease(
      Effect.callback<Socket>((resume) => {
        const socket = connect(port, "127.0.0.1", () => resume(Effect.succeed(socket)))
      }),
      (socket) => Effect.sync(() => socket.destroy())
    )
    let received = ""
    socket.setEncoding("utf8").on("data", (chunk: string) => (received += chunk))
    socket.on("error", () => {})
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
    socket.write(head)
    return { socket, received: () => received, closed: Effect.promise(() => closed) } satisfies RawConnection
  })

/** A POST whose body (`Content-Length: 1000`) is sent one byte, then nothing more. */
export const slowBody = (token: string) =>
  rawConnection(
    "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`
  )
