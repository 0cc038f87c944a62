/**
 * `POST /rpc` attacked from outside, against the built service as a child process (its own heap,
 * `npm start`'s `--max-old-space-size=256`, real clock): what used to kill it (issue 13, items 1,
 * 3 and 12) is answered, and the process goes on serving.
 *
 * - one body of 3,000 calls: every call ran at once and the process died of a heap out-of-memory,
 *   with a valid token or a logged-out one;
 * - 400 `ListTasks` of big pages whose answers the client does not read: they piled up, encoded,
 *   outside the V8 heap, until the process died;
 * - malformed messages: answered with defects that carried JavaScript errors, as HTTP 200.
 *
 * RSS is the service's own (`/proc/<pid>/status`), sampled in real time for a bounded window.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { RpcClient, RpcSerialization } from "effect/rpc"
import { readFileSync } from "node:fs"
import { type IncomingMessage, request as httpRequest } from "node:http"
import { makeTasksRpcClient, rpcAuthenticationClient, TasksRpc } from "../../src/client/index.js"
import { pause } from "../support/locks.js"
import { hasExited, readyService, type ServiceProcess, settleOutput } from "../support/serviceProcess.js"
import { suiteDatabase } from "../support/TestService.js"
import { batchOf, errorOf, type Frame, framesOf } from "./rpc-helpers.js"

/** Calls one body may carry in this suite: 400 run (the 400 `ListTasks`), 3,000 do not. */
const MAX_CALLS = 400
/** Tasks of the hoarding user, each as large as the API takes: a page of 100 is about 1 MB of JSON. */
const TASKS = 100
const BIG_TASK = { title: "t".repeat(255), description: "d".repeat(10_000), priority: "urgent_important" }
/** What the service's RSS may grow by while a client does not read. Before: +400 MB, then killed. */
const RSS_BOUND_MB = 96
/**
 * What it may have grown by once all 400 answers (400 MB) have streamed through it: the heap's
 * high-water mark, which V8 keeps. Measured 32–112 MB over 23 runs; holding every answer at once
 * would be +400 MB.
 */
const RSS_AFTER_READ_BOUND_MB = 160

interface Suite {
  readonly svc: ServiceProcess
  /** A user with TASKS big tasks. */
  readonly token: string
}

class AbusedService extends Context.Service<AbusedService, Suite>()("test/AbusedService") {}

interface Answer {
  readonly status: number
  readonly text: string
}

