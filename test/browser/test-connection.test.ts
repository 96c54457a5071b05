/**
 * The config dialog's "Test connection" button in a real browser (see support/session.ts), against the fake PBX: on
 * a new config node with the typed key, and on a deployed one with the stored key.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { msg } from "./support/catalogue";
import { openConfigDialog, openNodeDialog, recordTraffic, setField } from "./support/editor-page";
import { API_KEY, CREDENTIALS, demoFlow, PASSWORD_PLACEHOLDER, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: Test connection", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  /** Clicks Test connection and resolves with the result text once the request has finished. */
  async function testConnection(page: Page): Promise<string> {
    const button = page.locator("#noojee-config-test-button");
    await button.click();
    // The button is disabled while the request runs.
    await page.waitForFunction(() => {
      const b = document.querySelector("#noojee-config-test-button") as HTMLButtonElement | null;
      return b !== null && !b.disabled;
    });
    return (await page.locator("#noojee-config-test-result").innerText()).trim();
  }

  it("Test connection on a new, unsaved config node: connected, authentication failed, unreachable", async () => {
    await editor.deploy([]);
    const page = await editor.openEditor();
    // Drag a subscribe node from the palette onto the empty workspace.
    const entry = page.locator('.red-ui-palette-node[data-palette-type="noojee-subscribe"]');
    await entry.scrollIntoViewIfNeeded();
    const from = await entry.boundingBox();
    const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
    assert.ok(from && chart);
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(chart.x + 300, chart.y + 200, { steps: 12 });
    await page.mouse.up();
    const dropped = page.locator("#red-ui-workspace-chart g.red-ui-flow-node-group");
    await dropped.first().waitFor();
    assert.equal(await dropped.count(), 1, "one node dropped");
    const id = await dropped.first().getAttribute("id");
    assert.ok(id);
    await openNodeDialog(page, id);
    assert.equal(await page.locator("#node-input-server").inputValue(), "_ADD_", "no config node yet: the PBX field offers a new one");
    await openConfigDialog(page, "add");
    await page.locator("#noojee-config-test-button").waitFor({ state: "visible" }); // the dialog is built after it opens (slow under load)
    assert.equal((await page.locator("#noojee-config-test-button").innerText()).trim(), msg("noojee-config", "test.button"));

    await setField(page, "#node-config-input-host", editor.pbx.url);
    await setField(page, "#node-config-input-apiKey", API_KEY);
    const before = editor.pbx.requests.length;
    assert.equal(await testConnection(page), msg("noojee-config", "test.connected"));
    const asked = editor.pbx.requests.slice(before);
    assert.ok(asked.length > 0 && asked.every((r) => r.query.apiKey === API_KEY), "the typed key reached the PBX");

    await setField(page, "#node-config-input-apiKey", "not-the-key");
    assert.equal(await testConnection(page), msg("noojee-config", "test.authFailed"));

    await setField(page, "#node-config-input-apiKey", API_KEY);
    await setField(page, "#node-config-input-host", "127.0.0.1:1");
    const unreachable = await testConnection(page);
    const prefix = msg("noojee-config", "test.unreachable", { reason: "" });
    assert.ok(unreachable.startsWith(prefix) && unreachable.length > prefix.length, `unreachable with a reason: ${unreachable}`);
    assert.ok(!unreachable.includes(API_KEY));
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("Test connection on a deployed config node with the key untouched uses the stored key", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    const traffic = recordTraffic(page);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    const key = page.locator("#node-config-input-apiKey");
    // The dialog may not be built yet: wait for the field to exist as well (under load it came after the first look).
    await page.waitForFunction(() => ((document.querySelector("#node-config-input-apiKey") as HTMLInputElement | null)?.value ?? "") !== "");
    assert.equal(await key.inputValue(), PASSWORD_PLACEHOLDER);

    const before = editor.pbx.requests.length;
    assert.equal(await testConnection(page), msg("noojee-config", "test.connected"));
    const asked = editor.pbx.requests.slice(before);
    assert.ok(asked.length > 0 && asked.every((r) => r.query.apiKey === API_KEY), "the stored key reached the PBX");
    const texts = await traffic.texts();
    assert.ok(texts.some((t) => t.from.includes("noojee-config/test")), "the test request was recorded");
    assert.deepEqual(texts.filter((t) => t.text.includes(API_KEY)).map((t) => t.from), [], "the answer does not carry the key");
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("Test connection with the stored key and a changed host or TLS: withheld, and the dialog says to retype the key", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    // The dialog may not be built yet: wait for the field to exist as well (under load it came after the first look).
    await page.waitForFunction(() => ((document.querySelector("#node-config-input-apiKey") as HTMLInputElement | null)?.value ?? "") !== "");
    const before = editor.pbx.requests.length;

    await setField(page, "#node-config-input-host", "127.0.0.1:1");
    assert.equal(await testConnection(page), msg("noojee-config", "test.otherHost"));
    await setField(page, "#node-config-input-host", editor.pbx.url);
    await page.locator("#node-config-input-verifyTls").uncheck();
    assert.equal(await testConnection(page), msg("noojee-config", "test.otherSettings"));
    assert.equal(editor.pbx.requests.length, before, "the stored key went nowhere");

    // A typed ${NAME} key is not read from the environment: the editor shows the message as it stands.
    await setField(page, "#node-config-input-apiKey", "${NOOJEE_API_KEY}");
    assert.equal(await testConnection(page), msg("noojee-config", "test.envKey"));
    assert.equal(editor.pbx.requests.length, before);
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
