/**
 * Input a stranger can send to any endpoint, from the attacker's side over real HTTP (issue 13,
 * items 9–11): a NUL character in a text field, JSON nested thousands of levels deep, and a
 * chunked body past MAX_BODY_BYTES. Each answers a 4xx in the contract's shape, over REST and
 * `/rpc`, signed in or not; nothing is written, and the service keeps serving.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { connect } from "node:net"
import { makeScrubber } from "../../src/infra/platform/Redaction.js"
import { expectIssueAt, failure } from "../rpc/rpc-helpers.js"
import { del, get, post, put, type Reply, signup } from "../support/http.js"
import { clientUser, TestServer, TestServiceWithClients } from "../support/TestService.js"
import { rowById, rowsOf } from "../tasks/tasks-helpers.js"

const MAX_BODY_BYTES = 128 * 1024
const NUL = "\u0000"
const PASSWORD = "correct horse battery staple"
const TASK = { title: "Fine", priority: "urgent_important" } as const

/** A 422 in the contract's validation shape, with its first issue located at `loc`. */
const expectValidationAt = (reply: Reply, loc: ReadonlyArray<string | number>) => {
  expect(reply.status, reply.text).toBe(422)
  expect(reply.body).toMatchObject({ error_code: "validation_error" })
  expect(reply.body.detail[0]).toMatchObject({ loc, msg: expect.any(String), type: expect.any(String) })
}

