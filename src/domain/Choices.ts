/**
 * Enum-like values the old backend took as plain strings: a membership test, and the list as its
 * 400 messages printed it. Schemas take any string so a bad value answers that 400, not a 422.
 * Also the words a boolean may be written as.
 */

/** Python's list repr, which the old backend put in its 400 messages: `['a', 'b']`. */
export const pythonList = (values: ReadonlyArray<string>) => `[${values.map((v) => `'${v}'`).join(", ")}]`

/** Whether `value` is one of `values`, narrowing it to their union. */
export const oneOf = <const A extends string>(values: ReadonlyArray<A>) => (value: string): value is A =>
  (values as ReadonlyArray<string>).includes(value)

/** The words for true and for false, as FastAPI reads query booleans (the settings read them alike). */
const TRUE_WORDS: ReadonlyArray<string> = ["true", "1", "yes", "on"]
const FALSE_WORDS: ReadonlyArray<string> = ["false", "0", "no", "off"]

/** The boolean `word` names, in any case; undefined when it names neither. */
export const booleanOfWord = (word: string): boolean | undefined => {
  const lower = word.toLowerCase()
  return TRUE_WORDS.includes(lower) ? true : FALSE_WORDS.includes(lower) ? false : undefined
}
