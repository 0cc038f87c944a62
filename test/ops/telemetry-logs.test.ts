/**
 * Log records over OTLP (issue 14, item 10: OTEL_LOGS_EXPORTER, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT),
 * set by the OTEL_* variables alone: each record carries its request's trace and span, its
 * severity and the service's resource, and passes through the scrubber the stdout lines pass
 * through. OTEL_LOGS_EXPORTER=none sends none. Against a real in-process OTLP receiver.
 */
import { expect, it } from "@effect/vitest"
import { Cause, Effect } from "effect"
import { TestClock } from "effect/testing"
import { randomBytes } from "node:crypto"
import { describe } from "vitest"
import { REDACTED } from "../../src/infra/platform/Redaction.js"
import { SERVICE_VERSION } from "../../src/infra/platform/Version.js"
import { post, signup } from "../support/http.js"
import { pause } from "../support/locks.js"
import { readyService, settleOutput } from "../support/serviceProcess.js"
import { suiteDatabase, TEST_JWT_SECRET } from "../support/TestService.js"
import {
  attributeOf,
  awaitExport,
  EXPORT_INTERVAL,
  logRecordsOf,
  type OtlpLogRecord,
  OtlpReceiver,
  otlpReceiver,
  SERVER,
  spansOf,
  TracedService
} from "./telemetry-helpers.js"

const SIGNIN = "/api/v1/auth/signin"
const randomHex = (bytes: number) => randomBytes(bytes).toString("hex")
const messageOf = (record: OtlpLogRecord) => record.body?.stringValue

// LOG_LEVEL unset (the suites' default is warn): the service's own default, info.
describe("OTLP/JSON to the base endpoint", () => {
  it.layer(TracedService({
    LOG_LEVEL: "",
    OTEL_SERVICE_NAME: "tasks-api-logs",
    OTEL_RESOURCE_ATTRIBUTES: "service.namespace=acme"
  }))("logs", (it) => {
    it.effect("a request's records arrive at /v1/logs with its trace and span, their severity and the resource", () =>
      Effect.gen(function*() {
        const user = yield* signup("logged")
        const traceId = randomHex(16)
        const callerSpan = randomHex(8)
        const signedIn = yield* post(SIGNIN, {
          json: { email: user.email, password: user.password },
          headers: { traceparent: `00-${traceId}-${callerSpan}-01` }
        })
        expect(signedIn.status).toBe(200)
        const requestId = signedIn.headers.get("x-request-id")
        const receiver = yield* OtlpReceiver
        const records = yield* awaitExport(() => {
          const ofRequest = logRecordsOf(receiver).filter((r) => attributeOf(r, "request_id") === requestId)
          return ofRequest.some((r) => messageOf(r) === "request") ? ofRequest : undefined
        }, "the signin's records")

        const event = records.find((r) => messageOf(r) === "auth.signin.succeeded")
        const access = records.find((r) => messageOf(r) === "request")
        expect(event).toMatchObject({ severityText: "Info", severityNumber: 9, traceId })
        expect(attributeOf(event!, "user_id")).toBe(user.userId)
        expect(attributeOf(access!, "route")).toBe(SIGNIN)
        expect(attributeOf(access!, "status")).toBe(200)
        // Each record is in the caller's trace, on a span of the service's that was exported.
        const spans = yield* awaitExport(() => {
          const ofTrace = spansOf(receiver).filter((s) => s.traceId === traceId)
          return ofTrace.some((s) => s.kind === SERVER) ? ofTrace : undefined
        }, "the signin's spans")
        for (const record of records) {
          expect(record.traceId).toBe(traceId)
          expect(spans.map((s) => s.spanId)).toContain(record.spanId)
        }
        expect(access!.spanId).toBe(spans.find((s) => s.kind === SERVER)?.spanId)

        // A warning: the rotated-away refresh token used again after the grace.
        const refresh = (token: string) => post("/api/v1/auth/refresh", { json: { refresh_token: token } })
        expect((yield* refresh(user.refreshToken)).status).toBe(200)
        yield* TestClock.adjust("11 seconds")
        const reused = yield* refresh(user.refreshToken)
        expect(reused.body?.error_code).toBe("refresh_token_reused")
        const warning = yield* awaitExport(
          () => logRecordsOf(receiver).find((r) => messageOf(r) === "auth.refresh.reused"),
          "the reuse warning"
        )
        expect(warning).toMatchObject({ severityText: "Warn", severityNumber: 13 })
        expect(attributeOf(warning, "request_id")).toBe(reused.headers.get("x-request-id"))

        // The resource: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over the service's defaults.
        const { resource } = warning
        expect(attributeOf(resource, "service.name")).toBe("tasks-api-logs")
        expect(attributeOf(resource, "service.namespace")).toBe("acme")
        expect(attributeOf(resource, "service.version")).toBe(SERVICE_VERSION)
        expect(attributeOf(resource, "deployment.environment.name")).toBe("test")
      }))

    it.effect("a signin's password, tokens and bearer values arrive scrubbed, in fields, messages and causes", () =>
      Effect.gen(function*() {
        const user = yield* signup("scrubbed")
        const wrongPassword = `wrong-${randomHex(12)}`
        // From outside: the refresh token sent as the request id, which every record of the request carries.
        const refused = yield* post(SIGNIN, {
          json: { email: user.email, password: wrongPassword },
          headers: { "x-request-id": user.refreshToken }
        })
        expect(refused.status).toBe(401)
        expect(refused.headers.get("x-request-id")).toBe(user.refreshToken)
        // From inside: code of the service logging what it must not (the test runs in its context).
        yield* Effect.logWarning(`signin refused for Bearer ${user.token}`).pipe(
          Effect.annotateLogs({
            event: "test.leak",
            password: user.password,
            refresh_token: user.refreshToken,
            note: `secret ${TEST_JWT_SECRET}`
          })
        )
        yield* Effect.logError("signin failed", Cause.fail(new Error(`Bearer ${user.token} ${TEST_JWT_SECRET}`))).pipe(
          Effect.annotateLogs({ event: "test.leak.cause" })
        )

        const receiver = yield* OtlpReceiver
        const byEvent = (event: string) => logRecordsOf(receiver).find((r) => attributeOf(r, "event") === event)
        const failed = yield* awaitExport(() => byEvent("auth.signin.failed"), "the failed signin's record")
        const leak = yield* awaitExport(() => byEvent("test.leak"), "the leaking record")
        const leakedCause = yield* awaitExport(() => byEvent("test.leak.cause"), "the leaking cause's record")

        expect(attributeOf(failed, "request_id")).toBe(REDACTED)
        expect(attributeOf(failed, "reason")).toBe("wrong_password")
        // As on stdout: the JWT goes first, then nothing of a bearer value is left to cut.
        expect(messageOf(leak)).toBe(`signin refused for Bearer ${REDACTED}`)
        expect(attributeOf(leak, "password")).toBe(REDACTED)
        expect(attributeOf(leak, "refresh_token")).toBe(REDACTED)
        expect(attributeOf(leak, "note")).toBe(`secret ${REDACTED}`)
        expect(attributeOf(leakedCause, "exception.message")).toBe(`Bearer ${REDACTED} ${REDACTED}`)
        expect(String(attributeOf(leakedCause, "exception.stacktrace"))).toContain(REDACTED)

        const everything = receiver.received.filter((r) => r.path === "/v1/logs").map((r) => r.body).join("\n")
        const secrets = {
          password: user.password,
          wrongPassword,
          token: user.token,
          signature: user.token.split(".")[2]!,
          refreshToken: user.refreshToken,
          jwtSecret: TEST_JWT_SECRET
        }
        expect(Object.entries(secrets).filter(([, secret]) => everything.includes(secret)).map(([name]) => name))
          .toEqual([])
      }))
  })
})

