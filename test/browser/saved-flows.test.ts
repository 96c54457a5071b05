/**
 * What the edit dialogs save, in a real browser (see support/session.ts): every form takes good values without a
 * mark, Done and Deploy store them in the flow, and a fresh editor reopens each dialog showing them; nodes saved
 * before an option existed open with its default and stay valid.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { FlowNode } from "../harness/node-red-process";
import { closeNodeDialog, invalidNodes, openConfigDialog, openNodeDialog, setField } from "./support/editor-page";
import { CFG, CREDENTIALS, demoFlow, nodeId, oneOfEach, PALETTE_TYPES, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

/** A field's new value: text for inputs, an option's value for selects, checked or not for checkboxes. */
type Edit = [field: string, value: string | boolean];

/**
 * Per type, the edits made in its dialog (in order: a choice first, then the field it shows) and the properties they
 * store. Preset selects (<field>-preset) are no properties: the header they choose is.
 */
const FORMS: Record<string, { edits: Edit[]; saved: Record<string, string | boolean> }> = {
  "noojee-subscribe": {
    edits: [["extensions", "400, 410"], ["timeout", "45"], ["outputMode", "both"], ["persistChanges", true], ["name", "Reception"]],
    saved: { extensions: "400, 410", timeout: "45", outputMode: "both", outputs: "2", persistChanges: true, name: "Reception" },
  },
  "noojee-presence": {
    edits: [["extensions", "400, 410"], ["queryOutput", "all"], ["contextScope", "global"], ["contextKey", "office.presence"], ["name", "Busy lights"]],
    saved: { extensions: "400, 410", queryOutput: "all", contextScope: "global", contextKey: "office.presence", name: "Busy lights" },
  },
  "noojee-answer": {
    edits: [["extension", "SIP/101"], ["answerString-preset", "grandstream"], ["name", "Front desk"]],
    saved: { extension: "SIP/101", answerString: "Call-Info:\\; answer-after=0", name: "Front desk" },
  },
  "noojee-dial": {
    edits: [
      ["extension", "101"], ["tech-preset", "PJSIP"], ["number", "+61 2 9999 0000"], ["autoAnswer-preset", "custom"],
      ["autoAnswer", "X-Auto-Answer: yes"], ["callerId", "Sales"], ["phoneCaption", "Jo & Co"], ["tag", "a&b c"],
      ["monitored", false], ["record", true], ["name", "Call back"],
    ],
    saved: {
      extension: "101", tech: "PJSIP", number: "+61 2 9999 0000", autoAnswer: "X-Auto-Answer: yes", callerId: "Sales",
      phoneCaption: "Jo & Co", tag: "a&b c", monitored: false, record: true, name: "Call back",
    },
  },
  "noojee-hangup": {
    edits: [["by", "extension"], ["extension", "SIP/410"], ["name", "Hang up 410"]],
    saved: { by: "extension", extension: "SIP/410", name: "Hang up 410" },
  },
  "noojee-record": {
    edits: [["action", "stop"], ["by", "extension"], ["extension", "410"], ["agentLoginName", "jo.bloggs"], ["name", "Stop recording"]],
    saved: { action: "stop", by: "extension", extension: "410", agentLoginName: "jo.bloggs", name: "Stop recording" },
  },
  // Edited through the first node's PBX pencil; the host stays the fake PBX's.
  "noojee-config": {
    edits: [["verifyTls", false], ["authMode", "timestamp"], ["name", "Edited PBX"]],
    saved: { verifyTls: false, authMode: "timestamp", name: "Edited PBX" },
  },
};

async function edit(page: Page, prefix: string, [field, value]: Edit): Promise<void> {
  const selector = `#${prefix}-${field}`;
  if (typeof value === "boolean") await page.locator(selector).setChecked(value);
  else if (await page.locator(selector).evaluate((el) => el.tagName === "SELECT")) await page.locator(selector).selectOption(value);
  else await setField(page, selector, value);
}

/** The dialog shows every edited value (a preset select shows the preset, the header it chose is hidden). */
async function expectShown(page: Page, type: string, prefix: string): Promise<void> {
  for (const [field, value] of FORMS[type].edits) {
    const input = page.locator(`#${prefix}-${field}`);
    if (typeof value === "boolean") assert.equal(await input.isChecked(), value, `${type} ${field}`);
    else assert.equal(await input.inputValue(), value, `${type} ${field}`);
  }
}

