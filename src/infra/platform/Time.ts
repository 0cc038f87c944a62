/** The current instant from Effect's `Clock`: `TestClock` in tests, so lifetimes are testable. */
import { Clock, Effect } from "effect"

export const currentDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))
