/**
 * `/openapi.json` says what the server does. A real sequence of requests over HTTP reaches every
 * operation and the error statuses it can answer (200 201 204 400 401 403 404 413 422 429; the API
 * has no 409), and each reply is held to the live document with ajv (OpenAPI 3.1 schemas are JSON
 * Schema 2020-12): its status is documented for the operation, its body is valid against the
 * documented schema (formats included), and every header documented as required is there and
 * valid. Then the document passes `redocly lint` with the recommended rules, without errors, and
 * carries the service's version.
 */
import { expect, it } from "@effect/vitest"
import addFormatsModule from "ajv-formats"
import { Ajv2020 } from "ajv/dist/2020.js"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { readFileSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { ROOT, run } from "../support/clientPackage.js"
import { type Reply, request, type RequestOptions } from "../support/http.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"
import { TestService } from "../support/TestService.js"

// ajv-formats is CommonJS: under NodeNext its default import is the module, whose `default` is the plugin.
const addFormats = addFormatsModule.default

type Json = { readonly [key: string]: unknown }
const isJson = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)
const at = (value: unknown, ...keys: ReadonlyArray<string>): unknown =>
  keys.reduce<unknown>((inner, key) => (isJson(inner) ? inner[key] : undefined), value)

const PASSWORD = "correct horse battery staple"
const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version

/** One exchange: the operation's path template and method, and what came back. */
interface Exchange {
  readonly template: string
  readonly method: string
  readonly reply: Reply
}

// Rate limits on (the 429 is one of the statuses), one proxy hop trusted: each exchange speaks from
// a client address of its own, so only the exchanges meant to exhaust a limit do.
const service = TestService({ env: { RATE_LIMIT_ENABLED: "true", TRUST_PROXY: "1", MAX_BODY_BYTES: "4096" } })

let address = 0
const nextAddress = () => `10.77.${Math.floor(++address / 250)}.${address % 250 + 1}`

/** The requests, each recorded with the operation it is for. */
const exchanges: Array<Exchange> = []
const call = (
  method: string,
  template: string,
  path: string,
  options: RequestOptions & { readonly from?: string } = {}
) =>
  Effect.tap(
    request(method, path, {
      ...options,
      headers: { "x-forwarded-for": options.from ?? nextAddress(), ...options.headers }
    }),
    (reply) => Effect.sync(() => exchanges.push({ template, method: method.toLowerCase(), reply }))
  )

const SIGNUP = "/api/v1/auth/signup"
const SIGNIN = "/api/v1/auth/signin"
const TASKS = "/api/tasks"
const TASK = "/api/tasks/{task_id}"
const SESSION = "/api/v1/auth/sessions/{session_id}"
const MISSING_TASK = "00000000-0000-4000-8000-000000000000"

const signUp = (email: string) =>
  Effect.map(call("POST", SIGNUP, SIGNUP, { json: { email, password: PASSWORD, name: "Doc" } }), (reply) => {
    expect(reply.status, reply.text).toBe(200)
    return reply.body.data as { readonly token: string; readonly refresh_token: string; readonly user_id: string }
  })

