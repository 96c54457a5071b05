/**
 * The `extenOrUniqueId` of hangup and recording requests: a call leg's uniqueCallId (the default), or an extension,
 * which the PBX reads as "whatever call that handset has". Pure functions.
 */
import { DIALABLE_EXTENSION } from "./extensions";
import { callIdFrom, extensionFrom, field, InputProblem, Msg, show } from "./msg-input";

export type TargetBy = "call" | "extension";

export type TargetProblem = "noCallId" | "badCallId" | "extensionAsCallId" | "noExtension" | "badExtension";

export function isTargetBy(value: unknown): value is TargetBy {
  return value === "call" || value === "extension";
}

/** The first problem in the node's target settings, or undefined. */
export function checkTargetSettings(by: unknown, extension: string): InputProblem<"badBy" | "badExtension"> | undefined {
  if (!isTargetBy(by)) return { ok: false, problem: "badBy", value: show(by) };
  if (extension !== "" && !DIALABLE_EXTENSION.test(extension)) return { ok: false, problem: "badExtension", value: show(extension) };
  return undefined;
}

/**
 * by "call": msg.uniqueCallId, else msg.payload.uniqueCallId, else a string msg.payload. An id that reads as an
 * extension (`410`, `SIP/410`) is refused: the PBX would end whatever call that extension has.
 * by "extension": the node's Extension, else msg.extension, else msg.payload.extension, else msg.topic.
 */
export function resolveTarget(
  msg: Msg,
  by: TargetBy,
  configuredExtension: string | undefined,
): { ok: true; target: string } | InputProblem<TargetProblem> {
  if (by === "call") {
    const id = callIdFrom(msg);
    if (!id.ok) return id;
    if (DIALABLE_EXTENSION.test(id.uniqueCallId)) return { ok: false, problem: "extensionAsCallId", value: show(id.uniqueCallId) };
    return { ok: true, target: id.uniqueCallId };
  }
  const ext = extensionFrom(configuredExtension, [msg.extension, field(msg.payload, "extension"), msg.topic]);
  if (!ext.ok) return ext;
  return { ok: true, target: ext.extension };
}
