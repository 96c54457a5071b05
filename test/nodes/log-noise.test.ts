/**
 * A big install (19 config nodes, as in the demo) starts without noise (issue 25, item 15): one flows:started listener
 * for all config nodes, not one each (Node.js warned MaxListenersExceededWarning from the eleventh), and "no saved
 * position" said once, not once per config node.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EventEmitter } from "node:events";
import type sinon from "sinon";
import { FakePbx } from "../fake-pbx";
import { translatedNodes } from "./catalogue";
import { configFlowNode, credentials, FlowNode, helper, startFakePbx, unloadAndStop, until } from "./support";

const CONFIG_NODES = 19;

describe("a start with many config nodes is quiet", function () {
  let pbx: FakePbx;
  let userDir: string;
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);

  beforeEach(async () => {
    pbx = await startFakePbx();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-noise-"));
    helper.settings({ userDir } as Parameters<typeof helper.settings>[0]);
    process.on("warning", onWarning);
  });
  afterEach(async () => {
    process.removeListener("warning", onWarning);
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it(`${CONFIG_NODES} config nodes, each with a subscribe node: one flows:started listener, one "no saved position" line`, async () => {
    const flow: FlowNode[] = [];
    const creds: Record<string, { apiKey: string }> = {};
    for (let i = 0; i < CONFIG_NODES; i++) {
      flow.push(configFlowNode(pbx.url, { id: `cfg${i}`, name: `pbx ${i}` }));
      flow.push({ id: `sub${i}`, type: "noojee-subscribe", server: `cfg${i}`, extensions: String(400 + i), timeout: 30, wires: [[]] });
      creds[`cfg${i}`] = credentials().cfg;
    }
    await helper.load(translatedNodes, flow, creds);
    const events = (helper as unknown as { _events: EventEmitter })._events;
    assert.equal(events.listenerCount("flows:started"), 1, "one listener for all the config nodes");
    await until(() => pbx.openPolls() === CONFIG_NODES, "every config node's poll held");
    assert.deepEqual(warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message), []);

    const logSpy = (helper as unknown as { _NodePrototype: Record<string, sinon.SinonSpy> })._NodePrototype.log;
    const lines = logSpy.getCalls().map((c) => String(c.args[0])).filter((l) => l.startsWith("not resuming"));
    assert.deepEqual(lines, [
      "not resuming (no saved position): reading the current state. Said once: other configuration nodes with no saved position start the same way",
    ]);

    await helper.unload();
    assert.equal(events.listenerCount("flows:started"), 0, "gone with the last config node");
  });
});
