/**
 * What the bench sends: the request sets (wrk scripts) of every scenario, made once from the seeded
 * users and their tokens and shared by every server, and the plan of rows (which scenario, at how
 * many connections, against which servers).
 */
import { CONNECTIONS, DELETE_POOL_RATE, PAGE, PASSWORD, SCENARIOS } from "./knobs.mjs"
import { threadsOf, writeDeleteLua, writeKeyedCreateLua, writeLua } from "./load.mjs"
import { log } from "./processes.mjs"
import { rpcRequestsOf } from "./rpc.mjs"
import { dropDeletePool, resetWriters, seedDeletePool } from "./seed.mjs"

export const ALL_SERVERS = ["service", "hardened", "bare"]
/** Why a row is the service's alone: the peers have four endpoints (list, get, create, signin). */
const PEERS_LACK = {
  update: "the peers have no PUT /api/tasks/:id",
  delete: "the peers have no DELETE /api/tasks/:id",
  rpc: "the peers have no /rpc",
  cursor: "the peers have no cursor"
}
/** An RPC call answered (an RPC's errors are 200s too): its Exit's `_tag`. */
const RPC_SUCCESS = "\"_tag\":\"Success\""
export const LIST_PATH = `/api/tasks?limit=${PAGE}&offset=0`

/**
 * The request sets. `users` are the seed's (regular, big, cursor, writers), `regular` and `writers`
 * those the sets act as, `taskRows` up to 10 tasks of each regular user, `authOf` a user's bearer
 * header. Answers each scenario's load ({ script, prepare? }), `cleanup` for what the delete loads
 * leave, and `resetWriters`, which takes the writers back to the seed's data.
 */
export const makeLoads = async ({ work, databaseUrl, users, regular, big, writers, taskRows, authOf, tokenOf }) => {
  const byId = new Map(regular.map((u) => [u.id, u]))
  const ownerOf = (t) => byId.get(t.user_id)
  const createBody = (i) =>
    JSON.stringify({ title: `Bench task ${i}`, description: "Created under load", priority: "urgent_important" })
  const load = (script, more = {}) => ({ script, ...more })

  // Each delete run (warm-up and measured alike) gets a pool of its own, sized for its length.
  const writerIds = writers.map((u) => u.id)
  const pools = []
  const deletePrepare = async (seconds, connections) => {
    const base = pools.length + 1
    const threads = threadsOf(connections)
    await seedDeletePool(databaseUrl, writerIds, base, threads, Math.ceil((seconds * DELETE_POOL_RATE) / threads))
    pools.push(base)
    return [String(base)]
  }
  let nonce = 0
  const keyedPrepare = async () => [`${process.pid}-${Date.now()}-${nonce++}`]

  const rpcLoads = SCENARIOS.has("rpc") ? await rpcScripts({ work, regular, taskRows, ownerOf, tokenOf }) : {}
  return {
    list: load(writeLua(work, "list", regular.map((u) => ({ method: "GET", path: LIST_PATH, auth: authOf(u) })))),
    get: load(writeLua(
      work,
      "get",
      taskRows.map((t) => ({ method: "GET", path: `/api/tasks/${t.id}`, auth: authOf(ownerOf(t)) }))
    )),
    create: load(writeLua(
      work,
      "create",
      writers.map((u, i) => ({ method: "POST", path: "/api/tasks", auth: authOf(u), body: createBody(i) }))
    )),
    "create (Idempotency-Key)": load(
      writeKeyedCreateLua(
        work,
        "create-keyed",
        writers.map((u, i) => ({ path: "/api/tasks", auth: authOf(u), body: createBody(i) }))
      ),
      { prepare: keyedPrepare }
    ),
    // The read rows' tasks, changed in place: their count (and so the list's) stays as seeded.
    update: load(writeLua(
      work,
      "update",
      taskRows.map((t, i) => ({
        method: "PUT",
        path: `/api/tasks/${t.id}`,
        auth: authOf(ownerOf(t)),
        body: JSON.stringify({ title: `Updated ${i}`, priority: "not_urgent_important", is_completed: i % 2 === 0 })
      }))
    )),
    delete: load(writeDeleteLua(work, "delete", writers.map(authOf)), { prepare: deletePrepare }),
    offset: load(writeLua(work, "offset", [{
      method: "GET",
      path: `/api/tasks?limit=${PAGE}&offset=4900`,
      auth: authOf(big)
    }])),
    signin: load(writeLua(
      work,
      "signin",
      users.map((u) => ({
        method: "POST",
        path: "/api/v1/auth/signin",
        body: JSON.stringify({ email: u.email, password: PASSWORD })
      }))
    )),
    ...rpcLoads,
    cleanup: async () => {
      for (const base of pools.splice(0)) await dropDeletePool(databaseUrl, writerIds, base)
    },
    resetWriters: () => resetWriters(databaseUrl, writerIds)
  }
}

