/** How a client is given its access token: once, or as an effect run before every call. */
import { Effect } from "effect"

/**
 * A fixed token, or an effect answering the current one (run before every call, so a client can
 * outlive a token: refresh it elsewhere and answer the new one here).
 */
export type AccessToken = string | Effect.Effect<string>

export const currentToken = (token: AccessToken): Effect.Effect<string> =>
  typeof token === "string" ? Effect.succeed(token) : token

export interface TasksClientOptions {
  /** Where tasks-api is served, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  readonly baseUrl: string
  /** The Bearer access token; without one, calls are anonymous (authenticated ones answer Unauthorized). */
  readonly accessToken?: AccessToken | undefined
}
