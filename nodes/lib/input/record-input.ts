/**
 * What noojee-record sends: start or stop, its target, and the optional tag (start only) and agent login name.
 * Pure functions. The node's settings are defaults; msg.tag and msg.agentLoginName override them when present.
 */
import type { RecordingParams } from "../client/api-client";
import { checkTargetSettings, resolveTarget, TargetBy, TargetProblem } from "./call-target";
import { InputProblem, isOneLine, isPresent, Msg, show, textFrom } from "./msg-input";

export type RecordAction = "start" | "stop";
/** "msg" takes the action from msg.action. */
export type RecordActionSetting = RecordAction | "msg";

export const RECORD_TEXT_MAX = { tag: 100, agentLoginName: 64 } as const;

export interface RecordSettings {
  action: RecordActionSetting;
  by: TargetBy;
  extension: string;
  tag: string;
  agentLoginName: string;
}

export type RecordProblem = TargetProblem | "noAction" | "badAction" | "badTag" | "badAgentLoginName";

export type RecordInput = { ok: true; action: RecordAction; params: RecordingParams } | InputProblem<RecordProblem>;

/** The first problem in the node's own settings, or undefined. */
export function checkRecordSettings(s: {
  action: unknown;
  by: unknown;
  extension: string;
  tag: string;
  agentLoginName: string;
}): InputProblem<"badActionSetting" | "badBy" | "badExtension" | "badTag" | "badAgentLoginName"> | undefined {
  if (s.action !== "start" && s.action !== "stop" && s.action !== "msg") return { ok: false, problem: "badActionSetting", value: show(s.action) };
  const target = checkTargetSettings(s.by, s.extension);
  if (target) return target;
  if (!isOneLine(s.tag, RECORD_TEXT_MAX.tag)) return { ok: false, problem: "badTag", value: show(s.tag) };
  if (!isOneLine(s.agentLoginName, RECORD_TEXT_MAX.agentLoginName)) return { ok: false, problem: "badAgentLoginName", value: show(s.agentLoginName) };
  return undefined;
}

/** msg.action for the "msg" setting: "start" or "stop", in any case, spaces around ignored. */
function actionFrom(msg: Msg): RecordAction | InputProblem<"noAction" | "badAction"> {
  const given = msg.action;
  if (!isPresent(given)) return { ok: false, problem: "noAction" };
  const action = typeof given === "string" ? given.trim().toLowerCase() : undefined;
  if (action === "start" || action === "stop") return action;
  return { ok: false, problem: "badAction", value: show(given) };
}

export function resolveRecordInput(msg: Msg, s: RecordSettings): RecordInput {
  const action = s.action === "msg" ? actionFrom(msg) : s.action;
  if (typeof action !== "string") return action;
  const target = resolveTarget(msg, s.by, s.extension);
  if (!target.ok) return target;

  let agentLoginName = s.agentLoginName;
  if (isPresent(msg.agentLoginName)) {
    const given = textFrom(msg.agentLoginName, RECORD_TEXT_MAX.agentLoginName);
    if (given === undefined) return { ok: false, problem: "badAgentLoginName", value: show(msg.agentLoginName) };
    agentLoginName = given;
  }
  // The tag belongs to start only: a stop ignores msg.tag, whatever it holds.
  let tag = action === "start" ? s.tag : "";
  if (action === "start" && isPresent(msg.tag)) {
    const given = textFrom(msg.tag, RECORD_TEXT_MAX.tag);
    if (given === undefined) return { ok: false, problem: "badTag", value: show(msg.tag) };
    tag = given;
  }
  return {
    ok: true,
    action,
    params: { extenOrUniqueId: target.target, agentLoginName: agentLoginName || undefined, tag: tag || undefined },
  };
}
