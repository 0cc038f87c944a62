/**
 * The service's live heap after a full GC, read through the V8 inspector (the service started with
 * `--inspect=127.0.0.1:<port>`; loopback only, nothing in the service changes): the figure that
 * shows a leak, where RSS and heap-in-use mostly show when V8 last collected.
 */
import { sleep } from "../processes.mjs"

/** Connects to the inspector on `port`; answers { liveHeapBytes(), close() }. */
export const connectInspector = async (port) => {
  let targets = null
  for (let i = 0; i < 50 && targets === null; i++) {
    targets = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json(), () => null)
    if (targets === null) await sleep(100)
  }
  if (targets === null || targets.length === 0) throw new Error(`no inspector on port ${port}`)
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true })
    socket.addEventListener("error", () => reject(new Error("inspector connection failed")), { once: true })
  })
  let id = 0
  const waiting = new Map()
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data)
    const settle = waiting.get(message.id)
    if (settle === undefined) return
    waiting.delete(message.id)
    settle(message)
  })
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const messageId = ++id
      waiting.set(
        messageId,
        (message) => (message.error ? reject(new Error(message.error.message)) : resolve(message.result))
      )
      socket.send(JSON.stringify({ id: messageId, method, params }))
    })
  return {
    /** Bytes of live objects right after a full collection. */
    liveHeapBytes: async () => {
      await send("HeapProfiler.collectGarbage")
      return (await send("Runtime.getHeapUsage")).usedSize
    },
    close: () => socket.close()
  }
}