describe("editor in a real browser: saved flows", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("every form takes good values, saves them on Done and Deploy, and shows them when reopened", async function () {
    this.timeout(180_000);
    const types = PALETTE_TYPES;
    // The subscribe and presence nodes come with a list of extensions, so the deployed flow is valid before the edits too.
    const flow = oneOfEach(editor.pbx.url, types).map((n) => (n.type === "noojee-subscribe" || n.type === "noojee-presence" ? { ...n, extensions: "410" } : n));
    await editor.deploy(flow, CREDENTIALS);
    let page = await editor.openEditor(nodeId(types.length - 1));

    for (const [i, type] of types.entries()) {
      await openNodeDialog(page, nodeId(i));
      if (i === 0) {
        await openConfigDialog(page);
        for (const e of FORMS["noojee-config"].edits) await edit(page, "node-config-input", e);
        await page.locator("#node-config-dialog-ok").click();
        await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
      }
      for (const e of FORMS[type].edits) await edit(page, "node-input", e);
      const marked = await page.locator("#dialog-form .input-error").evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(marked, [], `${type}: no field marked`);
      await closeNodeDialog(page, "ok");
    }
    assert.deepEqual(await invalidNodes(page), [], "no node is marked invalid after Done");
    // The editor's flows are dirty until a deployment succeeds (its button is disabled while one runs, too).
    const dirty = (): Promise<boolean> => page.evaluate(() => (window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty());
    assert.equal(await dirty(), true, "the edits wait to be deployed");
    await page.locator("#red-ui-header-button-deploy").click();
    await page.waitForFunction(() => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty());
    assert.deepEqual(editor.pageErrors(page), []);

    const { flows } = await editor.nr.getFlows();
    const byId = new Map(flows.map((n) => [n.id, n]));
    const stored = (n: FlowNode | undefined, prop: string): unknown => (typeof n?.[prop] === "boolean" ? n[prop] : String(n?.[prop]));
    for (const [i, type] of [...types.entries(), [-1, "noojee-config"] as const]) {
      const node = byId.get(i === -1 ? CFG : nodeId(i));
      for (const [prop, value] of Object.entries(FORMS[type].saved)) assert.deepEqual(stored(node, prop), value, `deployed ${type} ${prop}`);
    }

    // A fresh editor, as after a browser restart: each dialog shows what was saved.
    page = await editor.openEditor(nodeId(types.length - 1));
    for (const [i, type] of types.entries()) {
      await openNodeDialog(page, nodeId(i));
      await expectShown(page, type, "node-input");
      if (i === 0) {
        await openConfigDialog(page);
        await expectShown(page, "noojee-config", "node-config-input");
        await page.locator("#node-config-dialog-cancel").click();
        await page.locator("#node-config-dialog-cancel").waitFor({ state: "detached" });
      }
      await closeNodeDialog(page, "cancel");
    }
    assert.deepEqual(await invalidNodes(page), []);
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("opens nodes saved before the Send and Sign-in options existed with their defaults, and keeps them valid", async () => {
    // A flow as version 0.1.0 saved it: no outputMode/persistChanges/outputs on subscribe, no authMode on the config.
    const old = demoFlow(editor.pbx.url).map((n) => {
      const copy: FlowNode = { ...n };
      for (const added of ["outputMode", "persistChanges", "outputs", "authMode"]) delete copy[added];
      return copy;
    });
    await editor.deploy(old, CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    assert.equal(await page.locator("#node-input-outputMode").inputValue(), "events", "Send shows its default");
    await openConfigDialog(page);
    assert.equal(await page.locator("#node-config-input-authMode").inputValue(), "apiKey", "Sign-in shows its default");
    await page.locator("#node-config-dialog-ok").click();
    await closeNodeDialog(page, "ok");
    assert.deepEqual(await invalidNodes(page), [], "no node is marked invalid after Done");
    const saved = await page.evaluate(
      ([sub, cfg]) => {
        const RED = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> | null } } }).RED;
        return [RED.nodes.node(sub)?.outputMode, RED.nodes.node(cfg)?.authMode];
      },
      [SUB, CFG],
    );
    assert.deepEqual(saved, ["events", "apiKey"], "Done saves the defaults");
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
