/**
 * Reading the entries of a subscribe answer: which are valid, for which extension (a key may carry a tech prefix,
 * `SIP/410`), and which calls a current-state read lists. Knows nothing of Node-RED; the poll loop decides what to do
 * with them.
 */
import type { CallData, SubscribeResponse } from "../client/types";

export const TECH_PREFIX = /^[A-Za-z][A-Za-z0-9]*\//;

export interface Entry {
  extension: string;
  data: CallData;
  callId: number | undefined;
}

/** Kinds of bad input, for a rate-limited warning each (see warning-limiter.ts). */
export type EntryProblem = "entries" | "entry" | "code";

/** True when any extension of the answer has at least one entry, valid or not. */
export function hasEntries(response: SubscribeResponse): boolean {
  return Object.values(response.Data ?? {}).some((entries) => Array.isArray(entries) && entries.length > 0);
}

/** The valid entries of the extensions `accept` takes, in the PBX's order for each extension; the others are reported. */
export function validEntries(
  response: SubscribeResponse,
  accept: (extension: string) => boolean,
  report: (problem: EntryProblem, message: string) => void,
): Entry[] {
  const out: Entry[] = [];
  for (const [key, entries] of Object.entries(response.Data ?? {})) {
    const extension = key.replace(TECH_PREFIX, "");
    if (!accept(extension)) continue;
    if (!Array.isArray(entries)) {
      report("entries", `ignored malformed entries for extension ${extension}`);
      continue;
    }
    for (const entry of entries) {
      const callData = entry?.CallData;
      // The client turned integer strings into numbers: anything else in Code is not a Code.
      const badCode = entry?.Code !== undefined && entry?.Code !== null && typeof entry?.Code !== "number";
      if (typeof callData !== "object" || callData === null || typeof callData.status !== "string" || badCode ||
        (typeof callData.uniqueCallId !== "string" && typeof callData.uniqueCallId !== "number")) {
        report("entry", `ignored a malformed entry for extension ${extension}`);
        continue;
      }
      if (typeof entry.Code === "number" && entry.Code < 0) {
        report("code", `ignored an entry with Code ${entry.Code} for extension ${extension}`);
        continue;
      }
      const data: CallData = { ...callData, uniqueCallId: String(callData.uniqueCallId) };
      out.push({ extension, data, callId: typeof entry.CallID === "number" ? entry.CallID : undefined });
    }
  }
  return out;
}

/** Extension → uniqueCallIds a current-state read lists. */
export function listedLegs(response: SubscribeResponse): Map<string, Set<string>> {
  const listed = new Map<string, Set<string>>();
  for (const [key, entries] of Object.entries(response.Data ?? {})) {
    if (!Array.isArray(entries)) continue;
    const extension = key.replace(TECH_PREFIX, "");
    const ids = listed.get(extension) ?? new Set<string>();
    for (const entry of entries) {
      const id = entry?.CallData?.uniqueCallId;
      if (id !== undefined) ids.add(String(id));
    }
    listed.set(extension, ids);
  }
  return listed;
}
