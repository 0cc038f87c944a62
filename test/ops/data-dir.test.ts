/**
 * DATA_DIR where the embedded PostgreSQL must live. Run as root, the server runs as the `postgres`
 * system user: a DATA_DIR of mode 0700 (what `mktemp -d` makes) is opened to it for search, and a
 * directory further up that it cannot pass ends the boot with a diagnostic naming the path, the user
 * and the fix, leaving nothing behind. As any other user the server runs as that user, and both work.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { chmod, mkdir } from "node:fs/promises"
import { join } from "node:path"
import { firstUnsearchable, maySearch } from "../../src/infra/platform/EmbeddedPostgres.js"
import { spawnService, waitForStatus } from "../support/serviceProcess.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"

const asRoot = process.getuid?.() === 0
const ROOT_OWNED_700 = { uid: 0, gid: 0, mode: 0o40700 }
const POSTGRES = { uid: 999, gids: [999] }

it.effect("search permission is decided as the kernel does: owner, then group, then others", () =>
  Effect.sync(() => {
    expect(maySearch({ uid: 0, gids: [0] }, ROOT_OWNED_700)).toBe(true)
    expect(maySearch(POSTGRES, ROOT_OWNED_700)).toBe(false)
    expect(maySearch(POSTGRES, { uid: 0, gid: 999, mode: 0o40710 })).toBe(true)
    expect(maySearch(POSTGRES, { uid: 0, gid: 0, mode: 0o40701 })).toBe(true)
    // The owner's bits apply to the owner even when others may pass.
    expect(maySearch(POSTGRES, { uid: 999, gid: 999, mode: 0o40071 })).toBe(false)
  }))

it.effect("the first directory on the way that the user cannot pass is found, from the root down", () =>
  Effect.gen(function*() {
    const dir = yield* temporaryDirectory("tasks-api-reach-")
    yield* Effect.promise(() => mkdir(join(dir, "a/b"), { recursive: true }))
    const modes = new Map([[dir, 0o40755], [join(dir, "a"), 0o40700], [join(dir, "a/b"), 0o40700]])
    const statOf = async (path: string) => ({ uid: 0, gid: 0, mode: modes.get(path) ?? 0o40755 })
    const blocked = yield* Effect.promise(() => firstUnsearchable(join(dir, "a/b/data"), POSTGRES, statOf))
    expect(blocked).toEqual({ directory: join(dir, "a"), mode: 0o700, uid: 0 })
    modes.set(join(dir, "a"), 0o40711)
    modes.set(join(dir, "a/b"), 0o40701)
    expect(yield* Effect.promise(() => firstUnsearchable(join(dir, "a/b/data"), POSTGRES, statOf))).toBeUndefined()
  }))

it.live("DATA_DIR made by mktemp -d (mode 0700): the embedded database starts in it", () =>
  Effect.gen(function*() {
    const dataDir = yield* temporaryDirectory("tasks-api-mktemp-")
    yield* Effect.promise(() => chmod(dataDir, 0o700))
    const service = yield* spawnService({ DATA_DIR: dataDir })
    yield* waitForStatus(service, "/health/ready", 200, "90 seconds")
    expect(existsSync(join(dataDir, "postgres", "PG_VERSION"))).toBe(true)
  }), 120_000)

it.live(
  asRoot
    ? "as root, a DATA_DIR under a 0700 directory: boot_failed names the path, the user and the fix; nothing left"
    : "not root, a DATA_DIR under a 0700 directory of ours: the database runs as us and starts",
  () =>
    Effect.gen(function*() {
      const closed = yield* temporaryDirectory("tasks-api-closed-")
      yield* Effect.promise(() => chmod(closed, 0o700))
      const dataDir = join(closed, "data")
      const service = yield* spawnService({ DATA_DIR: dataDir })
      if (!asRoot) {
        yield* waitForStatus(service, "/health/ready", 200, "90 seconds")
        return
      }
      const exited = yield* service.exited
      expect(exited.code).toBe(1)
      const line = service.output().split("\n").find((l) => l.includes("boot_failed")) ?? ""
      const diagnostic = JSON.parse(line)
      expect(diagnostic).toMatchObject({ level: "fatal", event: "boot_failed", error: "DatabaseUnavailable" })
      expect(diagnostic.message).toContain(`"postgres"`)
      expect(diagnostic.message).toContain(`${closed} is mode 700`)
      expect(diagnostic.message).toContain(`chmod o+x ${closed}`)
      expect(diagnostic.message).toContain("DATABASE_URL")
      expect(existsSync(join(dataDir, "postgres"))).toBe(false)
    }),
  120_000
)
