/**
 * test/fixtures/flows-0.1.0.json (a flow file as version 0.1.0 saved it; see test/fixtures/README.md) and the ids of
 * its nodes, for the tests that load it into the current version.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FlowNode } from "../harness/node-red-process";

/** The fixture's node ids, by role. */
export const OLD = {
  tab: "f010000000000ta1",
  config: "f010000000000cf1",
  subscribe: "f010000000000sb1",
  answer: "f010000000000an1",
  dial: "f010000000000dl1",
  hangup: "f010000000000hu1",
  record: "f010000000000rc1",
  injectDial: "f010000000000in1",
  injectHangup: "f010000000000in2",
  injectRecord: "f010000000000in3",
} as const;

/** The PBX address saved in the fixture, which the tests replace with the fake PBX's. */
export const SAVED_HOST = "https://pbx.example.com:8443";

/** The fixture file as it is on disk (compiled to dist/test/e2e/, the fixture stays in test/fixtures). */
export function readFixture(): FlowNode[] {
  const file = path.join(__dirname, "..", "..", "..", "test", "fixtures", "flows-0.1.0.json");
  return JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
}

/** The fixture with its config node pointed at `host`; nothing else changed. */
export function fixtureFor(host: string): FlowNode[] {
  return readFixture().map((n) => {
    if (n.id !== OLD.config) return n;
    if (n.host !== SAVED_HOST) throw new Error(`fixture: config node host is ${String(n.host)}, expected ${SAVED_HOST}`);
    return { ...n, host };
  });
}
