/**
 * Where noojee-answer finds the call and the extension in an incoming msg, and what it accepts.
 * Pure functions: the node turns the result into a request or a Catch-able error.
 */
import { isValidAutoAnswer, MAX_AUTO_ANSWER } from "./auto-answer";
import { callIdFrom, extensionFrom, field, InputProblem } from "./msg-input";

export { UNIQUE_CALL_ID } from "./msg-input";
/** Auto-answer headers are single header lines. */
export const MAX_ANSWER_STRING = MAX_AUTO_ANSWER;

export type AnswerInput =
  | { ok: true; uniqueCallId: string; extension: string }
  | InputProblem<"noCallId" | "badCallId" | "noExtension" | "badExtension">;

type Msg = Record<string, unknown>;

/**
 * uniqueCallId: msg.uniqueCallId, else msg.payload.uniqueCallId, else a string msg.payload.
 * extension: the node's own setting, else msg.extension, else msg.payload.extension, else msg.topic.
 */
export function resolveAnswerInput(msg: Msg, configuredExtension: string | undefined): AnswerInput {
  const id = callIdFrom(msg);
  if (!id.ok) return id;
  const ext = extensionFrom(configuredExtension, [msg.extension, field(msg.payload, "extension"), msg.topic]);
  if (!ext.ok) return ext;
  return { ok: true, uniqueCallId: id.uniqueCallId, extension: ext.extension };
}

/** An auto-answer header the node may send: one line, bounded. */
export function isValidAnswerString(value: string): boolean {
  return isValidAutoAnswer(value);
}
