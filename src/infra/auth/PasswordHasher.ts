/**
 * Password hashing and verification. bcrypt runs in a pool of worker threads, one per core, so a
 * storm of signins never stalls other requests. Verifies the old backend's hashes too (bcrypt
 * `$2a$`/`$2b$` of any cost, and its `salt:sha256hex`) and says when a hash should be upgraded.
 */
import { Context, Effect, Layer } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { availableParallelism } from "node:os"
import { Piscina } from "piscina"
import { AppConfig } from "../platform/Config.js"
import type { PasswordTask } from "./PasswordWorker.js"

export interface Verification {
  readonly valid: boolean
  /** The stored hash is legacy or cheaper than the configured cost: re-hash it now. */
  readonly needsRehash: boolean
}

export interface PasswordHasherShape {
  readonly hash: (password: string) => Effect.Effect<string>
  readonly verify: (password: string, storedHash: string) => Effect.Effect<Verification>
  /** The same work as a real verification, for unknown emails: their answer takes as long. */
  readonly verifyDummy: (password: string) => Effect.Effect<void>
}

export class PasswordHasher
  extends Context.Service<PasswordHasher, PasswordHasherShape>()("tasks-api/PasswordHasher")
{}

const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/
/** bcrypt reads no further: a longer password would match on its first 72 bytes alone. */
const BCRYPT_MAX_BYTES = 72
const LEGACY_SHA256 = /^([^:]+):([0-9a-f]{64})$/i

/** The old backend's format: sha256(password || salt), hex, stored as `salt:hex`. */
const verifyLegacySha256 = (password: string, salt: string, expectedHex: string) => {
  const actual = createHash("sha256").update(password + salt, "utf8").digest()
  const expected = Buffer.from(expectedHex, "hex")
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** Built JS runs the built worker; TypeScript sources (tests, `npm run dev`) go through tsx. */
const WORKER_FILE = new URL(
  import.meta.url.endsWith(".ts") ? "./PasswordWorker.dev.mjs" : "./PasswordWorker.js",
  import.meta.url
).href

/** One worker per core, started with the service and kept: a signin never waits for a thread to boot. */
const makePool = Effect.acquireRelease(
  Effect.sync(() => {
    const threads = Math.max(1, availableParallelism())
    return new Piscina<PasswordTask, string | boolean>({
      filename: WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Below the event loop's priority (nice +10, where the OS allows it): under a signin storm
      // the cores still hash flat out, but a task read never queues behind bcrypt for the CPU.
      niceIncrement: 10
    })
  }),
  (pool) => Effect.promise(() => pool.destroy())
)

export const PasswordHasherLive = Layer.effect(
  PasswordHasher,
  Effect.gen(function*() {
    const { bcryptCost } = yield* AppConfig
    const pool = yield* makePool
    // A worker that dies is a bug or an exhausted machine, not a wrong password. Interrupting the
    // request drops its task if no worker has taken it yet.
    const run = (task: PasswordTask) => Effect.promise((signal) => pool.run(task, { signal }))
    const hash = (password: string) =>
      run({ kind: "hash", password, cost: bcryptCost }).pipe(
        Effect.map(String),
        Effect.withSpan("PasswordHasher.hash")
      )
    const compare = (password: string, hash: string) =>
      run({ kind: "compare", password, hash }).pipe(Effect.map((valid) => valid === true))
    // Made in the background: the service need not wait for a cost-12 hash before it listens.
    const dummyHash = yield* Effect.cached(hash("dummy password for unknown accounts"))
    yield* Effect.forkScoped(dummyHash)
    /** A real bcrypt compare that always fails: the same work whatever was (not) stored. */
    const compareDummy = (password: string) => Effect.flatMap(dummyHash, (dummy) => compare(password, dummy))

    const verify = (password: string, storedHash: string): Effect.Effect<Verification> => {
      const bcryptMatch = BCRYPT_HASH.exec(storedHash)
      if (bcryptMatch && Buffer.byteLength(password, "utf8") > BCRYPT_MAX_BYTES) {
        // Signup refuses such a password, so it is never the right one. Refused after the work an
        // unknown email costs (the dummy compare): its timing tells no account from another.
        return Effect.as(compareDummy(password), { valid: false, needsRehash: false })
      }
      if (bcryptMatch) {
        return Effect.map(compare(password, storedHash), (valid) => ({
          valid,
          needsRehash: valid && Number(bcryptMatch[1]) < bcryptCost
        }))
      }
      const legacy = LEGACY_SHA256.exec(storedHash)
      const valid = legacy !== null && verifyLegacySha256(password, legacy[1], legacy[2])
      // Pay a bcrypt compare anyway: a legacy or unusable hash takes as long to refuse as a bcrypt one.
      return Effect.as(compareDummy(password), { valid, needsRehash: valid })
    }
    return {
      hash,
      verify: (password, storedHash) => verify(password, storedHash).pipe(Effect.withSpan("PasswordHasher.verify")),
      verifyDummy: (password) => compareDummy(password).pipe(Effect.asVoid, Effect.withSpan("PasswordHasher.verify"))
    }
  })
)
