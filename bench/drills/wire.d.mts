/** Types of wire.mjs's response parser, for its unit tests (test/ops/drills.test.ts). */
export declare const parseResponse: (
  buffer: Buffer
) => { status: number; headers: Record<string, string>; body: Buffer; rest: Buffer } | null
