/**
 * The processes the bench starts: every one registers its stop in `cleanups` (run in reverse order,
 * once, by `cleanup`); children are spawned, polled until ready, stopped, and their memory sampled.
 */
import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"

/** Each started resource pushes its stop function here; `cleanup` runs them in reverse order, once. */
export const cleanups = []
let cleaning = false
export const cleanup = async () => {
  if (cleaning) return
  cleaning = true
  while (cleanups.length > 0) {
    const stop = cleanups.pop()
    try {
      await stop()
    } catch (error) {
      console.error("cleanup:", error?.message ?? error)
    }
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export const log = (message) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)

/**
 * The service's own modules, from its build (dist/, which main() makes first): imported when first
 * used, so that the bench's modules load before the build.
 */
export const fromBuild = (module) => import(new URL(`../dist/infra/platform/${module}.js`, import.meta.url))

/** A free loopback port, as the tests take theirs (FreePort.ts). */
export const freePort = async () => (await fromBuild("FreePort")).freePort()

/** Spawns a long-running child and registers its stop (SIGTERM, SIGKILL after `graceMs`). */
export const startChild = (name, command, args, options, graceMs = 15_000) => {
  const child = spawn(command, args, options)
  child.on("error", (error) => console.error(`${name}: ${error.message}`))
  cleanups.push(() => stopChild(child, graceMs))
  return child
}

export const stopChild = (child, graceMs) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Polls `url` every `everyMs` until it answers 200; fails early if the child exits. */
export const waitReady = async (url, child, name, within = 90_000, everyMs = 200) => {
  const deadline = Date.now() + within
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
    if (ok) return
    await sleep(everyMs)
  }
  throw new Error(`${name} never became ready at ${url}`)
}

/** Peak-tracking sampler of the summed VmRSS (kB) of a process and all its descendants. */
export const rssSampler = (rootPid, everyMs = 200) => {
  let peak = 0
  const sample = () => {
    peak = Math.max(peak, treeRssKb(rootPid))
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return () => {
    clearInterval(timer)
    sample()
    return peak
  }
}

/** The pids of a process and all its descendants (from /proc). */
export const processTree = (rootPid) => {
  const children = new Map()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      // The command name is parenthesised and may hold spaces: the ppid is the 2nd field after ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid).push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  const tree = []
  const pending = [rootPid]
  while (pending.length > 0) {
    const pid = pending.pop()
    tree.push(pid)
    pending.push(...(children.get(pid) ?? []))
  }
  return tree
}

const treeRssKb = (rootPid) => {
  let total = 0
  for (const pid of processTree(rootPid)) {
    try {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
      if (match) total += Number(match[1])
    } catch {
      // ended while we looked
    }
  }
  return total
}
