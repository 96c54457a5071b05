/**
 * Nodes saved without their optional properties (a flow written by hand, or by a version before a property existed)
 * open with the runtime's defaults in every field, nothing marked, and deploy without the "improperly configured"
 * confirmation (see support/session.ts for the browser set-up). The values are nodes/property-defaults.ts's, which
 * test/unit/property-defaults.test.ts compares with the editor files.
 */
import assert from "node:assert/strict";
import { closeNodeDialog, invalidNodes, openConfigDialog, openNodeDialog } from "./support/editor-page";
import { CFG, CREDENTIALS, nodeId, TAB } from "./support/flows";
import { useEditorSession } from "./support/session";
import type { FlowNode } from "../harness/node-red-process";

/** Each node type with only what a node cannot do without, and the fields its dialog must then show. */
const BARE: Array<{ type: string; props: Record<string, unknown>; shown: Record<string, string | boolean> }> = [
  { type: "noojee-subscribe", props: { extensions: "410" }, shown: { timeout: "30", outputMode: "events", persistChanges: false } },
  { type: "noojee-presence", props: { extensions: "410" }, shown: { queryOutput: "each", contextScope: "", contextKey: "noojee.presence" } },
  { type: "noojee-answer", props: {}, shown: { extension: "" } },
  { type: "noojee-dial", props: {}, shown: { tech: "SIP", monitored: true, record: false } },
  { type: "noojee-hangup", props: {}, shown: { by: "call" } },
  { type: "noojee-record", props: {}, shown: { action: "start", by: "call" } },
  // Present but empty, which the runtime reads as its default too (outside review: the editor marked them red).
  { type: "noojee-subscribe", props: { extensions: "410", timeout: "" }, shown: { timeout: "30" } },
  { type: "noojee-dial", props: { tech: "" }, shown: { tech: "SIP", "tech-preset": "SIP" } },
];

describe("editor in a real browser: nodes saved without their optional properties", function () {
  this.timeout(120_000);
  const editor = useEditorSession();

  it("open with the runtime's defaults, nothing marked, and deploy without a confirmation", async () => {
    const flow: FlowNode[] = [
      { id: TAB, type: "tab", label: "Bare", disabled: false, info: "" },
      { id: CFG, type: "noojee-config", host: editor.pbx.url },
      ...BARE.map((b, i) => ({ id: nodeId(i), type: b.type, z: TAB, server: CFG, x: 160, y: 80 + 60 * i, wires: [[]], ...b.props })),
    ];
    await editor.deploy(flow, CREDENTIALS);
    const page = await editor.openEditor(nodeId(0));
    assert.deepEqual(await invalidNodes(page), [], "no node marked after the load");

    for (const [i, { type, shown }] of BARE.entries()) {
      await openNodeDialog(page, nodeId(i));
      for (const [prop, value] of Object.entries(shown)) {
        const field = page.locator(`#node-input-${prop}`);
        const actual = typeof value === "boolean" ? await field.isChecked() : await field.inputValue();
        assert.equal(actual, value, `${type}: ${prop}`);
      }
      const marked = await page.locator("#dialog-form .input-error").evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(marked, [], `${type}: no field marked`);
      if (i === 0) {
        // The config node saved with the host alone: TLS checked and sign-in by key, as the runtime does.
        await openConfigDialog(page);
        assert.equal(await page.locator("#node-config-input-verifyTls").isChecked(), true, "Verify TLS");
        assert.equal(await page.locator("#node-config-input-authMode").inputValue(), "apiKey");
        assert.equal(await page.locator("#node-config-input-resumeAfterRestart").isChecked(), true);
        assert.equal(await page.locator("#node-config-input-resumeMaxAge").inputValue(), "60");
        const configMarked = await page.locator("#node-config-dialog-edit-form .input-error").evaluateAll((els) => els.map((e) => e.id));
        assert.deepEqual(configMarked, [], "config: no field marked");
        await page.locator("#node-config-dialog-ok").click();
        await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
      }
      await closeNodeDialog(page, "ok");
    }
    assert.deepEqual(await invalidNodes(page), [], "no node marked after Done");

    // Deploy: straight through (a node the editor thinks invalid stops it with a confirmation instead).
    await page.locator("#red-ui-header-button-deploy").click();
    const outcome = await Promise.race([
      page.waitForFunction(() => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty()).then(() => "deployed"),
      page.locator(".red-ui-deploy-dialog-confirm-list").waitFor().then(() => "confirmation"),
    ]);
    assert.equal(outcome, "deployed");
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
