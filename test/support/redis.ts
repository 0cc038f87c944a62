/** A real Redis server (Debian's redis-server, installed when missing) on a free loopback port, for one suite. */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createConnection } from "node:net"
import { freePort } from "../../src/infra/platform/FreePort.js"
import { debianBinary } from "./debianPackage.js"

const answersPing = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("PING\r\n"))
    socket.once("data", (data) => {
      socket.destroy()
      resolve(data.toString().startsWith("+PONG"))
    })
    socket.once("error", () => resolve(false))
  })

const waitUntil = async (condition: () => Promise<boolean>, attempts = 100) => {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error("redis-server did not come up")
}

export interface RedisServer {
  readonly url: string
  /** Stops the server (as an outage would). */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port. */
  readonly start: Effect.Effect<void>
  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as a hung server's. */
  readonly freeze: Effect.Effect<void>
  /** Lets a frozen server go on (SIGCONT). */
  readonly thaw: Effect.Effect<void>
}

/** Starts redis-server for the scope; stopped (if running) when the scope closes. */
export const redisServer = Effect.gen(function*() {
  const binary = yield* Effect.try({ try: () => debianBinary("redis-server", "redis-server"), catch: (error) => error })
    .pipe(Effect.orDie)
  const port = yield* Effect.promise(freePort)
  let child: ChildProcess | undefined
  const start = Effect.promise(async () => {
    child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore"
    })
    await waitUntil(() => answersPing(port))
  })
  const stop = Effect.promise(async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve())
      running.kill("SIGKILL")
    })
  })
  const signal = (name: NodeJS.Signals) => Effect.sync(() => child?.kill(name))
  yield* Effect.acquireRelease(start, () => stop)
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    freeze: signal("SIGSTOP"),
    thaw: signal("SIGCONT")
  } satisfies RedisServer
})