/** Every operation, with its successes and the errors it can be made to answer. */
const converse = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const email = `doc-${Date.now()}@example.com`
  const pair = yield* signUp(email)
  const token = pair.token
  const get = (template: string, path: string, options: RequestOptions = {}) =>
    call("GET", template, path, { token, ...options })

  // Health and keys: open to anyone.
  for (const path of ["/health", "/health/live", "/health/ready", "/.well-known/jwks.json"]) {
    yield* call("GET", path, path)
  }

  // Sign-up and sign-in, with their refusals.
  yield* call("POST", SIGNUP, SIGNUP, { json: { email, password: PASSWORD } })
  yield* call("POST", SIGNUP, SIGNUP, { json: { email: `weak-${email}`, password: "short" } })
  yield* call("POST", SIGNUP, SIGNUP, { json: { email: "not an email", password: PASSWORD } })
  yield* call("POST", SIGNUP, SIGNUP, { raw: "{not json" })
  yield* call("POST", SIGNUP, SIGNUP, { json: { email: `big-${email}`, password: PASSWORD, name: "n".repeat(5000) } })
  yield* call("POST", SIGNIN, SIGNIN, { json: { email, password: PASSWORD } })
  yield* call("POST", SIGNIN, SIGNIN, { json: { email, password: "not the password" } })
  const banned = yield* signUp(`banned-${email}`)
  yield* sql`UPDATE "user" SET banned = true WHERE id = ${banned.user_id}`
  yield* call("POST", SIGNIN, SIGNIN, { json: { email: `banned-${email}`, password: PASSWORD } })

  // Who the caller is; without a token, and with a bad one.
  for (const path of ["/api/v1/auth/me", "/api/v1/auth/session", "/api/v1/auth/token-info", "/api/v1/auth/accounts"]) {
    yield* get(path, path)
  }
  yield* call("POST", "/api/v1/auth/verify", "/api/v1/auth/verify", { token })
  yield* call("GET", "/api/v1/auth/me", "/api/v1/auth/me")
  yield* call("GET", "/api/v1/auth/me", "/api/v1/auth/me", { token: "not.a.token" })

  // Tasks: every operation, and what each refuses.
  const created = yield* call("POST", TASKS, TASKS, {
    token,
    json: { title: "  Write the report  ", priority: "urgent_important", due_datetime: "2026-12-01T09:00:00" },
    headers: { "idempotency-key": "doc-create-1" }
  })
  expect(created.status, created.text).toBe(201)
  const taskId: string = created.body.data.id
  yield* call("POST", TASKS, TASKS, {
    token,
    json: { title: "Another body", priority: "urgent_important" },
    headers: { "idempotency-key": "doc-create-1" }
  })
  yield* call("POST", TASKS, TASKS, { token, json: { title: "Plain", priority: "urgent_important", extra: 1 } })
  yield* call("POST", TASKS, TASKS, { token, json: { title: "Bad", priority: "whenever" } })
  yield* call("POST", TASKS, TASKS, { token, json: { title: "   ", priority: "urgent_important" } })
  yield* call("POST", TASKS, TASKS, {
    token,
    json: { title: "Huge", priority: "urgent_important", description: "x".repeat(5000) }
  })
  yield* call("POST", TASKS, TASKS, { json: { title: "Anonymous", priority: "urgent_important" } })
  yield* get(TASKS, TASKS)
  yield* get(TASKS, `${TASKS}?limit=1&offset=0&sort_by=title&sort_order=asc&priority=urgent_important&completed=false`)
  yield* get(TASKS, `${TASKS}?sort_by=colour`)
  yield* get(TASKS, `${TASKS}?limit=0`)
  yield* get(TASK, `${TASKS}/${taskId}`)
  yield* get(TASK, `${TASKS}/${MISSING_TASK}`)
  yield* get(TASK, `${TASKS}/not-a-uuid`)
  yield* call("PUT", TASK, `${TASKS}/${taskId}`, {
    token,
    json: { description: null, priority: "not_urgent_important" }
  })
  yield* call("PUT", TASK, `${TASKS}/${taskId}`, { token, json: { priority: "someday" } })
  yield* call("PUT", TASK, `${TASKS}/${MISSING_TASK}`, { token, json: { title: "Nothing" } })
  yield* call("PATCH", `${TASK}/complete`, `${TASKS}/${taskId}/complete`, { token, json: { completed: true } })
  yield* call("PATCH", `${TASK}/complete`, `${TASKS}/${taskId}/complete`, { token, json: {} })
  yield* call("PATCH", `${TASK}/complete`, `${TASKS}/${MISSING_TASK}/complete`, { token, json: { completed: true } })
  yield* call("DELETE", TASK, `${TASKS}/${taskId}`, { token })
  yield* call("DELETE", TASK, `${TASKS}/${taskId}`, { token })

  // Sessions: a second one, ended by id; refresh, its reuse, and revocation.
  const second = yield* call("POST", SIGNIN, SIGNIN, { json: { email, password: PASSWORD } })
  const sessions = yield* get("/api/v1/auth/sessions", "/api/v1/auth/sessions")
  const other = (sessions.body.sessions as ReadonlyArray<{ id: string; current: boolean }>).find((s) => !s.current)
  expect(other).toBeDefined()
  yield* call("DELETE", SESSION, `/api/v1/auth/sessions/${other!.id}`, { token })
  yield* call("DELETE", SESSION, `/api/v1/auth/sessions/${other!.id}`, { token })
  const refresh = "/api/v1/auth/refresh"
  const rotated = yield* call("POST", refresh, refresh, { json: { refresh_token: pair.refresh_token } })
  expect(rotated.status, rotated.text).toBe(200)
  yield* call("POST", refresh, refresh, { json: { refresh_token: pair.refresh_token } })
  const revoke = "/api/v1/auth/revoke"
  yield* call("POST", revoke, revoke, { json: { token: second.body.data.refresh_token } })
  yield* call("POST", revoke, revoke, { json: {} })

  // Password change (a wrong current password is a 401 without a challenge), then logout.
  const current = rotated.body.data.token as string
  const changePassword = "/api/v1/auth/change-password"
  yield* call("POST", changePassword, changePassword, {
    token: current,
    json: { current_password: "not the password", new_password: "another fine long passphrase" }
  })
  yield* call("POST", changePassword, changePassword, {
    token: current,
    json: { current_password: PASSWORD, new_password: "another fine long passphrase" }
  })
  const logout = "/api/v1/auth/logout"
  yield* call("POST", logout, logout, { token: current, json: { scope: "nowhere" } })
  yield* call("POST", logout, logout, { token: current })
  yield* call("GET", "/api/v1/auth/me", "/api/v1/auth/me", { token: current })

  // A limit exhausted: sign-ups from one address (5 an hour), the sixth refused.
  const from = nextAddress()
  for (let i = 0; i < 6; i++) {
    yield* call("POST", SIGNUP, SIGNUP, { from, json: { email: `limited-${i}-${email}`, password: PASSWORD } })
  }
})