describe("OTEL_LOGS_EXPORTER=none", () => {
  it.layer(TracedService({ LOG_LEVEL: "", OTEL_LOGS_EXPORTER: "none" }))("no logs", (it) => {
    it.effect("sends spans but no log record", () =>
      Effect.gen(function*() {
        yield* signup("unlogged")
        const receiver = yield* OtlpReceiver
        yield* awaitExport(
          () => spansOf(receiver).find((s) => s.kind === SERVER && s.name === "POST /api/v1/auth/signup"),
          "the signup's server span"
        )
        for (let round = 0; round < 3; round++) {
          yield* TestClock.adjust(EXPORT_INTERVAL)
          yield* pause(20)
        }
        expect(receiver.received.filter((r) => r.path === "/v1/logs")).toEqual([])
      }))
  })
})

describe("the built service, LOG_FORMAT=json", () => {
  it.live(
    "the stdout access line stays as it is, and the same line arrives as a record, scrubbed alike",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { shape: receiver } = yield* otlpReceiver
        const database = yield* suiteDatabase()
        const svc = yield* readyService({
          DATABASE_URL: database.url,
          JWT_SECRET: TEST_JWT_SECRET,
          LOG_FORMAT: "json",
          LOG_LEVEL: "info",
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BLRP_SCHEDULE_DELAY: "100"
        })
        // A refresh token's shape as the request id: scrubbed from the line and the record.
        const opaqueToken = randomBytes(57).toString("base64url")
        const response = yield* Effect.promise(() =>
          fetch(`${svc.baseUrl}/api/tasks`, { headers: { "x-request-id": opaqueToken } })
        )
        expect(response.status).toBe(401)
        const accessLine = () =>
          svc.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => l.event === "http.request" && l.route === "/api/tasks")
        const accessRecord = () =>
          logRecordsOf(receiver).find((r) => messageOf(r) === "request" && attributeOf(r, "route") === "/api/tasks")
        yield* settleOutput(() => accessLine() !== undefined && accessRecord() !== undefined)

        const line = accessLine()
        expect(Object.keys(line ?? {})).toEqual([
          "time",
          "level",
          "message",
          "request_id",
          "trace_id",
          "client_ip",
          "event",
          "method",
          "route",
          "status",
          "duration_ms"
        ])
        expect(line).toMatchObject({ level: "info", message: "request", request_id: REDACTED, status: 401 })
        const record = accessRecord()
        expect(record).toMatchObject({ severityText: "Info", traceId: line?.trace_id })
        expect(attributeOf(record!, "request_id")).toBe(REDACTED)
        expect(attributeOf(record!, "status")).toBe(401)
        expect(svc.output()).not.toContain(opaqueToken)
        expect(receiver.received.some((r) => r.body.includes(opaqueToken))).toBe(false)
      })),
    60_000
  )
})
