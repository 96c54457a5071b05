/**
 * The dial, hangup and record edit dialogs in a real browser (see support/session.ts): every field labelled from the
 * catalogue, the rows each choice shows or hides, and the validation messages of their fields (the rules shared
 * through resources/noojee-editor.js).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { msg, presetOptions } from "./support/catalogue";
import { closeNodeDialog, expectInvalid, expectTranslated, expectValid, openNodeDialog, optionsOf } from "./support/editor-page";
import { CFG, CREDENTIALS, nodeId, oneOfEach, PALETTE_TYPES } from "./support/flows";
import { useEditorSession } from "./support/session";

const D = "noojee-dial";
const H = "noojee-hangup";
const R = "noojee-record";

describe("editor in a real browser: dial, hangup and record dialogs", function () {
  this.timeout(60_000);
  const editor = useEditorSession();
  // presence has a dialog test of its own (presence-dialog.test.ts).
  const others = PALETTE_TYPES.filter((t) => t !== "noojee-subscribe" && t !== "noojee-answer" && t !== "noojee-presence");

  /** Deploys one node of each of the three types and opens the editor on them. */
  async function openOthers(): Promise<Page> {
    const flow = oneOfEach(editor.pbx.url, others);
    await editor.deploy(flow, CREDENTIALS);
    return editor.openEditor(flow[flow.length - 1].id);
  }

  it("opens the dial, hangup and record dialogs with every field labelled from the catalogue", async () => {
    const page = await openOthers();
    for (const [i, type] of others.entries()) {
      await openNodeDialog(page, nodeId(i));
      await expectTranslated(page, type);
      const labelled = await page.locator("#dialog-form label[for]").evaluateAll((els) => els.map((e) => e.getAttribute("for")));
      for (const id of labelled) {
        assert.equal(await page.locator(`#${id}`).count(), 1, `${type}: the field of label[for=${id}] exists`);
      }
      assert.equal(await page.locator("#node-input-server").inputValue(), CFG, `${type}: the PBX field selects the config node`);
      await closeNodeDialog(page, "cancel");
    }
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("dial dialog: marks a bad extension, technology, number, caller id and custom header, and explains each", async () => {
    assert.deepEqual(others, [D, H, R]);
    const page = await openOthers();
    await openNodeDialog(page, nodeId(0));
    await expectInvalid(page, "#node-input-extension", "10a", msg(D, "validation.extension"));
    await expectValid(page, "#node-input-extension", "SIP/100");
    // Technology: a list of the common ones; "other…" shows the text field for any other.
    await page.locator("#node-input-tech-preset").selectOption("");
    await expectInvalid(page, "#node-input-tech", "1SIP", msg(D, "validation.tech"));
    await expectValid(page, "#node-input-tech", "MGCP");
    await expectInvalid(page, "#node-input-number", "call me", msg(D, "validation.number"));
    await expectValid(page, "#node-input-number", "+61 2 9999 0000");
    await expectInvalid(page, "#node-input-callerId", "x".repeat(81), msg(D, "validation.callerId", { max: 80 }));
    await expectValid(page, "#node-input-callerId", "Sales <0299990000>");

    // The same presets as answer, labelled from dial's catalogue; no header stored: "None".
    const preset = page.locator("#node-input-autoAnswer-preset");
    assert.deepEqual(await optionsOf(page, "#node-input-autoAnswer-preset"), presetOptions(D));
    assert.equal(await preset.inputValue(), "none");
    await preset.selectOption("custom");
    await page.locator("#node-input-autoAnswer").waitFor({ state: "visible" });
    await expectInvalid(page, "#node-input-autoAnswer", "X-Answer: " + "a".repeat(200), msg(D, "validation.autoAnswerLength", { max: 200 }));
    await expectValid(page, "#node-input-autoAnswer", "X-Auto-Answer: yes");
    await closeNodeDialog(page, "cancel");
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("hangup and record dialogs: show the extension only when chosen by extension, and mark bad values", async () => {
    const page = await openOthers();
    const extensionRow = page.locator(".node-input-extension-row");

    await openNodeDialog(page, nodeId(1));
    assert.equal(await page.locator("#node-input-by").inputValue(), "call");
    assert.equal(await extensionRow.isVisible(), false, "hangup by call: no extension field");
    await page.locator("#node-input-by").selectOption("extension");
    await extensionRow.waitFor({ state: "visible" });
    await expectInvalid(page, "#node-input-extension", "4 10", msg(H, "validation.extension"));
    await expectValid(page, "#node-input-extension", "SIP/410");
    await closeNodeDialog(page, "cancel");

    await openNodeDialog(page, nodeId(2));
    assert.equal(await page.locator("#node-input-action").inputValue(), "start");
    assert.equal(await extensionRow.isVisible(), false, "record by call: no extension field");
    await expectInvalid(page, "#node-input-tag", "x".repeat(101), msg(R, "validation.tag", { max: 100 }));
    await expectValid(page, "#node-input-tag", "Sales & support");
    await expectInvalid(page, "#node-input-agentLoginName", "x".repeat(65), msg(R, "validation.agentLoginName", { max: 64 }));
    await expectValid(page, "#node-input-agentLoginName", "jo.bloggs");
    await page.locator("#node-input-action").selectOption("stop");
    await page.locator(".node-input-tag-row").waitFor({ state: "hidden" });
    await page.locator("#node-input-by").selectOption("extension");
    await extensionRow.waitFor({ state: "visible" });
    await expectInvalid(page, "#node-input-extension", "x", msg(R, "validation.extension"));
    await expectValid(page, "#node-input-extension", "410");
    await closeNodeDialog(page, "cancel");
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
