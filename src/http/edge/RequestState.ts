/**
 * What code deep inside a request learns and the edge needs when the response goes out: headers
 * to add (rate limits, the auth challenge) and who the caller turned out to be (for the access
 * log); and what the edge already knows that code inside needs (the client's address). One
 * mutable record per request, reached through a context reference: every fiber the request forks
 * inherits the same record, so writes are seen whether the handler succeeds or fails.
 */
import { Context, Effect } from "effect"

export interface RequestState {
  readonly headers: Record<string, string>
  /** The client's address as the edge resolved it (null: unknown), so it is resolved once. */
  readonly clientIp: string | null
  userId: string | undefined
  /** REQUEST_TIMEOUT interrupted the request: the edge answers 503 `request_timeout`. */
  timedOut: boolean
}

/** Where the record is reached from; forked fibers inherit the context, so they share it. */
const CurrentRequestState = Context.Reference<RequestState | undefined>("tasks-api/RequestState", {
  defaultValue: () => undefined
})

/** The current request's record; undefined outside a request. */
export const currentRequestState: Effect.Effect<RequestState | undefined> = CurrentRequestState

const update = (f: (state: RequestState) => void) =>
  Effect.flatMap(currentRequestState, (state) =>
    Effect.sync(() => {
      if (state !== undefined) f(state)
    }))

/** Adds headers to the current request's response (a no-op outside a request). */
export const addResponseHeaders = (headers: Record<string, string>) =>
  update((state) => Object.assign(state.headers, headers))

/** Records the authenticated caller of the current request. */
export const noteCaller = (userId: string) =>
  update((state) => {
    state.userId = userId
  })

/** Runs `effect` with a fresh record for one request. */
export const withRequestState = <A, E, R>(state: RequestState, effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, CurrentRequestState, state)

export const newRequestState = (clientIp: string | null): RequestState => ({
  headers: {},
  clientIp,
  userId: undefined,
  timedOut: false
})
