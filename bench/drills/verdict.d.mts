/** Types of verdict.mjs, for its unit tests (test/ops/drills.test.ts). */
export type Status = "pass" | "fail" | "n/a" | "info"
export interface Check {
  readonly what: string
  readonly value: number | string | null
  readonly unit: string
  readonly bound: string
  readonly status: Status
  readonly note?: string
}
export declare const percentile: (values: ReadonlyArray<number>, p: number) => number | null
export declare const summarize: (
  values: ReadonlyArray<number>
) => { n: number; p50: number | null; p99: number | null; max: number | null }
export declare const check: (
  options: {
    what: string
    value?: number | string | null
    unit?: string
    bound: string
    pass: boolean | null
    note?: string
  }
) => Check
export declare const atMost: (what: string, value: number | null, limit: number, unit?: string, note?: string) => Check
export declare const below: (what: string, value: number | null, limit: number, unit?: string, note?: string) => Check
export declare const atLeast: (what: string, value: number | null, limit: number, unit?: string, note?: string) => Check
export declare const holds: (what: string, fact: unknown, note?: string) => Check
export declare const verdictOf: (checks: ReadonlyArray<Check>) => "pass" | "fail"
export declare const slope: (points: ReadonlyArray<{ x: number; y: number }>) => number | null
