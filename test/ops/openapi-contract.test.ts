/**
 * `/openapi.json` is the REST contract as clients read it: any change to it is a change of the
 * contract, so it is pinned byte for byte. After a deliberate change, regenerate the fixture
 * from a running service (`curl -s localhost:8000/openapi.json > test/fixtures/openapi.json`).
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { get } from "../support/http.js"
import { TestService } from "../support/TestService.js"

const pinned = readFileSync(new URL("../fixtures/openapi.json", import.meta.url), "utf8")

it.layer(TestService())("the published API description", (it) => {
  it.effect("GET /openapi.json is byte-identical to the pinned contract", () =>
    Effect.gen(function*() {
      const reply = yield* get("/openapi.json")
      expect(reply.status).toBe(200)
      expect(reply.text).toBe(pinned)
    }))
})
