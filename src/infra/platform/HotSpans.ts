/**
 * Spans on every request's path, without the stack trace Effect captures for a span by default
 * (a `new Error()` per span: its `code.stacktrace` points at the call site, which the span's name
 * already says). Data-first, because effect 4.1's data-last `withSpan` passes no options to that
 * capture: `captureStackTrace: false` in `pipe(Effect.withSpan(name, options))` is not seen.
 */
import { Effect, type Tracer } from "effect"

export const hotSpan =
  (name: string, options?: Omit<Tracer.SpanOptions, "captureStackTrace">) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withSpan(self, name, { ...options, captureStackTrace: false })
