/**
 * Where noojee-answer finds the call and the extension in an incoming msg, and what it accepts.
 * Pure functions: the node turns the result into a request or a Catch-able error.
 */
import { DIALABLE_EXTENSION } from "./extensions";

/** Opaque leg ids seen from Noojee PBXs: "1412750652.496", "342082345-238.234". Never parsed as numbers. */
export const UNIQUE_CALL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Auto-answer headers are single header lines. */
export const MAX_ANSWER_STRING = 200;

export type AnswerInput =
  | { ok: true; uniqueCallId: string; extension: string }
  | { ok: false; problem: "noCallId" | "badCallId" | "noExtension" | "badExtension"; value?: string };

type Msg = Record<string, unknown>;

function field(object: unknown, name: string): unknown {
  return typeof object === "object" && object !== null ? (object as Msg)[name] : undefined;
}

/** String(value), or "[object Type]" for values that refuse (an object without prototype, a broken toString). */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * A short, printable rendering of a rejected value for an error message. Never throws: msgs may hold anything a
 * function node can make (BigInt, circular objects, objects without a prototype).
 */
export function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string"
      ? value
      : JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? safeString(value);
  } catch {
    text = safeString(value);
  }
  text = text.replace(/\p{Cc}/gu, "?");
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

/**
 * uniqueCallId: msg.uniqueCallId, else msg.payload.uniqueCallId, else a string msg.payload.
 * extension: the node's own setting, else msg.extension, else msg.payload.extension, else msg.topic.
 */
export function resolveAnswerInput(msg: Msg, configuredExtension: string | undefined): AnswerInput {
  const payload = msg.payload;
  const idSource = [msg.uniqueCallId, field(payload, "uniqueCallId")].find(isPresent) ??
    (typeof payload === "string" && payload !== "" ? payload : undefined);
  if (idSource === undefined) return { ok: false, problem: "noCallId" };
  if (typeof idSource !== "string" || !UNIQUE_CALL_ID.test(idSource.trim())) {
    return { ok: false, problem: "badCallId", value: show(idSource) };
  }

  const configured = configuredExtension?.trim();
  const extSource = configured ? configured : [msg.extension, field(payload, "extension"), msg.topic].find(isPresent);
  if (extSource === undefined) return { ok: false, problem: "noExtension" };
  // A number is a fine extension (msg.extension = 410); anything else must read as one.
  const extension = typeof extSource === "number" && Number.isInteger(extSource) ? String(extSource) : extSource;
  if (typeof extension !== "string" || !DIALABLE_EXTENSION.test(extension.trim())) {
    return { ok: false, problem: "badExtension", value: show(extSource) };
  }
  return { ok: true, uniqueCallId: idSource.trim(), extension: extension.trim() };
}

/** An auto-answer header the node may send: one line, bounded. */
export function isValidAnswerString(value: string): boolean {
  return value.length <= MAX_ANSWER_STRING && !/[\r\n]/.test(value);
}
