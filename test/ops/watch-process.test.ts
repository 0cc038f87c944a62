/**
 * A `WatchTasks` stream in the built service (a child process, real clock, real signal): it outlives
 * REQUEST_TIMEOUT (the deadline holds until the first response bytes) with one access line, and on
 * SIGTERM the client gets a final frame (the typed `shutting_down` failure) and a clean end of the
 * response within the drain.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readyService } from "../support/serviceProcess.js"
import { suiteDatabase } from "../support/TestService.js"

const REQUEST_TIMEOUT_MS = 1_000
const LIVES_MS = 3_000

type Line = Record<string, unknown>

it.live(
  "a watch outlives REQUEST_TIMEOUT with one access line, and ends with a final frame on SIGTERM",
  () =>
    Effect.scoped(Effect.gen(function*() {
      const database = yield* suiteDatabase()
      const svc = yield* readyService({
        DATABASE_URL: database.url,
        JWT_SECRET: "watch-process-secret-0123456789-abcdefghij",
        LOG_FORMAT: "json",
        LOG_LEVEL: "info",
        REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
        SHUTDOWN_GRACE: "5s"
      })
      const outcome = yield* Effect.promise(async () => {
        const signup = await fetch(`${svc.baseUrl}/api/v1/auth/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "watch@example.com", password: "correct horse battery staple" })
        })
        const token = ((await signup.json()) as { data: { token: string } }).data.token
        const response = await fetch(`${svc.baseUrl}/rpc`, {
          method: "POST",
          headers: { "content-type": "application/ndjson", authorization: `Bearer ${token}` },
          body: JSON.stringify({ _tag: "Request", id: "1", tag: "WatchTasks", payload: {}, headers: [] }) + "\n"
        })
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        let text = ""
        let signalled = false
        const signal = setTimeout(() => {
          signalled = true
          svc.child.kill("SIGTERM")
        }, LIVES_MS)
        let ended: "clean" | string
        try {
          while (true) {
            const { done, value } = await reader.read()
            if (done) break
            text += decoder.decode(value, { stream: true })
          }
          ended = "clean"
        } catch (error) {
          ended = String(error)
        }
        clearTimeout(signal)
        return { status: response.status, text, ended, signalled }
      })
      const frames = outcome.text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line)
      // The stream ran until the signal, well past REQUEST_TIMEOUT, and ended cleanly after it.
      expect(outcome.status).toBe(200)
      expect(outcome.signalled, outcome.text).toBe(true)
      expect(outcome.ended).toBe("clean")
      expect(frames[0]).toMatchObject({ _tag: "Chunk", values: [{ _tag: "CaughtUp" }] })
      const last = frames.at(-1)
      expect(last, outcome.text).toMatchObject({ _tag: "Exit", exit: { _tag: "Failure" } })
      expect(JSON.stringify(last)).toContain("shutting_down")
      expect(JSON.stringify(frames)).not.toContain("request_timeout")

      yield* svc.exited
      const access = svc.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Line)
        .filter((l) => l.event === "http.request" && l.route === "/rpc")
      expect(access.map((l) => l.status), svc.output()).toEqual([200])
    })),
  60_000
)
