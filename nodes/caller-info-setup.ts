/**
 * The config node's "who is calling": its country and phonebook settings turned into a CallerInfoService
 * (nodes/lib/numbers/caller-info.ts), with the context variable read through Node-RED and warnings in the catalogue's
 * words. One per config node instance; a redeploy starts a new one.
 */
import { isAbsolute, resolve } from "node:path";
import type { Node, NodeAPI } from "node-red";
import { readCountry } from "./lib/numbers/country-code";
import { CallerInfo, CallerInfoService, FileState, PhonebookSource } from "./lib/numbers/caller-info";
import type { PhonebookProblem } from "./lib/numbers/phonebook";
import type { NoojeeConfigDef, PhonebookNote } from "./node-types";

export interface CallerInfoSetup {
  country: string;
  callerInfo: (callerId: unknown, extension?: string) => CallerInfo;
  /** A note for the statuses of the nodes using the config node while its phonebook file gives no names. */
  note: PhonebookNote;
  close(): void;
}

type ContextGet = (key: string, store: string | undefined, callback: (err: Error | null, value: unknown) => void) => void;

export function startCallerInfo(RED: NodeAPI, node: Node, config: NoojeeConfigDef, pollMs: number): CallerInfoSetup {
  const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-config.${key}`, values);
  // An optional setting: a wrong one is said once, naming the code probably meant, and the nodes carry on without.
  const reading = readCountry(config.country);
  const country = reading.ok ? reading.code : "";
  if (!reading.ok) {
    const value = String(config.country).trim().slice(0, 30);
    node.warn(reading.suggestion ? t("country.meant", { value, code: reading.suggestion }) : t("country.unknown", { value }));
  }
  const contextKey = (config.phonebookContext ?? "").trim();
  let readContext: (() => Promise<unknown>) | undefined;
  if (contextKey !== "") {
    const scope = config.phonebookContextType === "flow" ? "flow" : "global";
    const { store, key } = RED.util.parseContextStore(contextKey);
    // A configuration node that is on no flow tab may have no flow context to read.
    const context = node.context()[scope] as unknown as { get?: ContextGet } | undefined;
    const get = context?.get?.bind(context);
    if (get) readContext = () => new Promise((done, fail) => get(key, store, (err, value) => (err ? fail(err) : done(value))));
    else node.warn(t("phonebook.noFlowContext", { key: contextKey }));
  }
  const fileSetting = (config.phonebookFile ?? "").trim();
  const userDir = (RED.settings as { userDir?: unknown }).userDir;
  // A relative path is taken from Node-RED's user directory (the help says so).
  const file = fileSetting === "" ? undefined : isAbsolute(fileSetting) || typeof userDir !== "string" ? fileSetting : resolve(userDir, fileSetting);
  const describe = (source: PhonebookSource, problem: PhonebookProblem, count: number, others: string, kept: boolean): string =>
    // A missing file that had been loaded is gone: its names stay until it is back.
    t(`phonebook.${problem.kind === "missingFile" && kept ? "goneFile" : problem.kind}`, {
      source: source === "file" ? t("phonebook.sourceFile", { file: file ?? "" }) : t("phonebook.sourceContext", { key: contextKey }),
      where: problem.where,
      value: problem.value ?? "",
      more: count > 1 ? t("phonebook.more", { count: count - 1, others }) : "",
      kept: t(kept ? "phonebook.kept" : "phonebook.noneKept"),
    });
  let state: FileState = "ok";
  const listeners = new Set<(note: string | undefined) => void>();
  const current = (): string | undefined => (state === "ok" ? undefined : t(`phonebook.note.${state}`));
  const service = new CallerInfoService({
    country,
    readContext,
    file,
    pollMs,
    warn: (line) => node.warn(line),
    describe,
    onFileState: (next) => {
      state = next;
      for (const listener of listeners) listener(current());
    },
    onLoaded: (source, entries, ms) =>
      node.log(t("phonebook.loaded", { source: source === "file" ? file ?? "" : contextKey, entries, ms: Math.round(ms) })),
  });
  const active = service.active;
  if (active) void service.start();
  return {
    country,
    callerInfo: active ? (callerId, extension) => service.callerInfo(callerId, extension) : () => ({}),
    note: {
      current,
      watch: (listener) => {
        listeners.add(listener);
        listener(current());
        return () => listeners.delete(listener);
      },
    },
    close: () => {
      listeners.clear();
      service.close();
    },
  };
}
