/**
 * The presence node's edit dialog in a real browser (see support/session.ts): its fields and labels, the context
 * rows shown only with a context, the store dropdown from the editor's settings, the validation messages, and what
 * Done saves.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { type FlowNode, REPO_ROOT } from "../harness/node-red-process";
import { msg } from "./support/catalogue";
import { closeNodeDialog, expectFields, expectInvalid, expectTranslated, expectValid, invalidNodes, openNodeDialog, optionsOf, setField } from "./support/editor-page";
import { API_KEY, CFG, CREDENTIALS, nodeId, oneOfEach } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: presence dialog", function () {
  this.timeout(60_000);
  const editor = useEditorSession();
  const P = "noojee-presence";

  it("shows every field, the context rows only with a context, the configured stores; marks bad values and saves good ones", async () => {
    const flow = oneOfEach(editor.pbx.url, [P]).map((n) => (n.type === P ? { ...n, extensions: "410" } : n));
    await editor.deploy(flow, CREDENTIALS);
    const page = await editor.openEditor(nodeId(0));
    await openNodeDialog(page, nodeId(0));
    await expectFields(page, [
      ["node-input-server", msg(P, "label.server")],
      ["node-input-extensions", msg(P, "label.extensions")],
      ["node-input-queryOutput", msg(P, "label.queryOutput")],
      ["node-input-contextScope", msg(P, "label.context")],
      ["node-input-name", msg(P, "label.name")],
    ]);
    await expectTranslated(page, P);
    assert.equal(await page.locator("#node-input-server").inputValue(), CFG);
    assert.deepEqual(await optionsOf(page, "#node-input-queryOutput"), [["each", msg(P, "queryOutput.each")], ["all", msg(P, "queryOutput.all")]]);
    assert.equal(await page.locator("#node-input-contextKey").isVisible(), false, "no context: no variable row");

    await page.locator("#node-input-contextScope").selectOption("global");
    await expectFields(page, [
      ["node-input-contextKey", msg(P, "label.contextKey")],
      ["node-input-contextStore", msg(P, "label.contextStore")],
    ]);
    const stores = await page.evaluate(() => (window as unknown as { RED: { settings: { context?: { stores?: string[] } } } }).RED.settings.context?.stores ?? []);
    assert.deepEqual(await optionsOf(page, "#node-input-contextStore"), [["", msg(P, "defaultStore")], ...stores.map((s): [string, string] => [s, s])]);

    await expectInvalid(page, "#node-input-extensions", "4a0", msg(P, "error.invalidExtensions", { reason: msg(P, "validation.badItem", { item: "4a0" }) }));
    await expectValid(page, "#node-input-extensions", "400, 410");
    await expectInvalid(page, "#node-input-contextKey", "1a..b", msg(P, "validation.contextKey"));
    await expectValid(page, "#node-input-contextKey", "office.presence");
    await page.locator("#node-input-queryOutput").selectOption("all");
    await setField(page, "#node-input-name", "Busy lights");
    await closeNodeDialog(page, "ok");
    assert.deepEqual(await invalidNodes(page), []);
    const saved = await page.evaluate((id) => {
      const n = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> } } }).RED.nodes.node(id);
      return { extensions: n.extensions, queryOutput: n.queryOutput, contextScope: n.contextScope, contextKey: n.contextKey, contextStore: n.contextStore, name: n.name };
    }, nodeId(0));
    assert.deepEqual(saved, { extensions: "400, 410", queryOutput: "all", contextScope: "global", contextKey: "office.presence", contextStore: "", name: "Busy lights" });
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("busy-light example: the presence node and the light show 410 on a call", async () => {
    const example = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "examples", "busy-light.json"), "utf8")) as FlowNode[];
    const cfg = example.find((n) => n.type === "noojee-config")!;
    const presence = example.find((n) => n.type === P)!;
    const light = example.find((n) => n.type === "debug")!;
    await editor.deploy(example.map((n) => (n === cfg ? { ...n, host: editor.pbx.url } : n)), { [cfg.id]: { apiKey: API_KEY } });
    editor.pbx.startCall("410", { status: "Connected", canAnswer: false, callerId: "0355501234" });
    const page = await editor.openEditor(presence.id);
    const label = (id: string) => page.locator(`#red-ui-workspace-chart g[id="${id}"] .red-ui-flow-node-status-label`);
    const busy = msg(P, "status.one", { extension: "410", state: msg(P, "state.onCall") });
    await page.waitForFunction(([sel, text]) => document.querySelector(sel)?.textContent?.trim() === text,
      [`#red-ui-workspace-chart g[id="${presence.id}"] .red-ui-flow-node-status-label`, busy] as const);
    assert.equal((await label(presence.id).textContent())?.trim(), busy);
    await label(light.id).waitFor();
    await editor.screenshot(page, "busy-light");
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
