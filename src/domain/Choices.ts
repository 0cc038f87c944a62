/**
 * Enum-like values the old backend took as plain strings: a schema that takes any string (so a bad
 * value answers that 400, not a 422) while typing the listed values, a membership test, and the
 * list as its 400 messages printed it. Also the words a boolean may be written as.
 */
import { Schema } from "effect"

/** Python's list repr, which the old backend put in its 400 messages: `['a', 'b']`. */
export const pythonList = (values: ReadonlyArray<string>) => `[${values.map((v) => `'${v}'`).join(", ")}]`

/**
 * Text that is none of a choice's values, as a request may still send it for the handler to refuse
 * with the old 400. Branded: a typed client cannot write one, so only the listed values (and no
 * misspelling of them) type-check, while the server's schema still reads any string. Not part of
 * the contract: the API description lists a choice's values only (OpenApiCleanup drops this).
 */
export const UnlistedChoice = Schema.String.pipe(Schema.brand("UnlistedChoice")).annotate({
  identifier: "UnlistedChoice"
})
export type UnlistedChoice = typeof UnlistedChoice.Type

/** One of `values`, or any other text as an `UnlistedChoice` (which the handler answers with its 400). */
export const choice = <const A extends ReadonlyArray<string>>(values: A) =>
  Schema.Union([Schema.Literals(values), UnlistedChoice])

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
