/**
 * The client package as a TypeScript service takes it: `npm pack -w packages/client` (its
 * `prepack` builds it when stale) gives a tarball of the built JS and declarations only; installed
 * into a scratch consumer whose only other dependency is `effect`, it brings no server package
 * along; a program using both clients typechecks under `strict` with the repo's TypeScript (and the
 * wrong calls it marks `@ts-expect-error` really fail: misspelt choices, a string for a task id,
 * a missing title), then runs against the live service (a service process on a suite database): it
 * signs up over REST, creates and lists a task over RPC, reads it back over REST, makes the REST
 * calls a user writes first (a list without arguments or with a limit alone, a task created without
 * its defaulted fields, read and changed by the `id` it came back with, a logout without a body),
 * and gets the contract's typed errors.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { CLIENT_PACKAGE_NAME, type Ran, ROOT, run, SERVER_ONLY_PACKAGES, TSC } from "../support/clientPackage.js"
import { readyService } from "../support/serviceProcess.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"
import { suiteDatabase } from "../support/TestService.js"

/** The `effect` the repository pins: the consumer's own. */
const EFFECT_VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies.effect

/**
 * npm, without the `npm_*` variables an enclosing `npm test` sets (they would point the consumer's
 * npm at this repository), on this Node (node_modules/.bin first on PATH, as `npm test` has it).
 */
const npm = (args: ReadonlyArray<string>, cwd: string) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_")))
  env.PATH = `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`
  const execPath = process.env.npm_execpath
  return execPath === undefined
    ? run("npm", args, { cwd, env })
    : run(process.execPath, [execPath, ...args], { cwd, env })
}

const succeeded = (ran: Ran) => expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0)

interface Packed {
  readonly filename: string
  readonly files: ReadonlyArray<{ readonly path: string }>
}

/** Every package installed under `dir/node_modules`, nested ones too (`@scope/name` or `name`). */
const installedPackages = (dir: string): ReadonlyArray<string> => {
  const modules = join(dir, "node_modules")
  const names: Array<string> = []
  const entries = (path: string) => readdirSync(path, { withFileTypes: true }).filter((e) => !e.name.startsWith("."))
  let present: ReadonlyArray<{ readonly name: string }> = []
  try {
    present = entries(modules)
  } catch {
    return names
  }
  for (const entry of present) {
    const packages = entry.name.startsWith("@")
      ? entries(join(modules, entry.name)).map((scoped) => `${entry.name}/${scoped.name}`)
      : [entry.name]
    for (const name of packages) names.push(name, ...installedPackages(join(modules, name)))
  }
  return names
}

const consumerPackageJson = (tarball: string) => ({
  name: "tasks-api-client-consumer",
  private: true,
  type: "module",
  dependencies: { [CLIENT_PACKAGE_NAME]: `file:./${tarball}`, effect: EFFECT_VERSION }
})

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    // No @types/node: the consumer has only effect and the client (`fetch` and `console` are DOM's).
    lib: ["ES2023", "DOM"],
    types: [],
    strict: true,
    // The package's declarations are checked too, not only the program's use of them.
    skipLibCheck: false,
    rootDir: "src",
    outDir: "dist"
  },
  include: ["src"]
}

