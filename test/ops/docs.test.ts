/**
 * The docs page (issue 14, item 9), over real HTTP: no request to another host (no font, script or
 * stylesheet from elsewhere), no cloud buttons, a small page, and Scalar's script as a versioned
 * asset cached for good and sent compressed (brotli or gzip, by Accept-Encoding), with 304s.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { type IncomingHttpHeaders, request as httpRequest } from "node:http"
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { brotliDecompressSync, gunzipSync } from "node:zlib"
import { TestServer, TestService } from "../support/TestService.js"

interface RawReply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** The body as it came over the wire (not decompressed). */
  readonly bytes: Buffer
}

/** A GET through node:http, which neither asks for nor undoes any compression by itself. */
const rawGet = (path: string, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    return yield* Effect.promise(() =>
      new Promise<RawReply>((resolve, reject) => {
        httpRequest(`${baseUrl}${path}`, { headers }, (response) => {
          const chunks: Array<Buffer> = []
          response.on("data", (chunk: Buffer) => chunks.push(chunk))
          response.on(
            "end",
            () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes: Buffer.concat(chunks) })
          )
        }).on("error", reject).end()
      })
    )
  })

const SCRIPT_PATH = /<script src="(\/docs\/scalar\.[0-9a-f]{16}\.js)"><\/script>/

const scriptPathOf = (page: RawReply) => {
  const path = SCRIPT_PATH.exec(page.bytes.toString("utf8"))?.[1]
  expect(path).toBeDefined()
  return path ?? ""
}

/**
 * Scalar's bundle as effect's internal module exports it, for comparison. Imported only when asked
 * for: held by this process, it would count in the heap measured below.
 */
const effectScalarScript = () =>
  Effect.promise(async () => {
    const module = (await import(
      "../../node_modules/effect/dist/http-api/internal/httpApiScalar.js" as string
    )) as { readonly javascript: string }
    return module.javascript
  })

/** The bundle's length in UTF-16 code units (3.1 M): its size in the heap is twice that, in bytes. */
const SCALAR_SCRIPT_UNITS = 3_000_000

/** The size of effect's HttpApiScalar page before this change: the script inlined, uncompressed. */
const INLINED_PAGE_BYTES = 3_400_000

it.layer(TestService())("docs", (it) => {
  it.effect("the served script is held as bytes: the heap's large objects stay under two UTF-16 copies of it", () =>
    // First in the file: before anything here has imported effect's module for comparison.
    Effect.gen(function*() {
      yield* rawGet(scriptPathOf(yield* rawGet("/docs")), { "accept-encoding": "br" })
      // A full collection first, so that only what is still referenced is counted.
      setFlagsFromString("--expose-gc")
      ;(runInNewContext("gc") as () => void)()
      const largeObjects = getHeapSpaceStatistics().find((space) => space.space_name === "large_object_space")
      // Imported as a module, the bundle was its source, its export and a trimmed copy: 3 × 6.3 MB.
      expect(largeObjects?.space_used_size).toBeLessThan(2 * 2 * SCALAR_SCRIPT_UNITS)
    }))

  it.effect("GET /docs is a small page naming no other host, with Scalar's cloud features and fonts off", () =>
    Effect.gen(function*() {
      const page = yield* rawGet("/docs")
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
      const html = page.bytes.toString("utf8")
      expect(page.bytes.length).toBeLessThan(4_000)
      // No URL of any host at all: the script and the description are this server's own paths.
      expect(html).not.toMatch(/https?:\/\//i)
      expect(html).not.toMatch(/(src|href)\s*=\s*["']?\/\//i)
      expect(html).toContain(`"url":"/openapi.json"`)
      // Scalar's own option names (read in its bundle): fonts from the system, no toolbar with
      // Share / Generate SDKs, no client.scalar.com button, no telemetry.
      for (const option of [`"withDefaultFonts":false`, `"showDeveloperTools":"never"`, `"hideClientButton":true`]) {
        expect(html).toContain(option)
      }
      expect(html).toContain(`"telemetry":false`)
      // And the browser is told to reach nothing but this origin, whatever the script tries (its
      // stylesheet still names fonts.scalar.com: Scalar 1.43.5 emits its @font-face rules anyway).
      const csp = String(page.headers["content-security-policy"])
      expect(csp).toMatch(/^default-src 'self';/)
      for (const directive of ["font-src 'self' data:", "connect-src 'self'", "style-src 'self' 'unsafe-inline'"]) {
        expect(csp).toContain(directive)
      }
      // The one inline script runs by its hash, and no other host may serve a script.
      const inline = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? ""
      expect(csp).toContain(`script-src 'self' 'sha256-${createHash("sha256").update(inline).digest("base64")}'`)
      // Revalidated, never stored as no-store: a repeat visit is a 304.
      expect(page.headers["cache-control"]).toBe("no-cache")
      const etag = page.headers.etag ?? ""
      expect(etag).toMatch(/^W\/".+"$/)
      const again = yield* rawGet("/docs", { "if-none-match": etag })
      expect(again.status).toBe(304)
      expect(again.bytes.length).toBe(0)
      // The edge's headers are still there.
      expect(page.headers["x-content-type-options"]).toBe("nosniff")
    }))

  it.effect("the script is immutable for a year, brotli or gzip as accepted, far smaller than the old page", () =>
    Effect.gen(function*() {
      const path = scriptPathOf(yield* rawGet("/docs"))
      const plain = yield* rawGet(path)
      expect(plain.status).toBe(200)
      expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8")
      expect(plain.headers["content-encoding"]).toBeUndefined()
      expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable")
      expect(plain.headers.vary).toMatch(/\bAccept-Encoding\b/)
      const script = plain.bytes.toString("utf8")
      // effect's bundle as its module exports it, less the comment naming its source map (not served).
      expect(script).toBe((yield* effectScalarScript()).replace(/\n\/\/# sourceMappingURL=\S*\s*$/, "\n"))
      expect(script).not.toContain("sourceMappingURL")
      expect(path).toBe(`/docs/scalar.${createHash("sha256").update(plain.bytes).digest("hex").slice(0, 16)}.js`)

      const brotli = yield* rawGet(path, { "accept-encoding": "gzip, deflate, br" })
      expect(brotli.headers["content-encoding"]).toBe("br")
      expect(brotli.bytes.length).toBeLessThan(INLINED_PAGE_BYTES / 4)
      expect(brotliDecompressSync(brotli.bytes).equals(plain.bytes)).toBe(true)

      const gzipped = yield* rawGet(path, { "accept-encoding": "gzip;q=1, br;q=0" })
      expect(gzipped.headers["content-encoding"]).toBe("gzip")
      expect(gzipped.bytes.length).toBeLessThan(INLINED_PAGE_BYTES / 3)
      expect(gunzipSync(gzipped.bytes).equals(plain.bytes)).toBe(true)

      const revisit = yield* rawGet(path, { "if-none-match": brotli.headers.etag ?? "", "accept-encoding": "br" })
      expect(revisit.status).toBe(304)
      expect(revisit.headers["cache-control"]).toBe("public, max-age=31536000, immutable")

      // Another version's name is not this one.
      expect((yield* rawGet("/docs/scalar.0000000000000000.js")).status).toBe(404)
    }))

  it.effect("the API itself is still never cached", () =>
    Effect.gen(function*() {
      const reply = yield* rawGet("/openapi.json")
      expect(reply.status).toBe(200)
      expect(reply.headers["cache-control"]).toBe("no-store")
    }))
})