/** `ListTasks` and `GetTask` over `/rpc`, each call the request the typed client makes for it. */
const rpcScripts = async ({ work, regular, taskRows, ownerOf, tokenOf }) => {
  log(`framing ${regular.length + taskRows.length} RPC calls with the typed client`)
  const lists = await rpcRequestsOf(
    regular.map((u) => ({ tag: "ListTasks", payload: { limit: PAGE, offset: 0 }, token: tokenOf(u) }))
  )
  const gets = await rpcRequestsOf(
    taskRows.map((t) => ({ tag: "GetTask", payload: { id: t.id }, token: tokenOf(ownerOf(t)) }))
  )
  return {
    "rpc ListTasks": { script: writeLua(work, "rpc-list", lists, { okBody: RPC_SUCCESS }) },
    "rpc GetTask": { script: writeLua(work, "rpc-get", gets, { okBody: RPC_SUCCESS }) }
  }
}

/**
 * The rows, in order: [{ scenario, connections, loads, servers, serviceOnly? }]; the first load of
 * a row is the one reported. `cursorPages` (when the cursor walk succeeded) holds the first-page and
 * last-cursor-page loads.
 */
export const planRows = (loads, { cursorPages } = {}) => {
  const plan = []
  const row = (scenario, connections, rowLoads, lacks) =>
    plan.push({
      scenario,
      connections,
      loads: rowLoads,
      servers: lacks === undefined ? ALL_SERVERS : ["service"],
      ...(lacks === undefined ? {} : { serviceOnly: PEERS_LACK[lacks] })
    })
  // Each REST read beside its RPC twin, so the two CPU figures come from neighbouring runs.
  const byConnections = [
    ["list", "list"],
    ["rpc ListTasks", "rpc", "rpc"],
    ["get", "get"],
    ["rpc GetTask", "rpc", "rpc"],
    ["create", "create"],
    ["update", "update", "update"],
    ["delete", "delete", "delete"],
    ["offset", "offset"]
  ]
  for (const [scenario, enabledBy, lacks] of byConnections) {
    if (!SCENARIOS.has(enabledBy)) continue
    for (const connections of CONNECTIONS) row(scenario, connections, [{ ...loads[scenario], connections }], lacks)
  }
  if (cursorPages) {
    row("first page (10k tasks)", 32, [{ ...cursorPages.first, connections: 32 }], "cursor")
    row("cursor page at end (10k tasks)", 32, [{ ...cursorPages.last, connections: 32 }], "cursor")
  }
  if (SCENARIOS.has("signin")) row("signin", 16, [{ ...loads.signin, connections: 16 }])
  if (SCENARIOS.has("mixed")) {
    const both = [{ ...loads.list, connections: 16 }, { ...loads.signin, connections: 16 }]
    row("mixed (list; signin alongside)", 16, both)
  }
  return plan
}

/** The cursor rows' two loads for the user with 10,000 tasks: its first page, and the walk's last cursor. */
export const cursorLoads = (work, auth, cursor) => ({
  first: { script: writeLua(work, "first-page", [{ method: "GET", path: `/api/tasks?limit=${PAGE}`, auth }]) },
  last: {
    script: writeLua(work, "cursor-page", [{
      method: "GET",
      path: `/api/tasks?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`,
      auth
    }])
  }
})