/** A consumer's program: both clients, from the package, against `baseUrl`. */
const consumerProgram = (baseUrl: string, email: string) => `
import { Effect, Layer, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import {
  makeTasksRestClient,
  makeTasksRpcClient,
  type Priority,
  SORT_FIELDS,
  type Task,
  TaskId,
  TasksRestClient,
  TasksRpcClient
} from "${CLIENT_PACKAGE_NAME}"

const baseUrl = ${JSON.stringify(baseUrl)}
const email = ${JSON.stringify(email)}

const signUp = Effect.gen(function*() {
  const rest = yield* makeTasksRestClient({ baseUrl })
  const payload = { email, password: "correct horse battery staple", name: "consumer" }
  const { data } = yield* rest.auth.signup({ payload })
  return data
}).pipe(Effect.provide(FetchHttpClient.layer))

const anonymousCurrentUser = Effect.gen(function*() {
  const rpc = yield* makeTasksRpcClient({ baseUrl })
  const error = yield* Effect.flip(rpc.CurrentUser())
  return error._tag
}).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

const program = Effect.gen(function*() {
  const session = yield* signUp
  const clients = Layer.mergeAll(
    TasksRestClient.layer({ baseUrl, accessToken: session.token }),
    TasksRpcClient.layer({ baseUrl, accessToken: Effect.succeed(session.token) })
  )
  const answers = yield* Effect.gen(function*() {
    const rest = yield* TasksRestClient
    const rpc = yield* TasksRpcClient
    const me = yield* rest.auth.me()
    const created: Task = yield* rpc.CreateTask({ title: "Shipped in a package", priority: "urgent_important" })
    const listed = yield* rpc.ListTasks({ limit: 10 })
    const { data: page } = yield* rest.tasks.list({
      query: { limit: 10, offset: 0, sort_by: "created_at", sort_order: "desc" }
    })
    const completed = yield* rpc.SetTaskCompleted({ id: created.id, completed: true })
    const missing = yield* Effect.flip(rpc.GetTask({ id: "00000000-0000-4000-8000-000000000000" }))

    // The REST calls as a user first writes them: optional parts left out, ids as they came back.
    const { data: made } = yield* rest.tasks.create({
      payload: { title: "Over REST", priority: "not_urgent_important" }
    })
    const { data: read } = yield* rest.tasks.get({ params: { task_id: made.id } })
    const priority: Priority = read.priority
    const { data: changed } = yield* rest.tasks.update({
      params: { task_id: read.id },
      payload: { priority: "urgent_not_important" }
    })
    const { data: everything } = yield* rest.tasks.list()
    const { data: first } = yield* rest.tasks.list({ query: { limit: 1 } })
    const { data: byTitle } = yield* rest.tasks.list({ query: { sort_by: SORT_FIELDS[4], sort_order: "asc" } })
    const typed = Schema.decodeUnknownSync(TaskId)(made.id.toUpperCase())
    const { data: viaTyped } = yield* rest.tasks.get({ params: { task_id: typed } })
    yield* rest.tasks.delete({ params: { task_id: made.id } })
    const gone = yield* Effect.flip(rest.tasks.get({ params: { task_id: made.id } }))
    return {
      rest2: {
        made: { completed: made.is_completed, priority },
        changed: changed.priority,
        listed: everything.tasks.length,
        defaults: { limit: everything.limit, offset: everything.offset },
        first: { count: first.tasks.length, limit: first.limit, total: first.total_count },
        byTitle: byTitle.tasks.map((task) => task.title),
        viaTyped: viaTyped.id === made.id,
        gone: gone._tag
      },
      signedUp: session.user_id,
      me: { id: me.id, email: me.email },
      created: { id: created.id, title: created.title, priority: created.priority },
      listed: { ids: listed.tasks.map((task) => task.id), total: listed.total_count },
      rest: { ids: page.tasks.map((task) => task.id), titles: page.tasks.map((task) => task.title) },
      completed: completed.is_completed,
      missing: missing._tag
    }
  }).pipe(Effect.provide(clients))
  // Last: this session ends (no body: this one), and its token with it.
  const ended = yield* Effect.gen(function*() {
    const rest = yield* TasksRestClient
    yield* rest.auth.logout()
    return (yield* Effect.flip(rest.auth.me()))._tag
  }).pipe(Effect.provide(TasksRestClient.layer({ baseUrl, accessToken: session.token })))
  return { ...answers, anonymous: yield* anonymousCurrentUser, ended }
})

// The types are the contract's, not \`any\`: each of these is a compile error (or the build fails
// with an unused directive).
export const wrongCalls = Effect.gen(function*() {
  const rpc = yield* TasksRpcClient
  // @ts-expect-error GetTask needs the task's id
  yield* rpc.GetTask({})
  // @ts-expect-error no such procedure
  yield* rpc.DeleteEverything()
  const task = yield* rpc.CreateTask({ title: "typed", priority: "urgent_important" })
  // @ts-expect-error a title is a string
  const title: number = task.title
  const rest = yield* TasksRestClient
  // @ts-expect-error a misspelt sort
  yield* rest.tasks.list({ query: { sort_by: "created" } })
  // @ts-expect-error a misspelt order
  yield* rest.tasks.list({ query: { sort_order: "descending" } })
  // @ts-expect-error a limit is a number
  yield* rest.tasks.list({ query: { limit: "10" } })
  // @ts-expect-error a misspelt priority
  yield* rest.tasks.create({ payload: { title: "typed", priority: "urgent" } })
  // @ts-expect-error a title is required
  yield* rest.tasks.create({ payload: { priority: "urgent_important" } })
  // @ts-expect-error a misspelt priority
  yield* rest.tasks.update({ params: { task_id: task.id }, payload: { priority: "important" } })
  // @ts-expect-error a task id is a TaskId (a Task's id, or one decoded), not any string
  yield* rest.tasks.get({ params: { task_id: "not-a-task-id" } })
  // @ts-expect-error a misspelt logout scope
  yield* rest.auth.logout({ payload: { scope: "everywhere" } })
  return title
})

Effect.runPromise(program).then(
  (answers) => console.log(JSON.stringify(answers)),
  (error: unknown) => {
    console.error(String(error))
    throw error
  }
)
`

