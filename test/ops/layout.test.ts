/**
 * The layout's arrows (README, "Layout") point inward only: every import of every file under src/
 * (static `import` and `export … from`, and `import()` of a literal) is checked against the rules
 * below, and the files import one another without cycles. The check is a function of a file list,
 * so a synthetic list proves it can fail.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { posix } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

interface SourceFile {
  /** From the repository's root, with `/`: `src/domain/Api.ts`. */
  readonly path: string
  readonly text: string
}

/** The code without its comments; strings (which hold the specifiers) are kept. */
const withoutComments = (text: string) =>
  text.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (_comment, string: string | undefined) => string ?? ""
  )

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w$*{},\s]+?\s+from\s*)?["']([^"'\n]+)["']/gm
const DYNAMIC_IMPORT = /\bimport\s*\(\s*["'`]([^"'`\n]+)["'`]\s*\)/g

/** The specifiers a file imports. */
const specifiersOf = (text: string): ReadonlyArray<string> => {
  const code = withoutComments(text)
  return [...code.matchAll(STATIC_IMPORT), ...code.matchAll(DYNAMIC_IMPORT)].map((match) => match[1]!)
}

/** A relative specifier as the file it names (`./X.js` is `X.ts` when that is a source file); others as they are. */
const targetOf = (from: string, specifier: string, paths: ReadonlySet<string>) => {
  if (!specifier.startsWith(".")) return specifier
  const target = posix.normalize(posix.join(posix.dirname(from), specifier))
  const source = target.replace(/\.js$/, ".ts")
  return paths.has(source) ? source : target
}

const isEffect = (target: string) => target === "effect" || target.startsWith("effect/")
const under = (folder: string, target: string) => target.startsWith(`${folder}/`)

interface Rule {
  /** The files it applies to. */
  readonly folder: string
  readonly forbids: (target: string) => boolean
  readonly because: string
}

const RULES: ReadonlyArray<Rule> = [
  {
    folder: "src/domain",
    forbids: (target) => !isEffect(target) && !under("src/domain", target),
    because: "domain imports only effect and domain (it is shipped to clients: no server code)"
  },
  {
    folder: "src/client",
    forbids: (target) => !isEffect(target) && !under("src/domain", target) && !under("src/client", target),
    because: "the client entry imports only domain, client and effect"
  },
  { folder: "src/infra", forbids: (target) => under("src/http", target), because: "infra does not import http" },
  {
    folder: "src/infra/platform",
    forbids: (target) => under("src/infra", target) && !under("src/infra/platform", target),
    because: "platform does not import a feature"
  },
  {
    folder: "src/http/edge",
    forbids: (target) => under("src/http", target) && !under("src/http/edge", target),
    because: "the edge does not import a feature's handlers"
  }
]

/** Each cycle of imports among the files, as `a → b → a` (each found once, from its smallest file). */
const cyclesOf = (edges: ReadonlyMap<string, ReadonlyArray<string>>): ReadonlyArray<string> => {
  const cycles = new Set<string>()
  const done = new Set<string>()
  const stack: Array<string> = []
  const visit = (file: string) => {
    stack.push(file)
    for (const next of edges.get(file) ?? []) {
      const at = stack.indexOf(next)
      if (at >= 0) {
        const cycle = stack.slice(at)
        const start = cycle.indexOf([...cycle].sort()[0]!)
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)]
        cycles.add([...rotated, rotated[0]].join(" → "))
      } else if (!done.has(next)) visit(next)
    }
    stack.pop()
    done.add(file)
  }
  for (const file of [...edges.keys()].sort()) if (!done.has(file)) visit(file)
  return [...cycles]
}

/** Every arrow of `files` that points the wrong way, and every import cycle among them. */
const layoutViolations = (files: ReadonlyArray<SourceFile>): ReadonlyArray<string> => {
  const paths = new Set(files.map((file) => file.path))
  const violations: Array<string> = []
  const edges = new Map<string, ReadonlyArray<string>>()
  for (const file of files) {
    const targets = specifiersOf(file.text).map((specifier) => targetOf(file.path, specifier, paths))
    edges.set(file.path, targets.filter((target) => paths.has(target)))
    for (const target of targets) {
      for (const rule of RULES) {
        if (under(rule.folder, file.path) && rule.forbids(target)) {
          violations.push(`${file.path} → ${target}: ${rule.because}`)
        }
      }
    }
  }
  return [...violations, ...cyclesOf(edges).map((cycle) => `import cycle: ${cycle}`)]
}

const sources = (): ReadonlyArray<SourceFile> =>
  readdirSync(posix.join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|mts|mjs|js)$/.test(name))
    .map((name) => {
      const path = posix.join("src", name.split("\\").join("/"))
      return { path, text: readFileSync(posix.join(ROOT, path), "utf8") }
    })

describe("the layout", () => {
  it("every import under src/ points inward, without cycles", () => {
    const files = sources()
    // The check reads the tree it is meant to: the three rooms, and their imports.
    expect(files.map((file) => file.path)).toEqual(expect.arrayContaining(["src/App.ts", "src/domain/Api.ts"]))
    expect(specifiersOf(files.find((file) => file.path === "src/domain/Api.ts")!.text)).toContain("./tasks/TasksApi.js")
    expect(layoutViolations(files)).toEqual([])
  })

  it("finds every kind of wrong arrow and cycle in a synthetic tree", () => {
    const file = (path: string, ...lines: ReadonlyArray<string>): SourceFile => ({ path, text: lines.join("\n") })
    const violations = layoutViolations([
      file(
        "src/domain/tasks/Task.ts",
        "import { Schema } from 'effect'",
        "import { createHash } from 'node:crypto'",
        "import type { TaskRepo } from '../../infra/tasks/TaskRepo.js'",
        "// import { Tasks } from '../../infra/tasks/Tasks.js' (a comment: not an import)",
        "export { A } from './A.js'"
      ),
      file("src/domain/tasks/A.ts", "export * from './Task.js'"),
      file("src/domain/Api.ts", "const pg = await import('@effect/sql-pg')"),
      file("src/infra/tasks/TaskRepo.ts", "import {\n  Routes\n} from '../../http/edge/Routes.js'"),
      file("src/infra/platform/Config.ts", "import { Tokens } from '../auth/Tokens.js'"),
      file("src/infra/auth/Tokens.ts", "import { AppConfig } from '../platform/Config.js'"),
      file("src/http/edge/Errors.ts", "import { AuthHttpLive } from '../auth/AuthHttp.js'"),
      file("src/http/auth/AuthHttp.ts", "import { Lifecycle } from '../edge/Lifecycle.js'"),
      file("src/http/edge/Routes.ts", "export const RPC_PATH = '/rpc'"),
      file("src/client/index.ts", "import { TasksLive } from '../infra/tasks/Tasks.js'", "import 'effect/rpc'")
    ])
    const because = (folder: string) => RULES.find((rule) => rule.folder === folder)!.because
    expect(violations).toEqual([
      `src/domain/tasks/Task.ts → node:crypto: ${because("src/domain")}`,
      `src/domain/tasks/Task.ts → src/infra/tasks/TaskRepo.ts: ${because("src/domain")}`,
      `src/domain/Api.ts → @effect/sql-pg: ${because("src/domain")}`,
      `src/infra/tasks/TaskRepo.ts → src/http/edge/Routes.ts: ${because("src/infra")}`,
      `src/infra/platform/Config.ts → src/infra/auth/Tokens.ts: ${because("src/infra/platform")}`,
      `src/http/edge/Errors.ts → src/http/auth/AuthHttp.ts: ${because("src/http/edge")}`,
      `src/client/index.ts → src/infra/tasks/Tasks.js: ${because("src/client")}`,
      "import cycle: src/domain/tasks/A.ts → src/domain/tasks/Task.ts → src/domain/tasks/A.ts",
      "import cycle: src/infra/auth/Tokens.ts → src/infra/platform/Config.ts → src/infra/auth/Tokens.ts"
    ])
  })
})
