/**
 * RPC answers written as JSON text by the REST endpoints' writers (TaskJson.ts), not by walking
 * their success schemas: a ListTasks page cost twice the REST list's CPU when effect/rpc encoded
 * it field by field. The server encodes each call's Exit with the codec our transport's `codecFor`
 * gives it; for the procedures named here that codec writes the success value's text at once
 * (a `JsonText`), and the transport's frame encoder puts the text into the NDJSON frame as it is.
 * Failures and every other procedure are encoded by their schemas as before; the frames are the
 * library's, character for character (test/rpc/rpc-answers.test.ts).
 */
import { Schema, SchemaGetter } from "effect"
import { Rpc, type RpcSerialization } from "effect/rpc"
import { type FromServerEncoded, ResponseDefectEncoded } from "effect/rpc/RpcMessage"

/** A value's JSON, already written: what a written success encodes to. */
export class JsonText {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** Already JSON: the JSON codec leaves it as it is (the transport writes its text). */
const JsonTextSchema = Schema.declare((u: unknown): u is JsonText => u instanceof JsonText, {
  toCodecJson: () => undefined
})

/** A success encoded by `write` in one step. Not checked against its schema: the handler's type is. */
const writtenBy = (write: (value: never) => string) =>
  Schema.Unknown.pipe(Schema.encodeTo(JsonTextSchema, {
    decode: SchemaGetter.forbidden(() => "a written RPC answer is never decoded"),
    encode: SchemaGetter.transform((value) => new JsonText(write(value as never)))
  }))

/** The writer of a procedure's success value, by tag (a procedure without one keeps its schema's encoding). */
export type AnswerWriters<R extends Rpc.Any> = {
  readonly [Tag in R["_tag"]]?: (value: Rpc.Success<Rpc.ExtractTag<R, Tag>>) => string
}

/** `AnswerWriters` of any group, as the transport takes them. */
export type AnyAnswerWriters = Readonly<Record<string, ((value: never) => string) | undefined>>

/**
 * The serialization's `codecFor`, except for the Exit schemas of the procedures in `writers`:
 * theirs encode a success with its writer (errors and defects still by their schemas).
 */
export const codecForWritten = (
  procedures: ReadonlyMap<string, Rpc.AnyWithProps>,
  writers: AnyAnswerWriters,
  codecFor: RpcSerialization.CodecFor
): RpcSerialization.CodecFor => {
  const written = new Map<unknown, Schema.Top>()
  for (const [tag, write] of Object.entries(writers)) {
    if (write === undefined) continue
    const procedure = procedures.get(tag)
    if (procedure === undefined) throw new Error(`no procedure ${tag} to write answers for`)
    const exit = Rpc.exitSchema(procedure)
    written.set(exit, codecFor(Schema.Exit(writtenBy(write), exit.error, exit.defect)))
  }
  return ((schema: Schema.Top) => written.get(schema) ?? codecFor(schema)) as typeof codecFor
}

/** What a response the serialization cannot encode is answered with (it is a bug, never its details). */
const UNENCODABLE = ResponseDefectEncoded("Internal Server Error")

/** A written success's NDJSON frame: the serialization's, with the value's text in place. */
const writtenFrame = (requestId: string | number, value: JsonText) =>
  `{"_tag":"Exit","requestId":${JSON.stringify(requestId)},"exit":{"_tag":"Success","value":${value.text}}}\n`

/**
 * The NDJSON frame of each response of one request (`parser` is the NDJSON serialization's; a
 * binary one would need a transport of its own): a written success's text as it is, any other
 * response by the parser.
 */
export const makeFrameEncoder =
  (parser: RpcSerialization.Parser) => (response: FromServerEncoded): string | undefined => {
    if (response._tag === "Exit" && response.exit._tag === "Success" && response.exit.value instanceof JsonText) {
      return writtenFrame(response.requestId, response.exit.value)
    }
    try {
      const encoded = parser.encode(response)
      return typeof encoded === "string" ? encoded : undefined
    } catch {
      const encoded = parser.encode(UNENCODABLE)
      return typeof encoded === "string" ? encoded : undefined
    }
  }
