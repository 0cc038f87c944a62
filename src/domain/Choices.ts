/**
 * Enum-like values the old backend took as plain strings: a membership test, and the list as its
 * 400 messages printed it. Schemas take any string so a bad value answers that 400, not a 422.
 */

/** Python's list repr, which the old backend put in its 400 messages: `['a', 'b']`. */
export const pythonList = (values: ReadonlyArray<string>) => `[${values.map((v) => `'${v}'`).join(", ")}]`

/** Whether `value` is one of `values`, narrowing it to their union. */
export const oneOf = <const A extends string>(values: ReadonlyArray<A>) => (value: string): value is A =>
  (values as ReadonlyArray<string>).includes(value)
