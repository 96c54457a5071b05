/**
 * What noojee-dial sends: its settings merged with the msg, validated. Pure functions: the node turns the result into
 * a request or a Catch-able error.
 *
 * One rule for every property: the node's settings are defaults, and a msg property of the same name, when present,
 * overrides its setting (msg.extension too, since 1.2.0: before, the node's Extension won, unlike every other
 * property). A string or number msg.payload is the number only when neither msg.number nor the node's Number is set.
 */
import type { DialParams } from "../client/api-client";
import { isValidAutoAnswer } from "./auto-answer";
import { DIALABLE_EXTENSION } from "./extensions";
import { dialString, NUMBER_PUNCTUATION } from "../numbers/caller-id";
import { unwrapNumber } from "../numbers/number-text";
import { extensionFrom, InputProblem, isOneLine, isPresent, Msg, show, textFrom } from "./msg-input";

/** A number the PBX can dial, once spaces, dashes, dots and parentheses are removed. */
export const PHONE_NUMBER = /^\+?[0-9*#]{1,32}$/;
/** What normalisation removes (defined beside the caller ID readings, which remove the same). */
export { NUMBER_PUNCTUATION };
/** A channel technology such as SIP, PJSIP or IAX2, put before a bare extension: `SIP/100`. */
export const TECH = /^[A-Za-z][A-Za-z0-9]{0,19}$/;
export const DEFAULT_TECH = "SIP";
/** Lengths of the free-text settings (one line each). */
export const DIAL_TEXT_MAX = { callerId: 80, phoneCaption: 80, tag: 100 } as const;

/** The node's own settings, as stored in the flow ("" = not set). */
export interface DialSettings {
  number: string;
  extension: string;
  tech: string;
  autoAnswer: string;
  callerId: string;
  phoneCaption: string;
  tag: string;
  monitored: boolean;
  record: boolean;
}

export type DialProblem =
  | "noNumber"
  | "badNumber"
  | "noExtension"
  | "badExtension"
  | "badTech"
  | "badAutoAnswer"
  | "badCallerId"
  | "badPhoneCaption"
  | "badTag"
  | "badMonitored"
  | "badRecord";

export type DialInput = { ok: true; params: DialParams } | InputProblem<DialProblem>;

/**
 * `"+61 2 9999-0000"` -> `"+61299990000"`; a non-negative whole number is taken as its digits; the number inside a
 * wrapping (`"Bob" <0355501234>`, `tel:+61...`, `SIP/...`, `sip:...@host`) is taken, an extension after it
 * (`;ext=12`, ` x12`) dropped (number-text.ts). undefined when the result is not a dialable number (at most 32
 * digits, `*` or `#`, optionally after a leading `+`).
 */
export function normalisePhoneNumber(value: unknown): string | undefined {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) return undefined;
    text = String(value);
  } else if (typeof value === "string") {
    text = value;
  } else {
    return undefined;
  }
  const compact = unwrapNumber(text).replace(NUMBER_PUNCTUATION, "");
  return PHONE_NUMBER.test(compact) ? compact : undefined;
}

/** `100` -> `SIP/100` (with the node's tech); `PJSIP/100` stays as it is. */
export function withTech(extension: string, tech: string): string {
  return extension.includes("/") ? extension : `${tech}/${extension}`;
}

/** The first problem in the node's own settings, or undefined when they are usable. */
export function checkDialSettings(s: DialSettings): InputProblem<DialProblem> | undefined {
  if (s.number !== "" && normalisePhoneNumber(s.number) === undefined) return { ok: false, problem: "badNumber", value: show(s.number) };
  if (s.extension !== "" && !DIALABLE_EXTENSION.test(s.extension)) return { ok: false, problem: "badExtension", value: show(s.extension) };
  if (!TECH.test(s.tech)) return { ok: false, problem: "badTech", value: show(s.tech) };
  if (!isValidAutoAnswer(s.autoAnswer)) return { ok: false, problem: "badAutoAnswer" };
  if (!isOneLine(s.callerId, DIAL_TEXT_MAX.callerId)) return { ok: false, problem: "badCallerId", value: show(s.callerId) };
  if (!isOneLine(s.phoneCaption, DIAL_TEXT_MAX.phoneCaption)) return { ok: false, problem: "badPhoneCaption", value: show(s.phoneCaption) };
  if (!isOneLine(s.tag, DIAL_TEXT_MAX.tag)) return { ok: false, problem: "badTag", value: show(s.tag) };
  return undefined;
}

