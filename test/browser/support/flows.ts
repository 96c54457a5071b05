/** The flows the browser tests deploy, their node ids, and the package facts they check against. */
import * as fs from "node:fs";
import * as path from "node:path";
import { type FlowNode, REPO_ROOT } from "../../harness/node-red-process";

export const MODULE = "node-red-contrib-noojee";
export const API_KEY = "browser-secret-5c1f0e9a-7d2b-4f63-9a84-1e2d3c4b5a69";
/** Node-RED's stand-in for a stored password credential (what the editor gets instead of the value). */
export const PASSWORD_PLACEHOLDER = "__PWRD__";

/** Our node types, from package.json; all but the config node are in the palette. */
export const TYPES = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } })[
    "node-red"
  ].nodes,
);
export const PALETTE_TYPES = TYPES.filter((t) => t !== "noojee-config");

export const TAB = "b0000000000000a1";
export const CFG = "b0000000000000c1";
export const SUB = "b0000000000000s1";
export const ANS = "b0000000000000n1";
const SWITCH = "b0000000000000w1";
const DEBUG = "b0000000000000d1";

/** The config node's credentials as the tests deploy them. */
export const CREDENTIALS = { [CFG]: { apiKey: API_KEY } };

/** A config node, subscribe → debug, and subscribe → switch (answerable calls) → answer, as in the answer example. */
export function demoFlow(host: string): FlowNode[] {
  return [
    { id: TAB, type: "tab", label: "Calls", disabled: false, info: "" },
    { id: CFG, type: "noojee-config", name: "Office PBX", host, verifyTls: true, authMode: "apiKey" },
    {
      id: SUB,
      type: "noojee-subscribe",
      z: TAB,
      name: "",
      server: CFG,
      extensions: "410",
      timeout: 30,
      outputMode: "events",
      persistChanges: false,
      outputs: 1,
      x: 140,
      y: 100,
      wires: [[DEBUG, SWITCH]],
    },
    {
      id: DEBUG,
      type: "debug",
      z: TAB,
      name: "calls",
      active: true,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: "payload",
      targetType: "msg",
      statusVal: "",
      statusType: "auto",
      x: 370,
      y: 100,
      wires: [],
    },
    {
      id: SWITCH,
      type: "switch",
      z: TAB,
      name: "answerable",
      property: "payload.canAnswer",
      propertyType: "msg",
      rules: [{ t: "true" }],
      checkall: "true",
      repair: false,
      outputs: 1,
      x: 370,
      y: 180,
      wires: [[ANS]],
    },
    // Answerable calls go on to the answer node, as in the answer example (the fake PBX accepts the answer).
    {
      id: ANS,
      type: "noojee-answer",
      z: TAB,
      name: "",
      server: CFG,
      extension: "",
      answerString: "Call-info:answer-after=0",
      x: 580,
      y: 180,
      wires: [[]],
    },
  ];
}

/** Just subscribe → debug: what the debug sidebar test and its screenshot need (nothing answers the call). */
export function liveFlow(host: string): FlowNode[] {
  const keep = new Set([TAB, CFG, SUB, DEBUG]);
  return demoFlow(host)
    .filter((n) => keep.has(n.id))
    .map((n) => (n.id === SUB ? { ...n, wires: [[DEBUG]] } : n));
}

/** The tab and config node of the demo flow plus one node of each type in `types`, with ids node0, node1, ... */
export function oneOfEach(host: string, types: string[]): FlowNode[] {
  return [
    ...demoFlow(host).filter((n) => n.id === TAB || n.id === CFG),
    ...types.map((type, i) => ({ id: nodeId(i), type, z: TAB, name: "", server: CFG, x: 160, y: 80 + 60 * i, wires: [[]] })),
  ];
}

/** The id oneOfEach gives its i-th node. */
export function nodeId(i: number): string {
  return `b00000000000000${i}`;
}
