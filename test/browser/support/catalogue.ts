/** The editor's texts as the message catalogues give them, to compare what the browser shows against. */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../harness/node-red-process";

type Catalogue = Record<string, unknown>;
const catalogues = new Map<string, Catalogue>();

/** A message from nodes/locales/en-US/<type>.json, with Node-RED's `__name__` substitutions applied. */
export function msg(type: string, key: string, subs: Record<string, string | number> = {}): string {
  let cat = catalogues.get(type);
  if (!cat) {
    cat = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "nodes", "locales", "en-US", `${type}.json`), "utf8")) as Catalogue;
    catalogues.set(type, cat);
  }
  let value: unknown = cat[type];
  for (const part of key.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
  if (typeof value !== "string") throw new Error(`no message ${type}:${type}.${key} in the catalogue`);
  return value.replace(/__(\w+)__/g, (whole, name: string) => (name in subs ? String(subs[name]) : whole));
}

/** The options of the auto-answer preset select in `type`'s form, as [value, text]: each vendor's header, then custom. */
export function presetOptions(type: string): Array<[string, string]> {
  return [
    ["none", msg(type, "preset.none")],
    ["yealink", `${msg(type, "preset.yealink")} (Call-info:answer-after=0)`],
    ["grandstream", `${msg(type, "preset.grandstream")} (Call-Info:\\; answer-after=0)`],
    ["polycom", `${msg(type, "preset.polycom")} (Alert-Info: Ring Answer)`],
    ["custom", msg(type, "preset.custom")],
  ];
}
