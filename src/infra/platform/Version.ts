/** The service's version: package.json's, read once (from src/ under tsx and from dist/ alike). */
import { readFileSync } from "node:fs"

const packageJson = new URL("../../../package.json", import.meta.url)

export const SERVICE_VERSION: string = JSON.parse(readFileSync(packageJson, "utf8")).version
