/**
 * A node whose PBX configuration cannot work gets the editor's warning triangle, as core nodes do with a broken
 * config node (see support/session.ts for the browser set-up). Node-RED judges a config property by the config node's
 * own properties only and never looks at credentials outside the dialog, so a PBX without an API key used to leave
 * its nodes unmarked until the deployed node said *not configured*.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { msg } from "./support/catalogue";
import { closeNodeDialog, invalidNodes, openConfigDialog, openNodeDialog, setField } from "./support/editor-page";
import { ANS, API_KEY, CFG, CREDENTIALS, demoFlow, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";
import type { FlowNode } from "../harness/node-red-process";

type Win = { RED: { nodes: { node(id: string): { credentials?: object; validationErrors?: string[] } | null } } };

/** Waits until the editor knows whether the config node has a key (what noojee-config.html reads on load). */
async function keyStateKnown(page: Page, id = CFG): Promise<void> {
  await page.waitForFunction((cfg) => (window as unknown as Win).RED.nodes.node(cfg)?.credentials !== undefined, id);
}

/**
 * The demo flow with a config node of its own id: a full deploy without credentials keeps those Node-RED stored for
 * a config node it already knows, so CFG may have a key from another test.
 */
const KEYLESS = "b0000000000000c9";
function keylessFlow(host: string): FlowNode[] {
  return demoFlow(host).map((n) => (n.id === CFG ? { ...n, id: KEYLESS } : n.server === CFG ? { ...n, server: KEYLESS } : n));
}

describe("editor in a real browser: a PBX without an API key marks the nodes using it", function () {
  this.timeout(90_000);
  const editor = useEditorSession();

  it("marks subscribe and answer when their PBX has no key, says why, and clears the mark once a key is entered", async () => {
    await editor.deploy(keylessFlow(editor.pbx.url), {});
    const page = await editor.openEditor(SUB);
    await keyStateKnown(page, KEYLESS);
    await page.waitForFunction(
      (ids) => ids.every((id) => document.querySelector(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] > g.red-ui-flow-node-error:not(.hide)`)),
      [SUB, ANS],
    ).catch(async () => assert.fail(`subscribe and answer marked; marked: ${JSON.stringify(await invalidNodes(page))}`));
    const errors = await page.evaluate((id) => (window as unknown as Win).RED.nodes.node(id)?.validationErrors, SUB);
    assert.deepEqual(errors, [msg("noojee-config", "pbx.noKey", { name: "Office PBX" })]);

    // The user follows the hint: the pencil, the key, Done, Done.
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    await page.locator("#node-config-input-apiKey").waitFor();
    await setField(page, "#node-config-input-apiKey", API_KEY);
    await page.locator("#node-config-dialog-ok").click();
    await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
    await closeNodeDialog(page, "ok");
    await page.waitForFunction(() => document.querySelectorAll("#red-ui-workspace-chart g.red-ui-flow-node-error:not(.hide)").length === 0)
      .catch(async () => assert.fail(`no node marked once the key is in; marked: ${JSON.stringify(await invalidNodes(page))}`));
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("leaves the nodes unmarked when the PBX has its key, and marks them when its host is invalid", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await keyStateKnown(page);
    assert.deepEqual(await invalidNodes(page), [], "a PBX with a key: nothing marked");

    await editor.deploy(demoFlow("pbx example.com"), CREDENTIALS);
    const broken = await editor.openEditor(SUB);
    await keyStateKnown(broken);
    assert.deepEqual((await invalidNodes(broken)).sort(), [ANS, SUB].sort(), "a PBX with a bad host marks its users");
    const errors = await broken.evaluate((id) => (window as unknown as Win).RED.nodes.node(id)?.validationErrors, SUB);
    assert.deepEqual(errors, [msg("noojee-config", "pbx.invalid", { name: "Office PBX" })]);
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
