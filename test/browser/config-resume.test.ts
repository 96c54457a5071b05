/**
 * The config dialog's "Resume after a restart" in a real browser (see support/session.ts): a config node saved before
 * the option existed shows it ticked with 60 minutes, the minutes hide with the box unticked, a bad value is marked,
 * and Done saves what is shown; "Keep it in" lists the user directory and the context stores of settings.js, and marks
 * a store that settings.js no longer configures.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { msg } from "./support/catalogue";
import { closeNodeDialog, hasClass, openConfigDialog, openNodeDialog, optionsOf, setField } from "./support/editor-page";
import { TAB } from "./support/flows";
import { useEditorSession } from "./support/session";

const CFG = "c0000000000000c1";
const SUB = "c0000000000000s1";

describe("editor in a real browser: Resume after a restart on the config dialog", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  /** Deploys a config node with these properties (and a subscribe node on it), and opens its dialog from there. */
  async function openConfig(config: Record<string, unknown>): Promise<Page> {
    await editor.deploy([
      { id: TAB, type: "tab", label: "Calls", disabled: false, info: "" },
      { id: CFG, type: "noojee-config", name: "Office PBX", host: "http://127.0.0.1:9", verifyTls: true, authMode: "apiKey", ...config },
      { id: SUB, type: "noojee-subscribe", z: TAB, name: "", server: CFG, extensions: "400", timeout: 30, x: 200, y: 100, wires: [[]] },
    ], { [CFG]: { apiKey: "resume-browser-key" } });
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    return page;
  }

  /** These properties of the config node as the editor holds it (after Done). */
  function savedConfig(page: Page, props: string[]): Promise<unknown[]> {
    return page.evaluate(([id, names]) => {
      const node = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> | null } } }).RED.nodes.node(id);
      return names.map((name) => node?.[name]);
    }, [CFG, props] as const);
  }

  it("shows it on for a config node saved before it existed, and Done saves what the dialog shows", async () => {
    // A config node as flows saved by earlier releases have it: no resumeAfterRestart, no resumeMaxAge.
    const page = await openConfig({});

    const box = page.locator("#node-config-input-resumeAfterRestart");
    const minutes = page.locator("#node-config-input-resumeMaxAge");
    assert.equal((await page.locator('label[for="node-config-input-resumeAfterRestart"]').innerText()).trim(),
      msg("noojee-config", "label.resumeAfterRestart"));
    assert.equal(await box.isChecked(), true, "on for a flow saved without the property");
    assert.equal(await minutes.inputValue(), "60");
    await setField(page, "#node-config-input-resumeMaxAge", "0");
    assert.equal(await hasClass(minutes, "input-error"), true, "0 minutes is refused");
    await setField(page, "#node-config-input-resumeMaxAge", "15");
    assert.equal(await hasClass(minutes, "input-error"), false);
    await box.uncheck();
    assert.equal(await minutes.isVisible(), false, "the minutes hide with the box unticked");

    await page.locator("#node-config-dialog-ok").click();
    await closeNodeDialog(page, "ok");
    assert.deepEqual(await savedConfig(page, ["resumeAfterRestart", "resumeMaxAge"]), [false, "15"]);
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("Keep it in: the user directory or a context store of settings.js; a store no longer configured is kept and marked", async () => {
    const page = await openConfig({ resumeStore: "gone" });
    const select = page.locator("#node-config-input-resumeStore");
    const stores = await page.evaluate(() => (window as unknown as { RED: { settings: { context: { stores: string[] } } } }).RED.settings.context.stores);
    assert.ok(stores.includes("disk"), `the session's settings.js stores: ${stores.join(", ")}`);
    assert.deepEqual(await optionsOf(page, "#node-config-input-resumeStore"), [
      ["", msg("noojee-config", "resumeStore.userDir")],
      ...stores.map((store): [string, string] => [store, msg("noojee-config", "resumeStore.context", { store })]),
      ["gone", msg("noojee-config", "resumeStore.missing", { store: "gone" })],
    ]);
    assert.equal(await select.inputValue(), "gone", "shown as saved, not silently changed");
    assert.equal(await hasClass(select, "input-error"), true, "a store settings.js does not configure is marked");
    await select.selectOption("disk");
    assert.equal(await hasClass(select, "input-error"), false);
    await page.locator("#node-config-input-resumeAfterRestart").uncheck();
    assert.equal(await select.isVisible(), false, "hidden with resuming off");
    await page.locator("#node-config-input-resumeAfterRestart").check();

    await page.locator("#node-config-dialog-ok").click();
    await closeNodeDialog(page, "ok");
    assert.deepEqual(await savedConfig(page, ["resumeStore"]), ["disk"]);
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
