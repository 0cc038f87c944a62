/**
 * The docs page (`/docs`): Scalar's API reference over `/openapi.json`, with nothing fetched from
 * other hosts (the page's Content-Security-Policy holds the browser to this origin) and nothing
 * offered that sends the description elsewhere. The page is a small HTML
 * document; Scalar's 3 MB script is an asset of its own, named by its content's hash so browsers
 * keep it for good, and compressed once per process (brotli or gzip, as the client accepts).
 *
 * `HttpApiScalar.layer` would inline the script into every page (3.4 MB, uncompressed, never
 * cached) and load Scalar's fonts from fonts.scalar.com.
 */
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { OpenApi } from "effect/http-api"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { promisify } from "node:util"
import { brotliCompress, constants, gzip } from "node:zlib"
import { Api } from "../../domain/Api.js"
import { DOCS_PATH, DOCS_SCRIPT_PREFIX, OPENAPI_PATH } from "./Routes.js"

/**
 * Scalar's configuration (names as its bundled script reads them): the system's fonts rather
 * than fonts.scalar.com (1.43.5 still writes its @font-face rules: the CSP blocks them); no
 * developer toolbar (its "Share" uploads the description to Scalar's servers and "Generate SDKs"
 * sends it to Scalar's dashboard); no button opening client.scalar.com; no telemetry; the
 * description downloads from the page itself.
 */
const SCALAR_CONFIG: Record<string, unknown> = {
  _integration: "html",
  url: OPENAPI_PATH,
  withDefaultFonts: false,
  showDeveloperTools: "never",
  hideClientButton: true,
  telemetry: false,
  documentDownloadType: "json",
  customCss: ":root{--scalar-font:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;" +
    "--scalar-font-code:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
}

/**
 * Scalar's standalone bundle, as effect ships it for `HttpApiScalar`: the string literal its
 * internal module exports (effect's exports close `http-api/internal/*`), read from the file and
 * kept as UTF-8 bytes only. Imported, the module would hold it three times over as UTF-16 (its
 * source, the export, a copy without the source-map comment): 18 MB of heap for a page few open.
 * The source-map comment goes (the map is not served).
 */
const SCALAR_EXPORT = "export const javascript="

const scalarScript = Effect.promise(async () => {
  const effectRoot = dirname(createRequire(import.meta.url).resolve("effect/package.json"))
  const source = await readFile(join(effectRoot, "dist/http-api/internal/httpApiScalar.js"), "utf8")
  const start = source.indexOf(SCALAR_EXPORT) + SCALAR_EXPORT.length
  const end = source.indexOf("\";\n", start) + 1
  const script: unknown = start >= SCALAR_EXPORT.length && end > start
    ? JSON.parse(source.slice(start, end))
    : undefined
  if (typeof script !== "string") throw new Error("effect's Scalar bundle was not found")
  return Buffer.from(script.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, "\n"))
})

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** JSON that cannot end the `<script>` it sits in. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c")

const initScript = `
      Scalar.createApiReference(document.getElementById("api-reference"), ${scriptJson(SCALAR_CONFIG)})
    `

/**
 * The page's Content-Security-Policy: nothing but this origin, whatever the script tries (its
 * stylesheet still names fonts.scalar.com, its toolbar would upload the description, its client
 * would send requests through proxy.scalar.com), so the browser itself refuses any other host.
 * Inline styles are Scalar's own; the one inline script is allowed by its hash.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'sha256-${createHash("sha256").update(initScript).digest("base64")}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

const pageOf = (title: string, scriptPath: string) =>
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(title)}</title>
  </head>
  <body>
    <div id="api-reference"></div>
    <script src="${escapeHtml(scriptPath)}"></script>
    <script>${initScript}</script>
  </body>
</html>
`

interface Encoded {
  readonly identity: Uint8Array
  readonly gzip: Uint8Array
  readonly br: Uint8Array
}

/**
 * Both encodings, made on Node's thread pool (not the event loop). Brotli at quality 6: quality 11
 * saves another 11% of the script but takes about 8 s of CPU.
 */
const encode = (identity: Uint8Array) =>
  Effect.promise(async (): Promise<Encoded> => {
    const [gzipped, brotli] = await Promise.all([
      promisify(gzip)(identity, { level: 9 }),
      promisify(brotliCompress)(identity, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 6,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: identity.length
        }
      })
    ])
    return { identity, gzip: gzipped, br: brotli }
  })

/** The preferred encoding `accept` allows (`Accept-Encoding`, q-values honoured; q=0 refuses). */
const encodingFor = (accept: string | undefined): "br" | "gzip" | "identity" => {
  const accepted = new Map<string, number>()
  for (const part of (accept ?? "").split(",")) {
    const [name = "", ...parameters] = part.trim().toLowerCase().split(";")
    const q = parameters.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined)
    accepted.set(name.trim(), q === undefined ? 1 : Number(q))
  }
  const allows = (name: string) => (accepted.get(name) ?? accepted.get("*") ?? 0) > 0
  return allows("br") ? "br" : allows("gzip") ? "gzip" : "identity"
}

/** `If-None-Match` names `etag` (weak comparison, as the header's semantics are). */
const notModified = (ifNoneMatch: string | undefined, etag: string) =>
  ifNoneMatch !== undefined &&
  ifNoneMatch.split(",").some((tag) =>
    tag.trim() === "*" || tag.trim().replace(/^W\//, "") === etag.replace(/^W\//, "")
  )

/**
 * A handler serving `content`: encoded on the first request and kept, with an ETag of its content
 * (weak: the encodings differ byte for byte), 304 on a match.
 */
const assetHandler = (
  content: Uint8Array,
  contentType: string,
  cacheControl: string,
  extraHeaders: Record<string, string> = {}
) =>
  Effect.gen(function*() {
    const encoded = yield* Effect.cached(encode(content))
    const etag = `W/"${createHash("sha256").update(content).digest("base64url").slice(0, 27)}"`
    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const headers = { ...extraHeaders, "Cache-Control": cacheControl, ETag: etag, Vary: "Accept-Encoding" }
      if (notModified(request.headers["if-none-match"], etag)) return HttpServerResponse.empty({ status: 304, headers })
      const encoding = encodingFor(request.headers["accept-encoding"])
      return HttpServerResponse.uint8Array((yield* encoded)[encoding], {
        contentType,
        headers: encoding === "identity" ? headers : { ...headers, "Content-Encoding": encoding }
      })
    })
  })

/** `GET /docs` and `GET /docs/scalar.<hash>.js`. */
export const DocsLive: Layer.Layer<never, never, HttpRouter.HttpRouter> = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const script = yield* scalarScript
    const scriptPath: `/${string}` = `${DOCS_SCRIPT_PREFIX}${
      createHash("sha256").update(script).digest("hex").slice(0, 16)
    }.js`
    const page = pageOf(OpenApi.fromApi(Api).info.title, scriptPath)
    // The page changes with each release: revalidated each time (a 304 once it has been seen).
    yield* router.add(
      "GET",
      DOCS_PATH,
      yield* assetHandler(Buffer.from(page), "text/html; charset=utf-8", "no-cache", {
        "Content-Security-Policy": contentSecurityPolicy
      })
    )
    // The script's name changes with its content: cached for good.
    yield* router.add(
      "GET",
      scriptPath,
      yield* assetHandler(script, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable")
    )
  })
)
