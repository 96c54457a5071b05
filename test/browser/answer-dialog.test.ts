/**
 * The answer node's edit dialog in a real browser (see support/session.ts): its fields and labels, the auto-answer
 * presets (from resources/noojee-editor.js) and the validation messages of its extension and custom header.
 */
import assert from "node:assert/strict";
import { msg, presetOptions } from "./support/catalogue";
import { clearTooltips, expectFields, expectInvalid, expectTranslated, expectValid, labelOf, openNodeDialog, setField } from "./support/editor-page";
import { ANS, CREDENTIALS, demoFlow } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: answer dialog", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("answer dialog: shows every field and the auto-answer presets; marks a bad extension", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(ANS);
    await openNodeDialog(page, ANS);
    const A = "noojee-answer";
    await expectFields(page, [
      ["node-input-server", msg(A, "label.server")],
      ["node-input-extension", msg(A, "label.extension")],
      ["node-input-answerString-preset", msg(A, "label.answerString")],
      ["node-input-name", msg(A, "label.name")],
    ]);
    await expectTranslated(page, A);

    // The presets, labelled from the catalogue; the stored header selects the Yealink preset and hides the text field.
    const preset = page.locator("#node-input-answerString-preset");
    const options = await preset.locator("option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent]));
    assert.deepEqual(options, presetOptions(A));
    assert.equal(await preset.inputValue(), "yealink");
    const custom = page.locator("#node-input-answerString");
    assert.equal(await custom.isVisible(), false, "the header field is hidden while a preset is chosen");

    await preset.selectOption("custom");
    await custom.waitFor({ state: "visible" });
    assert.equal(await labelOf(page, "node-input-answerString"), msg(A, "label.header"));
    await expectInvalid(page, "#node-input-answerString", "X-Answer: " + "a".repeat(200), msg(A, "validation.answerStringLength", { max: 200 }));
    await expectValid(page, "#node-input-answerString", "X-Auto-Answer: yes");
    await preset.selectOption("polycom");
    await custom.waitFor({ state: "hidden" });
    assert.equal(await custom.inputValue(), "Alert-Info: Ring Answer", "a preset fills the header");

    await expectInvalid(page, "#node-input-extension", "4a0", msg(A, "validation.extension"));
    await expectValid(page, "#node-input-extension", "SIP/101");
    await expectValid(page, "#node-input-extension", "");

    await preset.selectOption("yealink");
    await setField(page, "#node-input-extension", "410");
    await clearTooltips(page);
    await editor.screenshot(page, "answer-dialog");
    await page.locator("#node-dialog-cancel").click();
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
