/**
 * The config dialog in groups (see support/session.ts for the browser set-up): Connection, After a restart, Replicas,
 * Who is calling, each under a heading that folds it; at 1440x900 every field is in view without scrolling, the long
 * explanations being in the help rather than in tip boxes.
 */
import assert from "node:assert/strict";
import { msg } from "./support/catalogue";
import { openConfigDialog, openNodeDialog } from "./support/editor-page";
import { CREDENTIALS, demoFlow, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

const C = "noojee-config";
const GROUPS: Record<string, string[]> = {
  connection: ["host", "verifyTls", "authMode", "apiKey"],
  restart: ["resumeAfterRestart", "resumeMaxAge", "resumeStore"],
  // Its Redis fields show only with the box ticked: config-replicas.test.ts.
  replicas: ["replicas"],
  callers: ["country", "phonebookContext", "phonebookFile"],
};

describe("editor in a real browser: config dialog groups", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("puts each field in its group, shows them all at 1440x900, and folds a group from its heading", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await page.setViewportSize({ width: 1440, height: 900 });
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    await page.locator("#node-config-input-apiKey").waitFor();

    for (const [group, fields] of Object.entries(GROUPS)) {
      const section = page.locator(`#noojee-config-section-${group}`);
      assert.equal((await section.locator(".noojee-config-section-title > span").first().innerText()).trim(), msg(C, `section.${group}`), group);
      for (const field of fields) assert.equal(await section.locator(`#node-config-input-${field}`).count(), 1, `${field} in ${group}`);
    }
    assert.equal(await page.locator("#noojee-config-test-button").locator("xpath=ancestor::*[@id='noojee-config-section-connection']").count(), 1, "Test connection with the connection");
    assert.equal(await page.locator("#node-config-dialog-edit-form .form-tips").count(), 1, "one tip: where the help is");

    // Everything in view in the tray at 1440x900, the last field included, without scrolling.
    const tray = await page.locator(".red-ui-tray-body-wrapper").last().boundingBox();
    assert.ok(tray);
    for (const field of ["name", ...Object.values(GROUPS).flat()]) {
      const input = page.locator(`#node-config-input-${field}`);
      // A checkbox or a typedInput's hidden original: its row stands for it.
      const row = await input.locator("xpath=ancestor::div[contains(@class,'form-row')][1]").boundingBox();
      assert.ok(row, `${field} has a row on screen`);
      assert.ok(row.y >= tray.y && row.y + row.height <= tray.y + tray.height, `${field} in view: row ${JSON.stringify(row)}, tray ${JSON.stringify(tray)}`);
    }

    // A heading folds its group and unfolds it.
    const title = page.locator("#noojee-config-section-callers .noojee-config-section-title");
    await title.click();
    assert.equal(await page.locator("#node-config-input-country").isVisible(), false, "folded");
    assert.equal(await page.locator("#node-config-input-host").isVisible(), true, "the other groups stay");
    await title.click();
    assert.equal(await page.locator("#node-config-input-country").isVisible(), true, "unfolded");
    await page.locator("#node-config-dialog-cancel").click();
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
