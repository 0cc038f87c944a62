/** Real HTTP over loopback to the suite's service. */
import { Effect } from "effect"
import { TestServer } from "./TestService.js"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (undefined when empty). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  readonly body: any
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string
  /** Serialised as JSON. */
  readonly json?: unknown
  /** Sent as is (for malformed bodies). */
  readonly raw?: string
  readonly headers?: Record<string, string>
}

export const request = (method: string, path: string, options: RequestOptions = {}) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined
    if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      headers["content-type"] ??= "application/json"
    } else if (options.raw !== undefined) {
      body = options.raw
      headers["content-type"] ??= "application/json"
    }
    const response = yield* Effect.promise(() => fetch(`${baseUrl}${path}`, { method, headers, body }))
    const text = yield* Effect.promise(() => response.text())
    let parsed: Reply["body"] = undefined
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
    }
    return { status: response.status, headers: response.headers, text, body: parsed } satisfies Reply
  })

export const get = (path: string, options?: RequestOptions) => request("GET", path, options)
export const post = (path: string, options?: RequestOptions) => request("POST", path, options)
export const put = (path: string, options?: RequestOptions) => request("PUT", path, options)
export const patch = (path: string, options?: RequestOptions) => request("PATCH", path, options)
export const del = (path: string, options?: RequestOptions) => request("DELETE", path, options)

let accountCounter = 0
/** Signs up a new user; answers its credentials and token pair. */
export const signup = (prefix = "user") =>
  Effect.gen(function*() {
    const email = `${prefix}-${process.pid}-${Date.now().toString(36)}-${accountCounter++}@example.com`
    const password = "correct horse battery staple"
    const reply = yield* post("/api/v1/auth/signup", { json: { email, password, name: prefix } })
    if (reply.status !== 200) throw new Error(`signup failed: ${reply.status} ${reply.text}`)
    const data = reply.body.data as {
      readonly token: string
      readonly user_id: string
      readonly refresh_token: string
    }
    return { email, password, token: data.token, userId: data.user_id, refreshToken: data.refresh_token }
  })