const usersWithEmail = (email: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM "user" WHERE email = ${email}`
  ).pipe(Effect.map((rows) => rows[0]!.n))

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket: what fetch will not send (NUL in a header, a chunked body paced by
// the client) and what it hides (a reset connection, a second response on the same connection).

interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** The complete responses at the start of `received` (every answer of this API has a Content-Length). */
const responsesIn = (received: string): Array<RawResponse> => {
  const responses: Array<RawResponse> = []
  let rest = received
  while (true) {
    const headEnd = rest.indexOf("\r\n\r\n")
    if (headEnd < 0) return responses
    const [statusLine, ...headerLines] = rest.slice(0, headEnd).split("\r\n")
    const headers = Object.fromEntries(headerLines.map((line) => {
      const colon = line.indexOf(":")
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
    }))
    const length = Number(headers["content-length"] ?? "0")
    const bodyStart = headEnd + 4
    if (rest.length < bodyStart + length) return responses
    responses.push({
      status: Number(statusLine!.split(" ")[1]),
      headers,
      body: rest.slice(bodyStart, bodyStart + length)
    })
    rest = rest.slice(bodyStart + length)
  }
}

interface RawOutcome {
  readonly responses: Array<RawResponse>
  /** A socket error (a reset connection), if one came. */
  readonly error: string | undefined
}

/**
 * Writes `pieces` on one connection, each once the previous one is flushed (a client that sends
 * as fast as the server reads), and stops sending once `expected` responses are complete; then
 * closes its side and waits for the server to close.
 */
const exchange = (pieces: Iterable<string>, expected = 1) =>
  Effect.flatMap(TestServer, ({ baseUrl }) =>
    Effect.callback<RawOutcome>((resume) => {
      const socket = connect(Number(new URL(baseUrl).port), "127.0.0.1")
      const source = pieces[Symbol.iterator]()
      let received = ""
      let writing = true
      let error: string | undefined
      const answered = () => responsesIn(received).length >= expected
      socket.setEncoding("latin1")
      socket.on("data", (data: string) => {
        received += data
        if (!writing && answered()) socket.end()
      })
      socket.on("error", (cause) => (error = cause.message))
      socket.on("close", () => resume(Effect.succeed({ responses: responsesIn(received), error })))
      const next = (): void => {
        if (answered() || socket.destroyed) return void socket.end()
        const piece = source.next()
        if (piece.done === true) return void (writing = false)
        socket.write(piece.value, "latin1", () => setImmediate(next))
      }
      next()
    }))

const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`
const LAST_CHUNK = "0\r\n\r\n"

const chunkedHead = (path: string, headers: Record<string, string> = {}) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n` +
  Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") + "\r\n"

/** A chunked task body `bytes` long, 1 KiB a chunk, that stops short of its last chunk. */
function* slowTaskBody(bytes: number) {
  yield chunk(`{"title":"Streamed","priority":"urgent_important","description":"`)
  for (let sent = 0; sent < bytes; sent += 1024) yield chunk("y".repeat(1024))
}

// ---------------------------------------------------------------------------------------------

it.layer(TestServiceWithClients({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) } }))("hostile input", (it) => {
  // Item 9: PostgreSQL's text cannot hold U+0000, so each of these used to fail its query (500).
  it.effect("a NUL in signup or signin fields answers 422 at its loc and creates no account", () =>
    Effect.gen(function*() {
      const email = `nul-${Date.now()}@example.com`
      const cases = [
        [{ email: `a${NUL}${email}`, password: PASSWORD }, ["body", "email"]],
        [{ email, password: PASSWORD, name: `Ann${NUL}` }, ["body", "name"]],
        [{ email, password: `${PASSWORD}${NUL}` }, ["body", "password"]]
      ] as const
      for (const [json, loc] of cases) expectValidationAt(yield* post("/api/v1/auth/signup", { json }), loc)
      expect(yield* usersWithEmail(email)).toBe(0)

      const user = yield* signup("nul-signin")
      expectValidationAt(
        yield* post("/api/v1/auth/signin", { json: { email: `${user.email}${NUL}`, password: PASSWORD } }),
        ["body", "email"]
      )
      expectValidationAt(
        yield* post("/api/v1/auth/signin", { json: { email: user.email, password: `${NUL}${PASSWORD}` } }),
        ["body", "password"]
      )
      for (const field of ["current_password", "new_password"] as const) {
        const json = { current_password: PASSWORD, new_password: "another long passphrase", [field]: `x${NUL}` }
        expectValidationAt(
          yield* post("/api/v1/auth/change-password", { token: user.token, json }),
          ["body", field]
        )
      }
      // The password did not change, and the service still signs in.
      expect((yield* post("/api/v1/auth/signin", { json: { email: user.email, password: PASSWORD } })).status).toBe(200)
    }))

  it.effect("a NUL in a task's title or description answers 422 at its loc (create, update) and writes nothing", () =>
    Effect.gen(function*() {
      const user = yield* signup("nul-task")
      for (
        const [json, loc] of [
          [{ ...TASK, title: `Re${NUL}port` }, ["body", "title"]],
          [{ ...TASK, description: `${NUL}` }, ["body", "description"]]
        ] as const
      ) {
        expectValidationAt(yield* post("/api/tasks", { token: user.token, json }), loc)
      }
      expect(yield* rowsOf(user.userId)).toEqual([])

      const created = yield* post("/api/tasks", { token: user.token, json: TASK })
      expect(created.status).toBe(201)
      const before = yield* rowById(created.body.data.id)
      for (
        const [json, loc] of [
          [{ title: `${NUL}` }, ["body", "title"]],
          [{ description: `notes${NUL}` }, ["body", "description"]]
        ] as const
      ) {
        expectValidationAt(yield* put(`/api/tasks/${created.body.data.id}`, { token: user.token, json }), loc)
      }
      expect(yield* rowById(created.body.data.id)).toEqual(before)
    }))

  it.effect("over /rpc, a NUL in CreateTask or UpdateTask is the ValidationFailed REST answers", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* clientUser("nul-rpc")
      expectIssueAt(
        yield* failure(rpc.CreateTask({ ...TASK, title: `a${NUL}` }), "ValidationFailed"),
        ["body", "title"]
      )
      expectIssueAt(
        yield* failure(rpc.CreateTask({ ...TASK, description: NUL }), "ValidationFailed"),
        ["body", "description"]
      )
      expectIssueAt(
        yield* failure(rpc.CreateTask({ ...TASK, idempotency_key: `key${NUL}` }), "ValidationFailed"),
        ["header", "idempotency-key"]
      )
      expect(yield* rowsOf(userId)).toEqual([])
      const task = yield* rpc.CreateTask(TASK)
      expectIssueAt(
        yield* failure(rpc.UpdateTask({ id: task.id, title: `b${NUL}` }), "ValidationFailed"),
        ["body", "title"]
      )
      expectIssueAt(
        yield* failure(rpc.UpdateTask({ id: task.id, description: NUL }), "ValidationFailed"),
        ["body", "description"]
      )
      expect((yield* rowById(task.id))?.title).toBe(TASK.title)
    }))

  it.effect("a NUL in a query parameter, a path, a token or a header never reaches a query", () =>
    Effect.gen(function*() {
      const user = yield* signup("nul-query")
      const auth = { token: user.token }
      expect((yield* get("/api/tasks?priority=%00", auth)).status).toBe(400)
      expect((yield* get("/api/tasks?sort_by=title%00", auth)).status).toBe(400)
      const forged = Buffer.from(JSON.stringify({
        v: 1,
        sort_by: "title",
        sort_order: "desc",
        priority: null,
        completed: null,
        key: `a${NUL}`,
        id: `b${NUL}`
      })).toString("base64url")
      expectValidationAt(yield* get(`/api/tasks?sort_by=title&cursor=${forged}`, auth), ["query", "cursor"])
      expectValidationAt(yield* get("/api/tasks/%00", auth), ["path", "task_id"])
      expect((yield* del("/api/v1/auth/sessions/%00", auth)).status).toBe(404)
      expect((yield* post("/api/v1/auth/refresh", { json: { refresh_token: `${user.refreshToken}${NUL}` } })).status)
        .toBe(401)
      expect((yield* post("/api/v1/auth/revoke", { json: { token: `${user.refreshToken}${NUL}` } })).status).toBe(200)

      // Node's HTTP parser refuses a NUL in a header before the service sees the request.
      const { responses } = yield* exchange([
        `POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${user.token}\r\n` +
        `Idempotency-Key: key${NUL}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`
      ])
      expect(responses.map((response) => response.status)).toEqual([400])
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))

  // Item 10: no body of the API nests past a few levels; every walk over a decoded value recurses
  // once per level, so the edge refuses the 65th before a parser or a schema looks at the body.
  it.effect("JSON nested 10,000 deep answers 422 at the bound, signed in or not, arrays and objects", () =>
    Effect.gen(function*() {
      const user = yield* signup("deep")
      const nested = {
        array: (depth: number) => "[".repeat(depth) + "\"x\"" + "]".repeat(depth),
        object: (depth: number) => "{\"a\":".repeat(depth) + "\"x\"" + "}".repeat(depth)
      }
      for (const [shape, deep] of Object.entries(nested)) {
        const step = shape === "array" ? 0 : "a"
        const pastTheBound = (field: string) => ["body", field, ...Array.from({ length: 63 }, () => step)]
        const replies = {
          email: yield* post("/api/v1/auth/signup", { raw: `{"email":${deep(10_000)},"password":"${PASSWORD}"}` }),
          password: yield* post("/api/v1/auth/signin", { raw: `{"email":"${user.email}","password":${deep(10_000)}}` }),
          title: yield* post("/api/tasks", { token: user.token, raw: `{"title":${deep(10_000)},"priority":"x"}` })
        }
        for (const [field, reply] of Object.entries(replies)) {
          expectValidationAt(reply, pastTheBound(field))
          expect(reply.body.detail[0].msg).toBe("JSON nested deeper than 64 levels")
        }
        // At the bound itself the body is decoded as usual.
        expectValidationAt(
          yield* post("/api/v1/auth/signin", { raw: `{"email":"${user.email}","password":${deep(63)}}` }),
          ["body", "password"]
        )
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
      // Brackets inside a string are text, not nesting.
      const bracketed = `${"[{".repeat(100)}"\\${"}]".repeat(100)}`
      const created = yield* post("/api/tasks", { token: user.token, json: { ...TASK, description: bracketed } })
      expect(created.status, created.text).toBe(201)
      expect(created.body.data.description).toBe(bracketed)
      expect((yield* post("/api/v1/auth/signin", { json: { email: user.email, password: PASSWORD } })).status).toBe(200)
    }))

  it.effect("an /rpc frame nested 10,000 deep answers 422 before the RPC layer decodes it", () =>
    Effect.gen(function*() {
      const user = yield* signup("deep-rpc")
      const deepArray = "[".repeat(10_000) + "]".repeat(10_000)
      const frame = (headers: string, payload: string) =>
        `{"_tag":"Request","id":"1","tag":"CreateTask","payload":${payload},"headers":${headers}}\n`
      const bearer = `[["authorization","Bearer ${user.token}"]]`
      const cases = [
        [frame(bearer, `{"title":${deepArray},"priority":"urgent_important"}`), ["body", "payload", "title"]],
        [frame("[]", `{"title":${"{\"a\":".repeat(10_000)}1${"}".repeat(10_000)}}`), ["body", "payload", "title"]],
        [frame(deepArray, "{}"), ["body", "headers"]],
        [deepArray + "\n", ["body"]]
      ] as const
      for (const [raw, at] of cases) {
        const reply = yield* post("/rpc", { raw, headers: { "content-type": "application/ndjson" } })
        expect(reply.status, reply.text).toBe(422)
        expect(reply.body).toMatchObject({ error_code: "validation_error" })
        expect(reply.body.detail[0].loc.slice(0, at.length)).toEqual(at)
        expect(reply.body.detail[0].loc).toHaveLength(65)
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))

  // Item 11: without Content-Length the limit holds while reading, and the answer is the same 413.
  it.effect("a chunked body over MAX_BODY_BYTES, sent slowly, answers 413 with the JSON error, REST and /rpc", () =>
    Effect.gen(function*() {
      const user = yield* signup("chunked")
      const bearer = { Authorization: `Bearer ${user.token}` }
      for (const [path, headers] of [["/api/tasks", bearer], ["/rpc", bearer], ["/api/v1/auth/signup", {}]] as const) {
        // Twice the limit: once answered, the server reads and discards the rest, so it closes with
        // nothing unread (an unread rest would reset the connection, whatever the server did).
        const outcome = yield* exchange([chunkedHead(path, headers), ...slowTaskBody(2 * MAX_BODY_BYTES)])
        expect(outcome.error, path).toBeUndefined()
        // (Node then answers the body the client abandoned with a 400 of its own, on the way out.)
        const [response] = outcome.responses
        expect(response?.status, path).toBe(413)
        expect(JSON.parse(response!.body)).toEqual({
          detail: "Request body too large",
          error_code: "payload_too_large"
        })
        expect(response!.headers["content-type"]).toContain("application/json")
        expect(response!.headers["x-request-id"]).toBeTruthy()
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))

  it.effect("after a chunked body over the limit, the same connection and the service keep serving", () =>
    Effect.gen(function*() {
      const user = yield* signup("chunked-after")
      const { responses, error } = yield* exchange(
        [
          chunkedHead("/api/tasks", { Authorization: `Bearer ${user.token}` }),
          ...slowTaskBody(MAX_BODY_BYTES + 4096),
          chunk(`"}`),
          LAST_CHUNK,
          "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        ],
        2
      )
      expect(error).toBeUndefined()
      expect(responses.map((response) => response.status)).toEqual([413, 200])
      expect(JSON.parse(responses[1]!.body)).toEqual({ status: "healthy" })
      expect((yield* post("/api/tasks", { token: user.token, json: TASK })).status).toBe(201)
    }))
})

// Item 10, where a deep value could still arrive: a log line or a span attribute carrying one.
it("the log scrubber writes a value nested past the stack as a marker instead of throwing", () => {
  let deep: unknown = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
  for (let level = 0; level < 100_000; level++) deep = [deep]
  const scrubbed = makeScrubber([]).value("payload", deep)
  expect(JSON.stringify(scrubbed)).not.toContain("eyJ")
  expect(JSON.stringify(scrubbed)).toContain("<nested too deep>")
})
