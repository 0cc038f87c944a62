/** A free loopback port: for the embedded PostgreSQL, and for the servers the tests and the bench start. */
import { createServer } from "node:net"

/**
 * A port free to listen on, below Linux's ephemeral range (32768–60999): a port taken from that
 * range and closed again can be handed to any client socket (a pool's connection to PostgreSQL,
 * say) before its server listens on it, which failed boots at random. A port in use is passed
 * over; any other failure to listen is the answer.
 */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const free = await new Promise<boolean>((resolve, reject) => {
      const server = createServer()
      server.once(
        "error",
        (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE" ? resolve(false) : reject(error)
      )
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
}
