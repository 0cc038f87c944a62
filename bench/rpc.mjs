/**
 * `POST /rpc` requests framed as the shipped typed client frames them (src/client/TasksRpcClient.ts:
 * effect/rpc over HTTP, NDJSON): one call per request, one `Request` message a line, the bearer
 * token in the message's headers, trace context in the HTTP headers. Rather than copy that framing
 * here (and drift from it), the client itself makes each call against a loopback server that only
 * records what it is sent.
 */
import { Effect } from "effect"
import { createServer } from "node:http"
import { ROOT } from "./knobs.mjs"

/** The HTTP headers of a call that belong to the framing (not to fetch, nor to the connection). */
const FRAMING_HEADERS = ["content-type", "traceparent", "b3"]

/**
 * For each call { tag, payload, token }: the request the typed client sends for it, as
 * { method, path, headers, body } (the body carries the token).
 */
export const rpcRequestsOf = async (calls) => {
  const { makeTasksRpcClient } = await import(new URL("dist/client/index.js", `file://${ROOT}/`).href)
  const { FetchHttpClient } = await import("effect/http")
  const sent = []
  // Refuses every call, so the client fails it at once instead of waiting for an answer.
  const recorder = createServer((request, response) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => {
      const headers = Object.fromEntries(FRAMING_HEADERS.flatMap((name) => {
        const value = request.headers[name]
        return typeof value === "string" ? [[name, value]] : []
      }))
      sent.push({ method: request.method, path: request.url, headers, body })
      response.writeHead(503).end()
    })
  })
  await new Promise((resolve) => recorder.listen(0, "127.0.0.1", resolve))
  const baseUrl = `http://127.0.0.1:${recorder.address().port}`
  try {
    const requests = []
    for (const { payload, tag, token } of calls) {
      const before = sent.length
      await Effect.runPromise(
        Effect.gen(function*() {
          const client = yield* makeTasksRpcClient({ baseUrl, accessToken: token })
          yield* Effect.exit(client[tag](payload))
        }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
      )
      if (sent.length !== before + 1) throw new Error(`the RPC client sent ${sent.length - before} requests for ${tag}`)
      requests.push(sent[before])
    }
    return requests
  } finally {
    recorder.close()
  }
}
