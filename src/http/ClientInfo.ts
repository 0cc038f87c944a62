/** Who is on the other end of a request, as recorded on the sessions it opens. */
import { HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import type { ClientInfo } from "../infra/Sessions.js"

const MAX_USER_AGENT = 512

export const clientInfo: Effect.Effect<ClientInfo, never, HttpServerRequest.HttpServerRequest> = Effect.map(
  HttpServerRequest.HttpServerRequest,
  (request) => ({
    ipAddress: Option.getOrNull(request.remoteAddress),
    userAgent: request.headers["user-agent"]?.slice(0, MAX_USER_AGENT) ?? null
  })
)
