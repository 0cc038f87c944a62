/**
 * How deep a request body nests, read from its text before anything parses or decodes it: no
 * request of the API nests more than a few levels, and every walk over a decoded value (schema
 * issues, their formatting, log redaction) recurses once per level. A bound at the edge keeps
 * all of them shallow, REST and `/rpc` alike.
 */

/** Deeper than any body the API takes (an RPC frame nests 4 levels), far shallower than a stack. */
export const MAX_JSON_DEPTH = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

/** An open array or object, and where in it the scan is: an index, or the span of the current key. */
interface Frame {
  readonly isArray: boolean
  index: number
  keyStart: number
  keyEnd: number
  expectsKey: boolean
}

/** The index of the quote that closes the string opened at `start` (the text's end if none does). */
const endOfString = (text: string, start: number) => {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === BACKSLASH) i++
    else if (c === QUOTE) return i
  }
  return text.length
}

const keyOf = (text: string, frame: Frame): string | number | undefined => {
  if (frame.isArray) return frame.index
  if (frame.keyStart < 0) return undefined
  const literal = text.slice(frame.keyStart, frame.keyEnd + 1)
  try {
    return String(JSON.parse(literal))
  } catch {
    return literal.slice(1, -1)
  }
}

/**
 * Where `text` (JSON, or NDJSON: one value a line) nests deeper than `maxDepth`: the keys and
 * indices down to the first array or object past it; undefined when it does not. It does not
 * validate the JSON (the parser does that next): one pass over the text, before any parse.
 */
export const pathPastDepth = (text: string, maxDepth = MAX_JSON_DEPTH): Array<string | number> | undefined => {
  const frames: Array<Frame> = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const top = frames.at(-1)
    if (c === QUOTE) {
      const end = endOfString(text, i)
      if (top !== undefined && top.expectsKey) {
        top.keyStart = i
        top.keyEnd = end
      }
      i = end
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (frames.length >= maxDepth) {
        return frames.map((frame) => keyOf(text, frame)).filter((key) => key !== undefined)
      }
      frames.push({ isArray: c === OPEN_ARRAY, index: 0, keyStart: -1, keyEnd: -1, expectsKey: c === OPEN_OBJECT })
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      frames.pop()
    } else if (top !== undefined && c === COLON) {
      top.expectsKey = false
    } else if (top !== undefined && c === COMMA) {
      if (top.isArray) top.index++
      else top.expectsKey = true
    }
  }
  return undefined
}