const call = (svc: ServiceProcess, method: string, path: string, init: {
  readonly token?: string
  readonly body?: string
  readonly contentType?: string
} = {}) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(`${svc.baseUrl}${path}`, {
      method,
      headers: {
        "content-type": init.contentType ?? "application/json",
        ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` })
      },
      body: init.body,
      signal: AbortSignal.timeout(30_000)
    }).catch(() => undefined)
    if (response === undefined) return { status: 0, text: "" }
    return { status: response.status, text: await response.text() }
  })

const postRpc = (svc: ServiceProcess, body: string, token: string) =>
  call(svc, "POST", "/rpc", { token, body, contentType: "application/x-ndjson" })

let signups = 0
const signup = (svc: ServiceProcess) =>
  Effect.map(
    call(svc, "POST", "/api/v1/auth/signup", {
      body: JSON.stringify({ email: `abuse-${signups++}@example.com`, password: "correct horse battery staple" })
    }),
    (answer): string => JSON.parse(answer.text).data.token
  )

/** The service's resident set size, in MB (0 once it has exited). */
const rssOf = (svc: ServiceProcess) => {
  try {
    const status = readFileSync(`/proc/${svc.child.pid}/status`, "utf8")
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch {
    return 0
  }
}

/** The service's JSON log lines. */
const logLines = (svc: ServiceProcess): Array<Frame> =>
  svc.output().split("\n").filter((line) => line.startsWith("{")).map((line): Frame => JSON.parse(line))

/** JSON log lines of the service at error level or worse. */
const errorLines = (svc: ServiceProcess) =>
  logLines(svc).filter((line) => line.level === "error" || line.level === "fatal")

const SuiteLive = Layer.effect(
  AbusedService,
  Effect.gen(function*() {
    const database = yield* suiteDatabase()
    const svc = yield* readyService({
      DATABASE_URL: database.url,
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      RPC_MAX_CALLS_PER_REQUEST: String(MAX_CALLS)
    })
    const token = yield* signup(svc)
    yield* Effect.forEach(
      Array.from({ length: TASKS }),
      () => call(svc, "POST", "/api/tasks", { token, body: JSON.stringify(BIG_TASK) }),
      { concurrency: 10, discard: true }
    )
    return { svc, token }
  })
)

/** The shipped client with batching on: every call of a window goes in one body, as an attacker would send it. */
const batchingClient = (svc: ServiceProcess, token: string) =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.filterStatusOk,
      HttpClient.mapRequest(HttpClientRequest.setUrl(`${svc.baseUrl}/rpc`))
    )
    const protocol = yield* RpcClient.makeProtocolHttp(http, { batch: { window: "100 millis", maxSize: 1_000 } }).pipe(
      Effect.provideService(RpcSerialization.RpcSerialization, RpcSerialization.ndjson)
    )
    const authentication = yield* Layer.build(rpcAuthenticationClient(token))
    return yield* RpcClient.make(TasksRpc).pipe(
      Effect.provideService(RpcClient.Protocol, protocol),
      Effect.provideContext(authentication)
    )
  }).pipe(Effect.provide(FetchHttpClient.layer))

/**
 * Posts `body` to /rpc and never reads the answer (its response stays paused), until the scope
 * ends; `read` resumes it and collects the rest.
 */
const postUnread = (svc: ServiceProcess, body: string, token: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let response: IncomingMessage | undefined
      let responded: () => void = () => {}
      const answered = new Promise<void>((resolve) => (responded = resolve))
      const req = httpRequest(`${svc.baseUrl}/rpc`, {
        method: "POST",
        headers: {
          "content-type": "application/x-ndjson",
          "content-length": Buffer.byteLength(body),
          authorization: `Bearer ${token}`
        }
      }, (res) => {
        response = res // no listener for its data: it is not read
        responded()
      })
      req.on("error", () => {})
      req.end(body)
      const read = Effect.promise(async () => {
        await answered
        const res = response!
        res.setEncoding("utf8")
        let text = ""
        for await (const chunk of res) text += chunk
        return { status: res.statusCode ?? 0, text }
      })
      return { req, read }
    }),
    ({ req }) => Effect.sync(() => req.destroy())
  )

it.layer(SuiteLive, { timeout: "120 seconds", excludeTestServices: true })(
  "POST /rpc under attack, in a process of its own",
  (it) => {
    it.effect(
      "3,000 calls in one body (230 KB) run none, each is RpcLimitReached, valid or logged-out token; it serves on",
      () =>
        Effect.gen(function*() {
          const { svc, token } = yield* AbusedService
          const refusal = { _tag: "RpcLimitReached", error_code: "too_many_calls", limit: MAX_CALLS }

          // By hand, with a valid token and with a logged-out one.
          const loggedOut = yield* signup(svc)
          expect((yield* call(svc, "POST", "/api/v1/auth/logout", { token: loggedOut, body: "{}" })).status).toBe(204)
          const body = batchOf(3_000, "ListTasks", { limit: 100 })
          expect(body.length).toBeGreaterThan(200_000)
          for (const caller of [token, loggedOut]) {
            const answer = yield* postRpc(svc, body, caller)
            expect(answer.status).toBe(200)
            const frames = framesOf(answer.text)
            expect(frames).toHaveLength(3_000)
            for (const frame of frames) expect(errorOf(frame)).toMatchObject(refusal)
          }

          const refusals = () => logLines(svc).filter((line) => line.event === "rpc.limit_reached")
          yield* settleOutput(() => refusals().length >= 2)
          const warnings = refusals()
          expect(warnings.slice(-2)).toMatchObject([
            { level: "warn", rule: "calls_per_request", limit: MAX_CALLS, messages: 3_000 },
            { level: "warn", rule: "calls_per_request", limit: MAX_CALLS, messages: 3_000 }
          ])

          // The shipped client, batching 1,000 calls in one body (its messages are larger: 1,000 fit
          // under MAX_BODY_BYTES), decodes the refusal as the typed error it is.
          const client = yield* batchingClient(svc, token)
          const errors = yield* Effect.forEach(
            Array.from({ length: 1_000 }),
            () => Effect.flip(client.ListTasks({ limit: 100 })),
            { concurrency: "unbounded" }
          )
          expect(errors.filter((error) => error._tag === "RpcLimitReached")).toHaveLength(1_000)
          expect(errors[0]).toMatchObject(refusal)

          // Alive, and serving the next request.
          expect(hasExited(svc.child), svc.output().slice(-2_000)).toBe(false)
          const rpc = yield* makeTasksRpcClient({ baseUrl: svc.baseUrl, accessToken: token }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
          expect((yield* rpc.ListTasks({ limit: 1 })).total_count).toBe(TASKS)
        }),
      60_000
    )

    it.effect(
      "400 ListTasks of 1 MB pages whose answers are not read hold the rest back: RSS bounded, others served, all come",
      () =>
        Effect.gen(function*() {
          const { svc, token } = yield* AbusedService
          const other = yield* signup(svc)
          // Warm: the pages have been read and answered once before the baseline.
          const warm = framesOf((yield* postRpc(svc, batchOf(8, "ListTasks", { limit: 100 }), token)).text)
          expect(warm.map((frame) => frame.exit?._tag)).toEqual(Array(8).fill("Success"))
          const baseline = rssOf(svc)

          const unread = yield* postUnread(svc, batchOf(400, "ListTasks", { limit: 100 }), token)
          // Sampled until it has stopped growing for 2 s (at most 15 s), or the process is gone.
          const samples: Array<number> = []
          while (samples.length < 75 && !hasExited(svc.child)) {
            samples.push(rssOf(svc))
            const recent = samples.slice(-10)
            if (recent.length === 10 && Math.max(...recent) - recent[0] < 2) break
            yield* pause(200)
          }
          const grown = Math.max(...samples) - baseline
          expect(hasExited(svc.child), svc.output().slice(-2_000)).toBe(false)
          expect(grown, `RSS grew by ${grown.toFixed(0)} MB`).toBeLessThan(RSS_BOUND_MB)

          // Another user is served meanwhile.
          const others = yield* call(svc, "GET", "/api/tasks", { token: other })
          expect(others.status).toBe(200)

          // Nothing was dropped: once read, every answer comes.
          const answer = yield* unread.read
          expect(answer.status).toBe(200)
          const frames = framesOf(answer.text)
          expect(frames).toHaveLength(400)
          expect(frames.every((frame) => frame.exit?._tag === "Success" && frame.exit.value.tasks.length === TASKS))
            .toBe(true)
          expect(rssOf(svc) - baseline).toBeLessThan(RSS_AFTER_READ_BOUND_MB)
        }),
      60_000
    )

    it.effect(
      "malformed messages answer 400 invalid_rpc_message without internals, run nothing, log no error; it serves on",
      () =>
        Effect.gen(function*() {
          const { svc } = yield* AbusedService
          const token = yield* signup(svc)
          const request = (fields: Record<string, unknown>) =>
            JSON.stringify({ _tag: "Request", id: 1, tag: "ListTasks", payload: {}, headers: [], ...fields })
          const hostile: ReadonlyArray<readonly [string, string, string]> = [
            ["headers missing", JSON.stringify({ _tag: "Request", id: 1, tag: "ListTasks", payload: {} }), "headers"],
            ["headers a string", request({ headers: "authorization" }), "headers"],
            ["headers an object", request({ headers: { authorization: "x" } }), "headers"],
            ["a header pair of numbers", request({ headers: [[1, 2]] }), "headers"],
            ["id not a number", request({ id: "abc" }), "id"],
            ["id an object", request({ id: { toString: "x" } }), "id"],
            ["id of 5,000 digits", request({ id: "9".repeat(5_000) }), "id"],
            ["an unknown procedure", request({ tag: "DropAllTables" }), "unknown procedure"],
            ["an unknown message", JSON.stringify({ _tag: "Exploit" }), "not an RPC message"],
            ["not JSON", "{\"_tag\": \"Request\", ", "not JSON"],
            ["a payload of the wrong shape", request({ tag: "GetTask", payload: { id: 42 } }), "payload"],
            ["one id twice", `${request({})}\n${request({})}`, "repeats"]
          ]
          for (const [name, body, says] of hostile) {
            const answer = yield* postRpc(svc, `${body}\n`, token)
            expect(answer.status, `${name}: ${answer.text}`).toBe(400)
            const refusal = JSON.parse(answer.text)
            expect(refusal, name).toEqual({
              detail: expect.stringMatching(/^line \d+: /),
              error_code: "invalid_rpc_message"
            })
            expect(refusal.detail, name).toContain(says)
            // Neither a JavaScript error nor a schema's message nor the input comes back.
            expect(answer.text, name).not.toMatch(
              /TypeError|SyntaxError|BigInt|iterable|Expected|DropAllTables|Exploit|999/
            )
          }

          // A good call before a bad line does not run either.
          const create = JSON.stringify({
            _tag: "Request",
            id: 1,
            tag: "CreateTask",
            payload: { title: "Smuggled", priority: "urgent_important" },
            headers: []
          })
          expect((yield* postRpc(svc, `${create}\n${request({ id: 2, headers: null })}\n`, token)).status).toBe(400)
          expect(JSON.parse((yield* call(svc, "GET", "/api/tasks", { token })).text).data.total_count).toBe(0)

          expect(errorLines(svc)).toEqual([])
          const served = framesOf((yield* postRpc(svc, `${request({})}\n`, token)).text)
          expect(served[0]).toMatchObject({ _tag: "Exit", requestId: 1, exit: { _tag: "Success" } })
        }),
      60_000
    )
  }
)
