/**
 * Keeps credentials out of exported log records. effect/observability's OTLP logger builds each
 * record from the log call and the fiber (message, annotations, log spans, cause) with no hook
 * in between, so the records are scrubbed where they leave: the batch handed to the OTLP
 * serialization passes through the scrubber of Redaction.ts, the one the stdout lines pass
 * through (the body as a message, each attribute as a field, the cause's `exception.*` as text).
 */
import type { OtlpLogger, OtlpResource } from "effect/observability"
import { isCredentialKey, REDACTED, type Scrubber } from "./Redaction.js"

type ResourceLogs = OtlpLogger.LogsData["resourceLogs"][number]
type LogRecord = NonNullable<ResourceLogs["scopeLogs"][number]["logRecords"]>[number]

/**
 * A value as the stdout line would have it: a credential-named key replaced whole, a list item
 * by item, anything else as the scrubber has the field. Effect already turned objects into their
 * text, which the scrubber cuts as it cuts that text on stdout.
 */
const scrubValue = (scrubber: Scrubber, key: string, value: OtlpResource.AnyValue): OtlpResource.AnyValue => {
  if (isCredentialKey(key)) return { stringValue: REDACTED }
  if (value.arrayValue !== undefined) {
    return { arrayValue: { values: value.arrayValue.values.map((item) => scrubValue(scrubber, "", item)) } }
  }
  if (value.kvlistValue !== undefined) {
    return { kvlistValue: { values: value.kvlistValue.values.map((entry) => scrubAttribute(scrubber, entry)) } }
  }
  const raw = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue
  if (raw === null || raw === undefined) return value
  const scrubbed = scrubber.value(key, raw)
  return scrubbed === raw ? value : { stringValue: String(scrubbed) }
}

const scrubAttribute = (scrubber: Scrubber, { key, value }: OtlpResource.KeyValue): OtlpResource.KeyValue => ({
  key,
  value: scrubValue(scrubber, key, value)
})

const scrubRecord = (scrubber: Scrubber, record: LogRecord): LogRecord => ({
  ...record,
  attributes: record.attributes.map((attribute) => scrubAttribute(scrubber, attribute)),
  ...(record.body === undefined ? {} : { body: scrubValue(scrubber, "", record.body) })
})

/** Every record of a batch scrubbed; the resource and scope (our configuration) as they are. */
export const scrubLogs = (scrubber: Scrubber) => (data: OtlpLogger.LogsData): OtlpLogger.LogsData => ({
  resourceLogs: data.resourceLogs.map((resource) => ({
    ...resource,
    scopeLogs: resource.scopeLogs.map((scope) => ({
      ...scope,
      ...(scope.logRecords === undefined
        ? {}
        : { logRecords: scope.logRecords.map((record) => scrubRecord(scrubber, record)) })
    }))
  }))
})