/** A text setting: msg[name] overrides the node's value when present. */
function text(msg: Msg, name: "callerId" | "phoneCaption" | "tag", configured: string): string | InputProblem<DialProblem> {
  const given = msg[name];
  if (!isPresent(given)) return configured;
  const value = textFrom(given, DIAL_TEXT_MAX[name]);
  if (value === undefined) {
    const problem = ({ callerId: "badCallerId", phoneCaption: "badPhoneCaption", tag: "badTag" } as const)[name];
    return { ok: false, problem, value: show(given) };
  }
  return value;
}

/** A flag: msg[name] (true or false) overrides the node's value; anything else but undefined/null is refused. */
function flag(msg: Msg, name: "monitored" | "record", configured: boolean): boolean | InputProblem<DialProblem> {
  const given = msg[name];
  if (given === undefined || given === null) return configured;
  if (typeof given === "boolean") return given;
  return { ok: false, problem: name === "monitored" ? "badMonitored" : "badRecord", value: show(given) };
}

/**
 * number: msg.number, else the node's Number, else msg.payload (string or number).
 * extension: msg.extension, else the node's Extension; a bare one gets the node's tech.
 * tech, autoAnswer, callerId, phoneCaption, tag, monitored, record: msg.<name> when present, else the node's setting.
 * country: the config node's, if set: the number is sent in the form dialString (caller-id.ts) describes.
 */
export function resolveDialInput(msg: Msg, s: DialSettings, country?: string): DialInput {
  const payload = msg.payload;
  const numberSource = isPresent(msg.number)
    ? msg.number
    : s.number !== ""
      ? s.number
      : typeof payload === "string" || typeof payload === "number"
        ? payload
        : undefined;
  if (!isPresent(numberSource)) return { ok: false, problem: "noNumber" };
  const compact = normalisePhoneNumber(numberSource);
  if (compact === undefined) return { ok: false, problem: "badNumber", value: show(numberSource) };
  const number = dialString(compact, country);

  const ext = isPresent(msg.extension) ? extensionFrom(undefined, [msg.extension]) : extensionFrom(s.extension, []);
  if (!ext.ok) return ext;

  const callerId = text(msg, "callerId", s.callerId);
  if (typeof callerId !== "string") return callerId;
  const phoneCaption = text(msg, "phoneCaption", s.phoneCaption);
  if (typeof phoneCaption !== "string") return phoneCaption;
  const tag = text(msg, "tag", s.tag);
  if (typeof tag !== "string") return tag;
  const monitored = flag(msg, "monitored", s.monitored);
  if (typeof monitored !== "boolean") return monitored;
  const record = flag(msg, "record", s.record);
  if (typeof record !== "boolean") return record;
  // msg.tech and msg.autoAnswer override the node's Technology and Auto-answer like every other property.
  const tech = isPresent(msg.tech) ? (typeof msg.tech === "string" ? msg.tech.trim() : "") : s.tech;
  if (!TECH.test(tech)) return { ok: false, problem: "badTech", value: show(msg.tech) };
  const autoAnswer = isPresent(msg.autoAnswer) ? msg.autoAnswer : s.autoAnswer;
  if (typeof autoAnswer !== "string" || !isValidAutoAnswer(autoAnswer)) return { ok: false, problem: "badAutoAnswer" };

  return {
    ok: true,
    params: {
      number,
      extenOrUniqueId: withTech(ext.extension, tech),
      autoAnswer: autoAnswer || undefined,
      callerId: callerId || undefined,
      phoneCaption: phoneCaption || undefined,
      monitored,
      record,
      tag: tag || undefined,
    },
  };
}
