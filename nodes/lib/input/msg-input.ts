/**
 * Finding values in an incoming msg and judging them: shared by the input modules of the call-control nodes
 * (answer, dial, hangup, record). Pure functions, no Node-RED imports.
 */
import { DIALABLE_EXTENSION } from "./extensions";

export type Msg = Record<string, unknown>;

/** A value the node cannot use: the catalogue key of the problem, and a short rendering of what was given. */
export interface InputProblem<P extends string = string> {
  ok: false;
  problem: P;
  value?: string;
}

/** Opaque leg ids seen from Noojee PBXs: "1412750652.496", "342082345-238.234". Never parsed as numbers. */
export const UNIQUE_CALL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** `object.name` when `object` is an object, else undefined. */
export function field(object: unknown, name: string): unknown {
  return typeof object === "object" && object !== null ? (object as Msg)[name] : undefined;
}

/** undefined, null and "" count as "not given". */
export function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
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

/** One line of printable text of at most `max` characters (no control characters at all). */
export function isOneLine(text: string, max: number): boolean {
  return text.length <= max && !/\p{Cc}/u.test(text);
}

/**
 * A free-text value (caller id, caption, tag, agent name) from a msg: a string (trimmed) or a finite number, one line
 * of at most `max` characters. undefined for anything else.
 */
export function textFrom(value: unknown, max: number): string | undefined {
  const text = typeof value === "string" ? value.trim() : typeof value === "number" && Number.isFinite(value) ? String(value) : undefined;
  return text !== undefined && isOneLine(text, max) ? text : undefined;
}

/**
 * A node's text setting as the runtime reads it: trimmed, "" when unset. A flow written by hand may hold a number
 * (`"extension": 410`): read as its digits, where calling .trim() on it stopped the node at start.
 */
export function settingText(value: unknown): string {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" ? value.trim() : "";
}

/** The call leg id: msg.uniqueCallId, else msg.payload.uniqueCallId, else a string msg.payload. */
export function callIdFrom(msg: Msg): { ok: true; uniqueCallId: string } | InputProblem<"noCallId" | "badCallId"> {
  const payload = msg.payload;
  const source = [msg.uniqueCallId, field(payload, "uniqueCallId")].find(isPresent) ??
    (typeof payload === "string" && payload !== "" ? payload : undefined);
  if (source === undefined) return { ok: false, problem: "noCallId" };
  if (typeof source !== "string" || !UNIQUE_CALL_ID.test(source.trim())) {
    return { ok: false, problem: "badCallId", value: show(source) };
  }
  return { ok: true, uniqueCallId: source.trim() };
}

/**
 * An extension, bare (`410`) or with its tech (`SIP/410`): the node's own setting when not empty, else the first
 * present candidate from the msg. A whole number is accepted as well.
 */
export function extensionFrom(
  configured: string | undefined,
  candidates: readonly unknown[],
): { ok: true; extension: string } | InputProblem<"noExtension" | "badExtension"> {
  const fixed = configured?.trim();
  const source = fixed ? fixed : candidates.find(isPresent);
  if (source === undefined) return { ok: false, problem: "noExtension" };
  const extension = typeof source === "number" && Number.isInteger(source) ? String(source) : source;
  if (typeof extension !== "string" || !DIALABLE_EXTENSION.test(extension.trim())) {
    return { ok: false, problem: "badExtension", value: show(source) };
  }
  return { ok: true, extension: extension.trim() };
}
