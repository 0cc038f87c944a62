/**
 * Write verification: every task a drill creates carries its key (`Idempotency-Key`, and in its
 * title), so afterwards the rows in PostgreSQL are matched against what the clients were told.
 * Lost: acknowledged (2xx) but no row with that id. Duplicated: two rows for one key. Phantom: a row
 * whose write was never acknowledged (the client was told it failed, or never heard back).
 */
import { randomBytes } from "node:crypto"
import pg from "pg"

const TITLE_PREFIX = "drill "

/** A drill run's writes: the keys it sent and the task ids acknowledged for them. */
export class WriteLedger {
  constructor(runId = `d${Date.now().toString(36)}${randomBytes(3).toString("hex")}`) {
    this.runId = runId
    this.count = 0
    this.attempted = new Set()
    this.acknowledged = new Map()
  }

  /** A new logical write: its key and the body that every retry of it sends again unchanged. */
  next() {
    const key = `${this.runId}-${++this.count}`
    this.attempted.add(key)
    return {
      key,
      body: JSON.stringify({
        title: `${TITLE_PREFIX}${key}`,
        description: "written by a drill",
        priority: "urgent_important"
      })
    }
  }

  /** A 2xx answer for `key` with the task it names. */
  acknowledge(key, taskId) {
    this.acknowledged.set(key, taskId)
  }
}

/** The key a drill's task title carries, or null for any other task. */
export const keyOfTitle = (title) => (title.startsWith(TITLE_PREFIX) ? title.slice(TITLE_PREFIX.length) : null)

/** The tasks of run `runId` in the database: [{ id, title }]. */
export const rowsOfRun = async (databaseUrl, runId) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query("SELECT id, title FROM task WHERE title LIKE $1 ORDER BY id", [
      `${TITLE_PREFIX}${runId}-%`
    ])
    return rows
  } finally {
    await client.end()
  }
}

/**
 * The ledger against the rows: counts and the keys of each kind (a few, for the report).
 * `unacknowledged` keys were sent but never answered 2xx (fine when they left no row).
 */
export const verifyWrites = (ledger, rows) => {
  const rowsByKey = new Map()
  for (const row of rows) {
    const key = keyOfTitle(row.title)
    if (key === null) continue
    if (!rowsByKey.has(key)) rowsByKey.set(key, [])
    rowsByKey.get(key).push(row.id)
  }
  const lost = [...ledger.acknowledged].filter(([key, id]) => !(rowsByKey.get(key) ?? []).includes(id)).map(([k]) => k)
  const duplicated = [...rowsByKey].filter(([, ids]) => ids.length > 1).map(([key]) => key)
  const phantom = [...rowsByKey.keys()].filter((key) => !ledger.acknowledged.has(key))
  const unacknowledged = [...ledger.attempted].filter((key) => !ledger.acknowledged.has(key))
  return {
    attempted: ledger.attempted.size,
    acknowledged: ledger.acknowledged.size,
    rows: rows.length,
    lost: lost.length,
    duplicated: duplicated.length,
    phantom: phantom.length,
    unacknowledged: unacknowledged.length,
    examples: { lost: lost.slice(0, 5), duplicated: duplicated.slice(0, 5), phantom: phantom.slice(0, 5) }
  }
}

/**
 * The answers to writes that were out at `at` (sent before, answered after), split: `refused` were
 * shed by the front (503 overloaded: refused before any work, never in flight), `failed` are the
 * others not answered 2xx (a write in flight the service did not finish).
 */
export const writesOutAt = (answers, at) => {
  const out = answers.filter((a) => a.at < at && a.at + a.ms >= at)
  const refused = out.filter((a) => a.status === 503 && a.code === "overloaded")
  const failed = out.filter((a) => !(a.status >= 200 && a.status < 300) && !refused.includes(a))
  return { out, refused, failed }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A client creating tasks in a loop, each with an `Idempotency-Key`, until `stop()`. With `retry`,
 * a write that failed (non-2xx, reset, timeout) is sent again with the same key and body until it
 * is acknowledged or `giveUpAt` passes; without, each key is sent once. `baseUrl()` is read per
 * attempt (a restarted service may move). Every answer goes to `answers`: { at, ms, status, code }
 * (status 0: no HTTP answer).
 */
export const startWriter = ({ baseUrl, token, ledger, retry, answers, timeoutMs = 15_000, pauseMs = 0 }) => {
  let stopping = false
  let giveUpAt = Infinity
  let inFlight = false
  const attempt = async (write) => {
    const at = Date.now()
    inFlight = true
    try {
      const response = await fetch(`${baseUrl()}/api/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "idempotency-key": write.key },
        body: write.body,
        signal: AbortSignal.timeout(timeoutMs)
      })
      const text = await response.text()
      let body = null
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON (a proxy's error page): the status says enough
      }
      answers.push({ at, ms: Date.now() - at, status: response.status, code: body?.error_code ?? null })
      if (response.status >= 200 && response.status < 300) {
        ledger.acknowledge(write.key, body.data.id)
        return true
      }
      return false
    } catch {
      answers.push({ at, ms: Date.now() - at, status: 0, code: null })
      return false
    } finally {
      inFlight = false
    }
  }
  const done = (async () => {
    while (!stopping) {
      const write = ledger.next()
      let ok = await attempt(write)
      while (!ok && retry && Date.now() < giveUpAt) {
        await sleep(200)
        ok = await attempt(write)
      }
      if (pauseMs > 0) await sleep(pauseMs)
    }
  })()
  return {
    inFlight: () => inFlight,
    /** Stops after the current write (its retries end at `giveUpAt`); resolves when the loop has ended. */
    stop: (giveUpAfterMs = 30_000) => {
      stopping = true
      giveUpAt = Date.now() + giveUpAfterMs
      return done
    }
  }
}

/**
 * Seconds from `since` to the first write acknowledged (201) after it, waiting up to `withinMs`
 * for one; null when none came: how soon the service served again after a fault ended.
 */
export const firstAcknowledgedAfter = async (answers, since, withinMs = 20_000) => {
  while (Date.now() < since + withinMs) {
    const first = answers.find((a) => a.status === 201 && a.at + a.ms >= since)
    if (first) return (first.at + first.ms - since) / 1000
    await sleep(100)
  }
  return null
}
