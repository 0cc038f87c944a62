/**
 * The drills' own logic (bench/drills, `npm run drill`): percentiles and verdicts, the HTTP
 * response parser of their raw-socket clients, and the write verification against rows in a real
 * database (lost, duplicated, phantom, never acknowledged).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import { inject } from "vitest"
import {
  atLeast,
  atMost,
  below,
  check,
  holds,
  percentile,
  slope,
  summarize,
  verdictOf
} from "../../bench/drills/verdict.mjs"
import { parseResponse } from "../../bench/drills/wire.mjs"
import { keyOfTitle, rowsOfRun, verifyWrites, WriteLedger, writesOutAt } from "../../bench/drills/writes.mjs"
import { createDatabase, dropDatabase, withAdmin } from "../support/postgres.js"

describe("percentiles", () => {
  it("are nearest-rank, and absent without values", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i)
    expect(percentile(hundred, 50)).toBe(50)
    expect(percentile(hundred, 99)).toBe(99)
    expect(percentile(hundred, 100)).toBe(100)
    expect(percentile([7], 99)).toBe(7)
    expect(percentile([], 99)).toBeNull()
    // One slow answer in ten decides a p99, not a p50.
    expect(summarize([5, 5, 5, 5, 5, 5, 5, 5, 5, 900])).toEqual({ n: 10, p50: 5, p99: 900, max: 900 })
  })

  it("the heap slope is least squares: flat is 0, a leak its rate", () => {
    expect(slope([{ x: 0, y: 50 }, { x: 1, y: 50 }, { x: 2, y: 50 }])).toBe(0)
    expect(slope([{ x: 0, y: 50 }, { x: 1, y: 53.5 }, { x: 2, y: 57 }])).toBeCloseTo(3.5)
    expect(slope([{ x: 1, y: 50 }])).toBeNull()
  })
})

describe("verdicts", () => {
  it("bounds: at the limit passes, past it or unmeasured fails", () => {
    expect(atMost("lost", 0, 0).status).toBe("pass")
    expect(atMost("lost", 1, 0).status).toBe("fail")
    expect(atMost("recovery", null, 5, " s").status).toBe("fail")
    expect(below("p99", 1000, 1000, " ms").status).toBe("fail")
    expect(below("p99", 999, 1000, " ms")).toMatchObject({ status: "pass", bound: "< 1000 ms", value: 999 })
    expect(atLeast("share", 98.9, 99, " %").status).toBe("fail")
    expect(holds("alive", false, "exit 134")).toMatchObject({ status: "fail", value: "no", note: "exit 134" })
  })

  it("a drill passes only with no failed check and at least one passed", () => {
    const pass = atMost("lost", 0, 0)
    const fail = atMost("duplicated", 2, 0)
    const notApplicable = check({ what: "shed", value: 0, bound: "> 0", pass: null })
    expect(notApplicable.status).toBe("n/a")
    expect(verdictOf([pass, notApplicable])).toBe("pass")
    expect(verdictOf([pass, fail, notApplicable])).toBe("fail")
    expect(verdictOf([notApplicable])).toBe("fail")
    expect(verdictOf([])).toBe("fail")
  })
})

describe("the raw HTTP parser", () => {
  it("waits for a whole response, by Content-Length or chunks, and keeps what follows", () => {
    const plain = Buffer.from(
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusyHTTP/1.1"
    )
    expect(parseResponse(plain.subarray(0, plain.length - 10))).toBeNull()
    const parsed = parseResponse(plain)
    expect(parsed?.status).toBe(503)
    expect(parsed?.headers["retry-after"]).toBe("1")
    expect(parsed?.body.toString()).toBe("busy")
    expect(parsed?.rest.toString()).toBe("HTTP/1.1")
    const chunked = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    expect(parseResponse(chunked.subarray(0, chunked.length - 3))).toBeNull()
    expect(parseResponse(chunked)?.body.toString()).toBe("abcde")
  })
})

describe("writes out at a signal", () => {
  it("are those sent before and answered after; a shed one is refused, any other non-2xx failed", () => {
    const answer = (at: number, ms: number, status: number, code: string | null = null) => ({ at, ms, status, code })
    const answers = [
      answer(0, 50, 201), // answered before the signal at 100
      answer(90, 30, 201),
      answer(95, 10, 503, "overloaded"),
      answer(96, 20, 503, "request_timeout"),
      answer(97, 40, 0),
      answer(120, 5, 201) // sent after
    ]
    const { failed, out, refused } = writesOutAt(answers, 100)
    expect(out.map((a) => a.at)).toEqual([90, 95, 96, 97])
    expect(refused.map((a) => a.at)).toEqual([95])
    expect(failed.map((a) => a.at)).toEqual([96, 97])
  })
})

describe("write verification against the database", () => {
  let database: { name: string; url: string }
  const userId = randomUUID()
  beforeAll(async () => {
    database = await createDatabase(inject("pgAdminUrl"))
    await withAdmin(
      database.url,
      (c) =>
        c.query(`INSERT INTO "user" (id, email, email_verified, name) VALUES ($1, 'drill@example.com', true, 'd')`, [
          userId
        ])
    )
  })
  afterAll(() => dropDatabase(inject("pgAdminUrl"), database.name))

  const insertTask = (title: string) =>
    withAdmin(database.url, async (c) => {
      const id = randomUUID()
      await c.query(`INSERT INTO task (id, user_id, title, priority) VALUES ($1, $2, $3, 'urgent_important')`, [
        id,
        userId,
        title
      ])
      return id
    })
  const titleOf = (body: string): string => JSON.parse(body).title

  it("counts lost, duplicated, phantom and unacknowledged writes; others' tasks are not counted", async () => {
    const ledger = new WriteLedger()
    const [ok, lost, twice, phantom, unanswered] = Array.from({ length: 5 }, () => ledger.next())
    expect(new Set([ok.key, lost.key, twice.key, phantom.key, unanswered.key]).size).toBe(5)
    expect(keyOfTitle(titleOf(ok.body))).toBe(ok.key)
    // Acknowledged and present once.
    ledger.acknowledge(ok.key, await insertTask(titleOf(ok.body)))
    // Acknowledged, but its row is missing.
    ledger.acknowledge(lost.key, randomUUID())
    // Acknowledged, and written twice (a retry that was not replayed).
    ledger.acknowledge(twice.key, await insertTask(titleOf(twice.body)))
    await insertTask(titleOf(twice.body))
    // Written, but the client was never told so.
    await insertTask(titleOf(phantom.body))
    // `unanswered` was sent, never acknowledged and left no row: fine, but counted.
    const other = new WriteLedger()
    await insertTask(titleOf(other.next().body))
    await insertTask("a user's own task")

    const rows = await rowsOfRun(database.url, ledger.runId)
    expect(rows).toHaveLength(4)
    const verified = verifyWrites(ledger, rows)
    expect(verified).toMatchObject({
      attempted: 5,
      acknowledged: 3,
      rows: 4,
      lost: 1,
      duplicated: 1,
      phantom: 1,
      unacknowledged: 2
    })
    expect(verified.examples).toEqual({ lost: [lost.key], duplicated: [twice.key], phantom: [phantom.key] })
  })

  it("a clean run has nothing to report", async () => {
    const ledger = new WriteLedger()
    for (let i = 0; i < 3; i++) {
      const write = ledger.next()
      ledger.acknowledge(write.key, await insertTask(titleOf(write.body)))
    }
    expect(verifyWrites(ledger, await rowsOfRun(database.url, ledger.runId))).toMatchObject({
      attempted: 3,
      acknowledged: 3,
      rows: 3,
      lost: 0,
      duplicated: 0,
      phantom: 0,
      unacknowledged: 0
    })
  })
})
