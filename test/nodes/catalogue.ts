/**
 * Our nodes with Node-RED's translation as a user has it: texts from nodes/locales/en-US with their values filled in
 * (the test helper's RED._ gives back the bare key). For tests of what a status or an error says in full.
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "node-red";
import configNode = require("../../nodes/noojee-config");
import subscribeNode = require("../../nodes/noojee-subscribe");
import answerNode = require("../../nodes/noojee-answer");
import dialNode = require("../../nodes/noojee-dial");
import hangupNode = require("../../nodes/noojee-hangup");
import recordNode = require("../../nodes/noojee-record");
import presenceNode = require("../../nodes/noojee-presence");

// Compiled to dist/test/nodes; the catalogues are read where they are written.
const LOCALES = path.join(__dirname, "..", "..", "..", "nodes", "locales", "en-US");

let catalogue: Record<string, unknown> | undefined;

/** The catalogue's text for `key` with `__name__` replaced by its value; the key itself when there is none. */
export function translate(key: string, values: Record<string, unknown> = {}): string {
  catalogue ??= Object.assign(
    {},
    ...fs.readdirSync(LOCALES).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(fs.readFileSync(path.join(LOCALES, f), "utf8")) as object),
  ) as Record<string, unknown>;
  let found: unknown = catalogue;
  for (const part of key.split(".")) found = typeof found === "object" && found !== null ? (found as Record<string, unknown>)[part] : undefined;
  if (typeof found !== "string") return key;
  return found.replace(/__(.+?)__/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

function translated(module: (RED: NodeAPI) => void): (RED: NodeAPI) => void {
  return (RED) => {
    const red = Object.create(RED) as NodeAPI;
    red._ = ((key: string, values?: Record<string, unknown>) => translate(key, values)) as NodeAPI["_"];
    module(red);
  };
}

export const translatedNodes = [configNode, subscribeNode, answerNode, dialNode, hangupNode, recordNode, presenceNode].map(translated);