const ajv = new Ajv2020({ allErrors: true, strict: true })
addFormats(ajv)

/**
 * `schema` with the document's component schemas as its `$defs`, so that ajv resolves
 * its references (`#/components/schemas/X` becomes `#/$defs/X`).
 */
const withComponents = (document: Json, schema: unknown): Json => {
  const rewrite = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(rewrite)
      : isJson(value)
      ? Object.fromEntries(
        Object.entries(value).map(([key, inner]) =>
          key === "$ref" && typeof inner === "string"
            ? [key, inner.replace("#/components/schemas/", "#/$defs/")]
            : [key, rewrite(inner)]
        )
      )
      : value
  return { ...(rewrite(schema) as Json), $defs: rewrite(at(document, "components", "schemas")) }
}

/** What is wrong with `exchange` according to `document`; empty when it conforms. */
const mismatchesOf = (document: Json, { method, reply, template }: Exchange): ReadonlyArray<string> => {
  const where = `${method.toUpperCase()} ${template} → ${reply.status}`
  const operation = at(document, "paths", template, method)
  if (!isJson(operation)) return [`${where}: no such operation`]
  const response = at(operation, "responses", String(reply.status))
  if (!isJson(response)) return [`${where}: status not documented`]
  const problems: Array<string> = []
  const content = response["content"]
  if (isJson(content)) {
    const type = (reply.headers.get("content-type") ?? "").split(";")[0]!.trim()
    const media = content[type]
    if (!isJson(media)) problems.push(`${where}: content type ${type} not documented`)
    else {
      const validate = ajv.compile(withComponents(document, media["schema"]))
      if (!validate(reply.body)) problems.push(`${where}: body ${reply.text} — ${ajv.errorsText(validate.errors)}`)
    }
  } else if (reply.text !== "") problems.push(`${where}: a body where none is documented`)
  for (const [name, declared] of Object.entries(isJson(response["headers"]) ? response["headers"] : {})) {
    const ref = at(declared, "$ref")
    const header = typeof ref === "string" ? at(document, "components", "headers", ref.split("/").at(-1)!) : declared
    if (!isJson(header) || header["required"] !== true) continue
    const value = reply.headers.get(name)
    if (value === null) {
      problems.push(`${where}: header ${name} missing`)
      continue
    }
    const schema = withComponents(document, header["schema"])
    const typed = schema["type"] === "integer" ? Number(value) : value
    const validate = ajv.compile(schema)
    if (!validate(typed)) problems.push(`${where}: header ${name}: ${value} — ${ajv.errorsText(validate.errors)}`)
  }
  return problems
}

it.layer(service)("the API description against the live service", (it) => {
  it.effect(
    "every reply of a session covering every operation conforms to /openapi.json",
    () =>
      Effect.gen(function*() {
        yield* converse
        const reply = yield* request("GET", "/openapi.json")
        expect(reply.status).toBe(200)
        const document: Json = reply.body

        // Every operation was reached, with a success; every status a client can be made to see was seen.
        const operations = Object.entries(at(document, "paths") as Json).flatMap(([template, item]) =>
          Object.keys(item as Json).map((method) => `${method} ${template}`)
        )
        const succeeded = new Set(
          exchanges.filter(({ reply }) => reply.status < 300).map(({ method, template }) => `${method} ${template}`)
        )
        expect(operations.filter((operation) => !succeeded.has(operation))).toEqual([])
        const statuses = new Set(exchanges.map(({ reply }) => reply.status))
        for (const status of [200, 201, 204, 400, 401, 403, 404, 413, 422, 429]) expect(statuses).toContain(status)

        expect(exchanges.flatMap((exchange) => mismatchesOf(document, exchange))).toEqual([])
      }),
    { timeout: 60_000 }
  )

  it.effect(
    "the document passes redocly's recommended rules and carries the service's version",
    () =>
      Effect.gen(function*() {
        const reply = yield* request("GET", "/openapi.json")
        expect(reply.body.info.version).toBe(PACKAGE_VERSION)
        const dir = yield* temporaryDirectory("tasks-api-openapi-")
        const file = join(dir, "openapi.json")
        yield* Effect.promise(() => writeFile(file, reply.text))
        const linted = yield* run(process.execPath, [join(ROOT, "tools", "lint-openapi.mjs"), file])
        expect(linted.code, `${linted.stdout}\n${linted.stderr}`).toBe(0)
      }),
    { timeout: 60_000 }
  )
})
