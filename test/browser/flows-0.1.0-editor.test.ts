/**
 * Flows saved by 0.1.0, seen in the current version's editor (Chromium via playwright-core): a real Node-RED process
 * running the packed package starts with test/fixtures/flows-0.1.0.json as its flow file (host pointed at the fake
 * PBX). No node is flagged invalid, no edit dialog marks a field, pressing Done in each dialog keeps every saved
 * value, and the subscribe node's status turns green. The runtime side is test/e2e/flows-0.1.0.test.ts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { FakePbx } from "../fake-pbx";
import { type FlowNode, type NodeRedProcess, REPO_ROOT, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { fixtureFor, OLD } from "../e2e/flows-0.1.0-fixture";
import { launchChromium, openEditorPage, requireChromium } from "./chromium";
import { closeNodeDialog, openConfigDialog, openNodeDialog } from "./support/editor-page";

interface EditorNode {
  id: string;
  type: string;
  valid?: boolean;
  validationErrors?: string[];
  status?: { fill?: string; shape?: string; text?: string };
  [key: string]: unknown;
}
interface EditorRed {
  nodes: {
    node(id: string): EditorNode | null;
    eachNode(cb: (n: EditorNode) => void): void;
    eachConfig(cb: (n: EditorNode) => void): void;
    /** The node as the editor would deploy it. */
    convertNode(n: EditorNode, exportCredentials?: boolean): Record<string, unknown>;
  };
}
type Win = Window & { RED: EditorRed };

/** The saved subscribe node's "listening" status text, from the message catalogue. */
function listeningText(): string {
  const cat = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "nodes", "locales", "en-US", "noojee-subscribe.json"), "utf8")) as {
    "noojee-subscribe": { status: { listening: string } };
  };
  return cat["noojee-subscribe"].status.listening;
}

describe("flows saved by 0.1.0 in the current editor (Chromium)", function () {
  this.timeout(90_000);

  const apiKey = `fixture-${randomUUID()}`;
  let pbx: FakePbx | undefined;
  let nr: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let saved: FlowNode[];

  const nrLog = (): string => `--- Node-RED output ---\n${nr?.log() ?? "(not started)"}`;

  before(async function () {
    this.timeout(180_000);
    requireChromium(this);
    pbx = new FakePbx({ apiKey });
    await pbx.start();
    saved = fixtureFor(pbx.url);
    const [started, launched] = await Promise.allSettled([
      startNodeRed({
        savedFlows: { flows: saved, credentials: { [OLD.config]: { apiKey } } },
        settings: { editorTheme: { tours: false, palette: { catalogues: [] }, codeEditor: { lib: "ace" } } },
      }),
      launchChromium(),
    ]);
    if (started.status === "fulfilled") nr = started.value;
    if (launched.status === "fulfilled") browser = launched.value;
    if (started.status === "rejected") throw started.reason;
    if (launched.status === "rejected") throw launched.reason;
    page = await openEditorPage(browser!, nr!.url);
  });

  after(async () => {
    const results = await Promise.allSettled([browser?.close(), stopAllNodeRed()]);
    await pbx?.stop();
    for (const r of results) if (r.status === "rejected") throw r.reason;
  });

  it("has every saved node, none flagged invalid", async () => {
    await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${OLD.subscribe}"]`).waitFor();
    const nodes = await page.evaluate(() => {
      const { RED } = window as unknown as Win;
      const all: EditorNode[] = [];
      RED.nodes.eachNode((n) => all.push({ id: n.id, type: n.type, valid: n.valid, validationErrors: n.validationErrors ?? [] }));
      RED.nodes.eachConfig((n) => all.push({ id: n.id, type: n.type, valid: n.valid, validationErrors: n.validationErrors ?? [] }));
      return all;
    });
    const expected = saved.filter((n) => n.type !== "tab").map((n) => n.id).sort();
    assert.deepEqual(nodes.map((n) => n.id).filter((id) => expected.includes(id)).sort(), expected, "every saved node is in the editor");
    const invalid = nodes.filter((n) => n.valid !== true || (n.validationErrors ?? []).length > 0);
    assert.deepEqual(invalid, [], "no node is invalid");

    // The warning triangle: drawn (hidden) on every node, shown on none.
    const badges = page.locator("#red-ui-workspace-chart .red-ui-flow-node-error");
    assert.ok((await badges.count()) >= expected.length - 1, "the editor drew the error badges (hidden)");
    assert.equal(await page.locator("#red-ui-workspace-chart .red-ui-flow-node-error:not(.hide)").count(), 0, "no error badge shown");
  });

  it("shows the subscribe node connected (green, listening)", async () => {
    const status = await page.waitForFunction(
      (id) => {
        const s = (window as unknown as Win).RED.nodes.node(id)?.status;
        return s?.fill === "green" ? s : undefined;
      },
      OLD.subscribe,
      { timeout: 30_000 },
    );
    const value = (await status.jsonValue()) as EditorNode["status"];
    assert.equal(value?.text, listeningText(), nrLog());
  });

  /** Opens the node's dialog, checks no field is marked, presses Done, and returns the node's properties after. */
  async function doneWithoutChange(id: string): Promise<Record<string, unknown>> {
    await openNodeDialog(page, id);
    const marked = await page.locator("#dialog-form .input-error").evaluateAll((els) => els.map((e) => e.id || e.outerHTML));
    assert.deepEqual(marked, [], `${id}: no field marked invalid`);
    if (id === OLD.subscribe) {
      // Its PBX, through the pencil: the config node's dialog, Done too.
      await openConfigDialog(page);
      const cfgMarked = await page.locator("#node-config-dialog-edit-form .input-error").evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(cfgMarked, [], "config node: no field marked invalid");
      await page.locator("#node-config-dialog-ok").click();
      await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
    }
    await closeNodeDialog(page, "ok");
    return deployedForm(id);
  }

  /** The node as the editor would deploy it now. */
  function deployedForm(id: string): Promise<Record<string, unknown>> {
    return page.evaluate((nid) => {
      const { RED } = window as unknown as Win;
      return RED.nodes.convertNode(RED.nodes.node(nid)!, false);
    }, id);
  }

  it("opens each node's dialog with no field marked, and Done keeps every saved value", async () => {
    for (const id of [OLD.answer, OLD.dial, OLD.hangup, OLD.record, OLD.subscribe]) {
      const before = saved.find((n) => n.id === id)!;
      const after = await doneWithoutChange(id);
      for (const [key, value] of Object.entries(before)) {
        assert.deepEqual(after[key], value, `${before.type}.${key} kept`);
      }
    }
    const cfg = saved.find((n) => n.id === OLD.config)!;
    const cfgAfter = await deployedForm(OLD.config);
    for (const [key, value] of Object.entries(cfg)) assert.deepEqual(cfgAfter[key], value, `noojee-config.${key} kept`);
    const invalid = await page.evaluate(() => {
      const bad: string[] = [];
      (window as unknown as Win).RED.nodes.eachNode((n) => void (n.valid === true || bad.push(n.id)));
      (window as unknown as Win).RED.nodes.eachConfig((n) => void (n.valid === true || bad.push(n.id)));
      return bad;
    });
    assert.deepEqual(invalid, [], "still no invalid node after the dialogs");
  });
});
