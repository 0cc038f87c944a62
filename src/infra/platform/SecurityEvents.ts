/**
 * Security events: structured log lines with stable names, for "who signed in from where" and
 * alerting. Each carries the user and session it concerns; the request id, trace id and client IP
 * come from the request's log annotations (see http/Edge.ts).
 */
import { Effect } from "effect"

export type SecurityEventName =
  | "auth.signin.succeeded"
  | "auth.signin.failed"
  | "auth.signup"
  | "auth.refresh.reused"
  | "auth.session.revoked"
  | "auth.password.changed"
  | "ratelimit.exceeded"
  | "rpc.limit_reached"
  | "auth.user.banned"

/** Events that suggest an attack are warnings; the others are information. */
const WARNINGS: ReadonlySet<SecurityEventName> = new Set([
  "auth.refresh.reused",
  "ratelimit.exceeded",
  "rpc.limit_reached",
  "auth.user.banned"
])

export const securityEvent = (
  name: SecurityEventName,
  fields: {
    readonly user_id?: string | undefined
    readonly session_id?: string | undefined
    readonly [field: string]: string | number | boolean | undefined
  }
) => {
  const annotations = Object.fromEntries(Object.entries({ event: name, ...fields }).filter(([, v]) => v !== undefined))
  return (WARNINGS.has(name) ? Effect.logWarning(name) : Effect.logInfo(name)).pipe(Effect.annotateLogs(annotations))
}
