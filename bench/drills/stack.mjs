/**
 * What the drills run on, built from the bench's modules: the built service (production mode, the
 * heap bounds of `npm start`), an embedded PostgreSQL, the bench's seed and signins, plus what only
 * drills need: a liveness probe thread, signals to whole process trees, Redis and nginx from Debian.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { debianBinary } from "../../test/support/debianPackage.ts"
import { startPostgresServer } from "../database.mjs"
import { ROOT } from "../knobs.mjs"
import { cleanups, freePort, log, processTree, sleep, startChild } from "../processes.mjs"
import { seed, taskIdsOf } from "../seed.mjs"
import { signInPairs, startService, UNREACHABLE_RATE } from "../servers.mjs"

export const LOG_DIR = join(tmpdir(), "tasks-api-drills")

/** Builds dist/ when stale, starts PostgreSQL (commits durable against a killed server: synchronous_commit on). */
export const prepare = async () => {
  mkdirSync(LOG_DIR, { recursive: true })
  const build = spawnSync(process.execPath, ["tools/build.mjs", "--if-stale"], { cwd: ROOT, stdio: "inherit" })
  if (build.status !== 0) throw new Error("the build failed")
  log("starting an embedded PostgreSQL")
  // fsync stays off (an OS crash is not drilled); a killed PostgreSQL must not lose acknowledged commits.
  const postgres = await startPostgresServer({ synchronous_commit: "on" })
  return { databaseUrl: postgres.url, postgres, jwtSecret: randomBytes(32).toString("hex") }
}

/** The drills' service settings on top of the bench's: refreshes never limited (tokens are minted by refresh). */
const DRILL_ENV = { RATE_LIMIT_REFRESH_PER_SESSION: UNREACHABLE_RATE, RATE_LIMIT_REFRESH_PER_IP: UNREACHABLE_RATE }

/**
 * A service instance on the stack's database, with its health port (HEALTH_PORT, where the drills
 * probe liveness as an orchestrator would: `healthUrl`); its log in LOG_DIR/<name>.log.
 */
export const service = async (stack, name, { env = {}, nodeArgs = [] } = {}) => {
  const logFile = join(LOG_DIR, `${name}.log`)
  const healthPort = await freePort()
  const started = await startService(stack.databaseUrl, stack.jwtSecret, logFile, {
    env: { ...DRILL_ENV, HEALTH_PORT: String(healthPort), ...env },
    nodeArgs,
    append: true
  })
  log(`${name} on ${started.baseUrl}, health port ${healthPort} (pid ${started.child.pid}, logs in ${logFile})`)
  return { ...started, healthUrl: `http://127.0.0.1:${healthPort}`, logFile }
}

/**
 * The bench's seed, then `count` of its users signed in through `baseUrl`: { users, sessions }, a
 * session being { user, pair (token and refresh_token), taskIds (up to 10 of the user's tasks) }.
 */
export const seedAndSignIn = async (stack, baseUrl, count) => {
  const { users } = await seed(stack.databaseUrl)
  const signedIn = users.slice(0, count)
  const pairs = await signInPairs(baseUrl, signedIn.map((u) => u.email))
  const rows = await taskIdsOf(stack.databaseUrl, signedIn.map((u) => u.id))
  const sessions = signedIn.map((user) => ({
    user,
    pair: pairs.get(user.email),
    taskIds: rows.filter((row) => row.user_id === user.id).map((row) => row.id)
  }))
  return { users, sessions }
}

/**
 * `total` distinct access tokens from the signed-in sessions, the rest minted by refreshing them
 * (no bcrypt): every refresh answers a new access token of the same session. Answers [{ token, session }].
 */
