/**
 * The config node's edit dialog in a real browser (see support/session.ts): its fields, labels and validation
 * messages, and the API key, which stays on the server: the browser only ever gets Node-RED's placeholder.
 */
import assert from "node:assert/strict";
import { msg } from "./support/catalogue";
import {
  clearTooltips,
  expectFields,
  expectInvalid,
  expectTranslated,
  expectValid,
  hasClass,
  openConfigDialog,
  openNodeDialog,
  recordTraffic,
  setField,
  workspaceNode,
} from "./support/editor-page";
import { API_KEY, CFG, CREDENTIALS, demoFlow, PASSWORD_PLACEHOLDER, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: config dialog", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("config dialog: shows every field; marks a host with a path or a space", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    const C = "noojee-config";
    await expectFields(page, [
      ["node-config-input-host", msg(C, "label.host")],
      ["node-config-input-authMode", msg(C, "label.authMode")],
      ["node-config-input-apiKey", msg(C, "label.apiKey")],
      ["node-config-input-name", msg(C, "label.name")],
    ]);
    await expectTranslated(page, C);
    assert.equal(await page.locator("#node-config-input-host").inputValue(), editor.pbx.url);
    assert.equal(await page.locator("#node-config-input-apiKey").getAttribute("type"), "password");
    assert.deepEqual(
      await page.locator("#node-config-input-authMode option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent])),
      ["apiKey", "timestamp"].map((m) => [m, msg(C, `authMode.${m}`)]),
    );
    assert.equal(await page.locator("#node-config-input-authMode").inputValue(), "apiKey");
    const verify = page.locator("#node-config-input-verifyTls");
    assert.equal(await verify.isVisible(), true);
    assert.equal(await verify.getAttribute("type"), "checkbox");
    assert.equal(await verify.isChecked(), true);
    assert.equal((await page.locator('label[for="node-config-input-verifyTls"]').innerText()).trim(), msg(C, "label.verifyTls"));

    const invalidHost = (reason: string): string =>
      msg(C, "validation.invalidHost", { reason: msg(C, `validation.reason.${reason}`) });
    await expectInvalid(page, "#node-config-input-host", "pbx.example.com/x", invalidHost("path"));
    await expectInvalid(page, "#node-config-input-host", "pbx example.com", invalidHost("space"));
    await expectValid(page, "#node-config-input-host", "pbx.example.com:8443");
    await expectValid(page, "#node-config-input-host", "https://pbx.example.com");
    await expectInvalid(page, "#node-config-input-apiKey", "abc def", msg(C, "validation.apiKey"));
    await expectValid(page, "#node-config-input-apiKey", "a-new-key");

    await setField(page, "#node-config-input-host", "pbx.example.com:8443");
    await setField(page, "#node-config-input-apiKey", "example-key-for-the-screenshot");
    await setField(page, "#node-config-input-name", "Office PBX");
    await clearTooltips(page);
    // The dialog from its top (host, key, Test connection), as the README's caption says, not scrolled to Name.
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      document.querySelector("#node-config-dialog-edit-form .form-row")?.scrollIntoView({ block: "start" });
    });
    await editor.screenshot(page, "config-dialog");
    await page.locator("#node-config-dialog-cancel").click();
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("keeps the API key in a password field and never sends it to the browser", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.newPage();
    const traffic = recordTraffic(page); // before the first request
    // The editor asks for the config node's credentials (has_apiKey, never the key) as it loads the flows, to mark
    // the nodes of a PBX without a key; its dialog then uses what came.
    const credentialsLoaded = page.waitForResponse((r) => r.url().includes(`/credentials/noojee-config/${CFG}`));
    await page.goto(editor.nr.url);
    await workspaceNode(page, SUB).waitFor();
    await credentialsLoaded;
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);

    const key = page.locator("#node-config-input-apiKey");
    assert.equal(await key.getAttribute("type"), "password", "the key is typed into a password field");
    // The dialog may not be built yet: wait for the field to exist as well (under load it came after the first look).
    await page.waitForFunction(() => ((document.querySelector("#node-config-input-apiKey") as HTMLInputElement | null)?.value ?? "") !== "");
    assert.equal(await key.inputValue(), PASSWORD_PLACEHOLDER, "the field holds Node-RED's placeholder, not the key");
    assert.equal(await hasClass(key, "input-error"), false, "the stored key counts as set");

    const inputValues = await page.locator("input, textarea").evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    assert.ok(!inputValues.some((v) => v.includes(API_KEY)), "no input holds the key");
    assert.ok(!(await page.content()).includes(API_KEY), "the page HTML does not contain the key");
    const texts = await traffic.texts();
    assert.ok(texts.some((t) => t.from.includes(`/credentials/noojee-config/${CFG}`)), "the credentials request was recorded");
    const leaks = texts.filter((t) => t.text.includes(API_KEY)).map((t) => t.from);
    assert.deepEqual(leaks, [], "no response or websocket frame carries the key");
    await page.locator("#node-config-dialog-cancel").click();
  });

  it("config dialog: country and phonebook fields, validated, saved on the node", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    const C = "noojee-config";
    await expectFields(page, [
      ["node-config-input-country", msg(C, "label.country")],
      ["node-config-input-phonebookFile", msg(C, "label.phonebookFile")],
    ]);
    assert.equal((await page.locator('label[for="node-config-input-phonebookContext"]').innerText()).trim(), msg(C, "label.phonebookContext"));
    // The context variable is a TypedInput offering global and flow context.
    const typed = page.locator("#node-config-input-phonebookContext").locator("xpath=..").locator(".red-ui-typedInput-container");
    await typed.waitFor({ state: "visible" });
    assert.equal(await page.locator("#node-config-input-phonebookContextType").inputValue(), "global");
    await expectInvalid(page, "#node-config-input-country", "XX", msg(C, "validation.country"));
    await expectInvalid(page, "#node-config-input-country", "UK", msg(C, "validation.country")); // the runtime only warns: the editor still flags it
    await expectInvalid(page, "#node-config-input-country", "A1", msg(C, "validation.country"));
    await expectValid(page, "#node-config-input-country", "au");
    assert.equal(await page.locator("#node-config-input-country").inputValue(), "AU", "written in capitals");
    await expectInvalid(page, "#node-config-input-phonebookFile", "/data/book.txt", msg(C, "validation.phonebookFile"));
    await expectValid(page, "#node-config-input-phonebookFile", "/data/book.csv");
    await typed.locator("input.red-ui-typedInput-input").fill("phonebook");
    await clearTooltips(page);
    await page.locator("#node-config-dialog-ok").click();
    await page.locator("#node-config-input-country").waitFor({ state: "detached" });
    const saved = await page.evaluate((id) => {
      const n = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> } } }).RED.nodes.node(id);
      return [n.country, n.phonebookContext, n.phonebookContextType, n.phonebookFile];
    }, CFG);
    assert.deepEqual(saved, ["AU", "phonebook", "global", "/data/book.csv"]);
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
