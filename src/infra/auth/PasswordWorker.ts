/**
 * Worker-thread entry: bcrypt off the event loop's thread (bcryptjs is pure JS and blocks).
 * Deliberately nothing but bcryptjs: every worker is a V8 isolate of its own, and loading Effect
 * in each would cost ~50 MB apiece for two function calls.
 */
import bcrypt from "bcryptjs"

export type PasswordTask =
  | { readonly kind: "hash"; readonly password: string; readonly cost: number }
  | { readonly kind: "compare"; readonly password: string; readonly hash: string }

export default (task: PasswordTask): string | boolean =>
  task.kind === "hash" ? bcrypt.hashSync(task.password, task.cost) : bcrypt.compareSync(task.password, task.hash)
