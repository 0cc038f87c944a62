/** A scratch directory for the scope, removed with it. */
import { Effect } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A new directory under the system temp directory, named `<prefix>XXXXXX`; removed (recursively) with the scope. */
export const temporaryDirectory = (prefix = "tasks-api-test-") =>
  Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), prefix))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