export const tokens = async (baseUrl, sessions, total) => {
  const minted = sessions.map((session) => ({ token: session.pair.token, session }))
  const chain = async (session) => {
    let refreshToken = session.pair.refresh_token
    while (minted.length < total) {
      const response = await fetch(`${baseUrl}/api/v1/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken })
      })
      const body = await response.json()
      // Shed before anything read the body (the refresh token is unspent): wait as told, then again.
      if (response.status === 503 && body.error_code === "overloaded") {
        await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get("retry-after") ?? 1) * 1000))
        continue
      }
      if (!response.ok) throw new Error(`refresh: ${response.status} ${JSON.stringify(body)}`)
      minted.push({ token: body.data.token, session })
      refreshToken = body.data.refresh_token
    }
  }
  await Promise.all(sessions.map(chain))
  return minted.slice(0, total)
}

/** Probes `${baseUrl}/health/live` from its own thread until `stop()`, which answers the probes. */
export const livenessProbe = (baseUrl, everyMs = 250, timeoutMs = 2000) => {
  const worker = new Worker(new URL("./probe-worker.mjs", import.meta.url), {
    workerData: { url: `${baseUrl}/health/live`, everyMs, timeoutMs }
  })
  const result = new Promise((resolve, reject) => {
    worker.once("message", resolve)
    worker.once("error", reject)
  })
  const stop = async () => {
    worker.postMessage("stop")
    const probes = await result
    await worker.terminate()
    return probes
  }
  cleanups.push(() => worker.terminate())
  return { stop }
}

/** Sends `signal` to every process of a tree (SIGSTOP / SIGCONT freeze and thaw a whole PostgreSQL). */
export const signalTree = (rootPid, signal) => {
  for (const pid of processTree(rootPid)) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

/** The postmaster's pid, from its lock file. */
export const postmasterPid = (stack) =>
  Number(readFileSync(join(stack.postgres.databaseDir, "postmaster.pid"), "utf8").split("\n")[0])

/** Whether a pid is alive. */
export const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Sends `signal` to a child and resolves once it has exited (at once if it had). */
export const signalAndWait = (child, signal) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill(signal)
  })

const answersPing = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("PING\r\n"))
    socket.once("data", (data) => {
      socket.destroy()
      resolve(data.toString().startsWith("+PONG"))
    })
    socket.once("error", () => resolve(false))
  })

/**
 * Debian's redis-server (installed when missing, as the tests do) on a free port; `stop` kills it,
 * `start` restarts it, `signal` freezes or thaws it.
 */
export const startRedis = async () => {
  const binary = debianBinary("redis-server", "redis-server")
  const port = await freePort()
  let child = null
  const start = async () => {
    child = startChild("redis", binary, [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no"
    ], {
      stdio: "ignore"
    }, 2000)
    for (let i = 0; i < 100 && !(await answersPing(port)); i++) await sleep(50)
  }
  const stop = async () => {
    if (child !== null) await signalAndWait(child, "SIGKILL")
    child = null
  }
  await start()
  const signal = (name) => child?.kill(name)
  return { url: `redis://127.0.0.1:${port}`, start, stop, signal }
}

/**
 * nginx (Debian's, installed when missing) on a free port in front of `upstreamPorts`, round robin,
 * keep-alive to the upstreams; a failed connection or a 502 moves an idempotent request to the next
 * instance (nginx never retries a POST on its own).
 */
export const startNginx = async (upstreamPorts) => {
  const binary = debianBinary("nginx", "nginx")
  const port = await freePort()
  const dir = join(LOG_DIR, "nginx")
  mkdirSync(dir, { recursive: true })
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `${name}_temp_path ${join(dir, name)};`)
    .join("\n  ")
  const conf = `${process.getuid?.() === 0 ? "user root;\n" : ""}daemon off;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 8192; }
http {
  access_log off;
  ${temp}
  upstream tasks {
    ${upstreamPorts.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join("\n    ")}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tasks;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 1s;
      proxy_next_upstream error timeout http_502;
    }
  }
}
`
  const confFile = join(dir, "nginx.conf")
  writeFileSync(confFile, conf)
  const child = startChild("nginx", binary, ["-c", confFile, "-p", dir, "-e", join(dir, "error.log")], {
    stdio: ["ignore", "ignore", "inherit"]
  }, 3000)
  const baseUrl = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode} (see ${dir}/error.log)`)
    const up = await fetch(`${baseUrl}/health/live`).then((r) => r.ok, () => false)
    if (up) break
    await sleep(100)
  }
  log(`nginx on ${baseUrl} in front of ${upstreamPorts.join(", ")} (conf ${confFile})`)
  return { baseUrl, port, child }
}
