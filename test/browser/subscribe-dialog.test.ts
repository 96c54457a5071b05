/**
 * The subscribe node's edit dialog in a real browser (see support/session.ts): its fields and labels, the validation
 * messages of its extensions and timeout, and what Done does to the node on the workspace.
 */
import assert from "node:assert/strict";
import { msg } from "./support/catalogue";
import { clearTooltips, expectFields, expectInvalid, expectTranslated, expectValid, openNodeDialog, setField } from "./support/editor-page";
import { CFG, CREDENTIALS, demoFlow, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: subscribe dialog", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("subscribe dialog: shows every field; marks bad extensions and timeouts and explains them from the catalogue", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    const S = "noojee-subscribe";
    await expectFields(page, [
      ["node-input-server", msg(S, "label.server")],
      ["node-input-extensions", msg(S, "label.extensions")],
      ["node-input-timeout", msg(S, "label.timeout")],
      ["node-input-outputMode", msg(S, "label.outputMode")],
      ["node-input-persistChanges", msg(S, "label.persistChanges")],
      ["node-input-name", msg(S, "label.name")],
    ]);
    await expectTranslated(page, S);
    assert.equal(await page.locator("#node-input-server").inputValue(), CFG, "the PBX field selects the config node");
    assert.equal((await page.locator("#node-input-server option:checked").innerText()).trim(), "Office PBX");
    assert.equal(await page.locator("#node-input-extensions").inputValue(), "410");
    assert.equal(await page.locator("#node-input-timeout").inputValue(), "30");
    assert.equal(await page.locator("#node-input-persistChanges").getAttribute("type"), "checkbox");
    const modes = ["events", "byKind", "summaries", "both"];
    assert.deepEqual(
      await page.locator("#node-input-outputMode option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent])),
      modes.map((m) => [m, msg(S, `outputMode.${m}`)]),
    );
    assert.equal(await page.locator("#node-input-outputMode").inputValue(), "events");

    await expectInvalid(page, "#node-input-extensions", "4a0,,", msg(S, "error.invalidExtensions", {
      reason: msg(S, "validation.badItem", { item: "4a0" }),
    }));
    await expectInvalid(page, "#node-input-extensions", "400,,410", msg(S, "error.invalidExtensions", {
      reason: msg(S, "validation.emptyItem"),
    }));
    await expectValid(page, "#node-input-extensions", "400, 410");
    const timeoutMessage = msg(S, "validation.timeout", { min: 1, max: 120 });
    await expectInvalid(page, "#node-input-timeout", "0", timeoutMessage);
    await expectInvalid(page, "#node-input-timeout", "500", timeoutMessage);
    await expectValid(page, "#node-input-timeout", "30");

    await setField(page, "#node-input-name", "Reception");
    await clearTooltips(page);
    await editor.screenshot(page, "subscribe-dialog");

    // Closing the dialog with a bad value marks the node on the workspace (the red triangle); "one output per kind"
    // gives the node five outputs.
    const group = page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${SUB}"]`);
    assert.equal(await group.locator("g.red-ui-flow-node-error:not(.hide)").count(), 0, "valid before the edit");
    await page.locator("#node-input-outputMode").selectOption("byKind");
    await setField(page, "#node-input-extensions", "4a0");
    await page.locator("#node-dialog-ok").click();
    await group.locator("g.red-ui-flow-node-error:not(.hide)").waitFor();
    assert.equal(await group.locator("g.red-ui-flow-port-output").count(), 5, "five outputs in byKind mode");
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("subscribe dialog: the tip says what the chosen Send mode sends", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    const S = "noojee-subscribe";
    const tip = page.locator("#dialog-form .form-tips");
    const says = async (mode: string): Promise<void> => {
      const text = (await tip.innerText()).trim();
      assert.ok(text.startsWith(msg(S, `modeTip.${mode}`)), `${mode}: ${text}`);
    };
    await says("events");
    for (const mode of ["summaries", "both", "byKind", "events"]) {
      await page.locator("#node-input-outputMode").selectOption(mode);
      await says(mode);
    }
    // The other modes' texts are not there too.
    await page.locator("#node-input-outputMode").selectOption("summaries");
    assert.ok(!(await tip.innerText()).includes(msg(S, "modeTip.events")), "no events text in summary mode");
    await page.locator("#node-dialog-cancel").click();
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
