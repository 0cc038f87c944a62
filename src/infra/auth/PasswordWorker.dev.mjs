// Worker entry used when the service runs from its TypeScript sources (tests, `npm run dev`):
// Node 20 applies no `--import` loader to a worker's entry, so register tsx here, then load it.
import { register } from "tsx/esm/api"

register()
export default (await import("./PasswordWorker.js")).default
