/** Types of writes.mjs, for its unit tests (test/ops/drills.test.ts). */
export declare class WriteLedger {
  constructor(runId?: string)
  readonly runId: string
  readonly attempted: Set<string>
  readonly acknowledged: Map<string, string>
  next(): { key: string; body: string }
  acknowledge(key: string, taskId: string): void
}
export declare const keyOfTitle: (title: string) => string | null
export declare const rowsOfRun: (databaseUrl: string, runId: string) => Promise<Array<{ id: string; title: string }>>
export interface Verified {
  readonly attempted: number
  readonly acknowledged: number
  readonly rows: number
  readonly lost: number
  readonly duplicated: number
  readonly phantom: number
  readonly unacknowledged: number
  readonly examples: { lost: Array<string>; duplicated: Array<string>; phantom: Array<string> }
}
export interface WriteAnswer {
  readonly at: number
  readonly ms: number
  readonly status: number
  readonly code: string | null
}
export declare const writesOutAt: (
  answers: ReadonlyArray<WriteAnswer>,
  at: number
) => { out: Array<WriteAnswer>; refused: Array<WriteAnswer>; failed: Array<WriteAnswer> }
export declare const verifyWrites: (ledger: WriteLedger, rows: ReadonlyArray<{ id: string; title: string }>) => Verified