it.live(
  "packed, installed beside only effect and run against the service, @tasks-api/client works with strict types",
  () =>
    Effect.gen(function*() {
      const consumer = yield* temporaryDirectory("tasks-api-client-consumer-")

      // The tarball: built JS and declarations of the client and the domain, nothing else.
      const pack = yield* npm(["pack", "-w", "packages/client", "--json", "--pack-destination", consumer], ROOT)
      succeeded(pack)
      // The prepack's build may print before npm's JSON.
      const [packed]: ReadonlyArray<Packed> = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m)))
      const paths = packed.files.map((file) => file.path)
      for (
        const path of ["dist/client/index.js", "dist/client/index.d.ts", "dist/domain/Rpc.js", "dist/domain/Rpc.d.ts"]
      ) {
        expect(paths).toContain(path)
      }
      for (const path of paths) {
        expect(path, "only package.json and the built client and domain").toMatch(
          /^(package\.json|README\.md|dist\/(client|domain)\/(?:[^/]+\/)*[^/]+\.(js|d\.ts))$/
        )
      }

      // The consumer: only effect and the tarball; nothing server-side comes with them.
      yield* Effect.promise(() =>
        writeFile(join(consumer, "package.json"), JSON.stringify(consumerPackageJson(packed.filename), null, 2))
      )
      succeeded(yield* npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], consumer))
      const installed = installedPackages(consumer)
      expect(installed).toContain(CLIENT_PACKAGE_NAME)
      expect(installed).toContain("effect")
      for (const name of SERVER_ONLY_PACKAGES) expect(installed, name).not.toContain(name)
      const manifest = JSON.parse(
        readFileSync(join(consumer, "node_modules", ...CLIENT_PACKAGE_NAME.split("/"), "package.json"), "utf8")
      )
      expect(manifest.dependencies).toBeUndefined()
      expect(manifest.peerDependencies).toEqual({ effect: expect.stringMatching(/^~4\.1\./) })
      expect(manifest.exports["."].types).toBe("./dist/client/index.d.ts")

      // The live service, and the consumer's program against it: typechecked, built, run.
      const database = yield* suiteDatabase()
      const service = yield* readyService({ DATABASE_URL: database.url })
      const email = `consumer-${randomUUID()}@example.com`
      yield* Effect.promise(() => mkdir(join(consumer, "src")))
      yield* Effect.promise(() => writeFile(join(consumer, "tsconfig.json"), JSON.stringify(CONSUMER_TSCONFIG)))
      yield* Effect.promise(() => writeFile(join(consumer, "src", "main.ts"), consumerProgram(service.baseUrl, email)))
      succeeded(yield* run(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: consumer }))
      const ran = yield* run(process.execPath, [join("dist", "main.js")], { cwd: consumer })
      succeeded(ran)
      const answers = JSON.parse(ran.stdout.trim())
      expect(answers.me).toEqual({ id: answers.signedUp, email })
      expect(answers.created).toEqual({
        id: expect.any(String),
        title: "Shipped in a package",
        priority: "urgent_important"
      })
      expect(answers.listed).toEqual({ ids: [answers.created.id], total: 1 })
      expect(answers.rest).toEqual({ ids: [answers.created.id], titles: ["Shipped in a package"] })
      expect(answers.completed).toBe(true)
      expect(answers.missing).toBe("TaskNotFound")
      expect(answers.anonymous).toBe("Unauthorized")
      expect(answers.rest2).toEqual({
        made: { completed: false, priority: "not_urgent_important" },
        changed: "urgent_not_important",
        listed: 2,
        defaults: { limit: 50, offset: 0 },
        first: { count: 1, limit: 1, total: 2 },
        byTitle: ["Over REST", "Shipped in a package"],
        viaTyped: true,
        gone: "TaskNotFound"
      })
      expect(answers.ended).toBe("Unauthorized")
    }),
  180_000
)
