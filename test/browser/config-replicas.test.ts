/**
 * The config dialog's Replicas group in a real browser (see support/session.ts): the box shows and hides the Redis
 * fields, each is validated as the runtime does (only with the box ticked), everything stays in view at 1440x900 with
 * the box ticked, Done saves what is shown, and Test connection answers for a real redis-server too.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { useRedisServer } from "../harness/redis-server";
import { msg } from "./support/catalogue";
import { clearTooltips, closeNodeDialog, expectInvalid, expectValid, hasClass, openConfigDialog, openNodeDialog, setField } from "./support/editor-page";
import { CFG, CREDENTIALS, demoFlow, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

const C = "noojee-config";
const REDIS_FIELDS = ["redisUrl", "redisPassword", "redisKeyPrefix"];
const ALL_FIELDS = ["name", "host", "verifyTls", "authMode", "apiKey", "resumeAfterRestart", "resumeMaxAge", "resumeStore",
  "replicas", ...REDIS_FIELDS, "country", "phonebookContext", "phonebookFile"];

describe("editor in a real browser: Replicas on the config dialog", function () {
  this.timeout(60_000);
  const editor = useEditorSession();
  const redis = useRedisServer();

  async function openConfig(): Promise<Page> {
    // A config node as flows saved before 1.2.0 have it: no replicas, no redisKeyPrefix.
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await page.setViewportSize({ width: 1440, height: 900 });
    await openNodeDialog(page, SUB);
    await openConfigDialog(page);
    await page.locator("#node-config-input-replicas").waitFor({ state: "attached" });
    return page;
  }

  /** Every field's row lies within the tray, without scrolling. */
  async function allInView(page: Page): Promise<void> {
    const tray = await page.locator(".red-ui-tray-body-wrapper").last().boundingBox();
    assert.ok(tray);
    for (const field of ALL_FIELDS) {
      const row = await page.locator(`#node-config-input-${field}`).locator("xpath=ancestor::div[contains(@class,'form-row')][1]").boundingBox();
      assert.ok(row, `${field} has a row on screen`);
      assert.ok(row.y >= tray.y && row.y + row.height <= tray.y + tray.height, `${field} in view: row ${JSON.stringify(row)}, tray ${JSON.stringify(tray)}`);
    }
  }

  it("shows the Redis fields only with the box ticked, validates them as the runtime does, keeps all in view", async () => {
    const page = await openConfig();
    const section = page.locator("#noojee-config-section-replicas");
    assert.equal((await section.locator(".noojee-config-section-title > span").first().innerText()).trim(), msg(C, "section.replicas"));
    for (const field of ["replicas", ...REDIS_FIELDS]) assert.equal(await section.locator(`#node-config-input-${field}`).count(), 1, field);
    assert.equal((await page.locator('label[for="node-config-input-replicas"]').innerText()).trim(), msg(C, "label.replicas"));
    assert.equal((await section.locator("#noojee-config-replicas-note").innerText()).trim(), msg(C, "tip.replicas"), "what it does, beside the heading");
    const box = page.locator("#node-config-input-replicas");
    assert.equal(await box.isChecked(), false, "off for a flow saved without the property");
    for (const field of REDIS_FIELDS) assert.equal(await page.locator(`#node-config-input-${field}`).isVisible(), false, `${field} hidden`);

    await box.check();
    for (const field of REDIS_FIELDS) assert.equal(await page.locator(`#node-config-input-${field}`).isVisible(), true, `${field} shown`);
    assert.equal(await page.locator("#node-config-input-redisKeyPrefix").inputValue(), "noojee", "the runtime's default");
    await allInView(page);
    const url = page.locator("#node-config-input-redisUrl");
    assert.equal(await hasClass(url, "input-error"), true, "ticked without a URL: marked");
    const invalidUrl = (reason: string): string => msg(C, "validation.redisUrl", { reason: msg(C, `validation.redisReason.${reason}`) });
    await expectInvalid(page, "#node-config-input-redisUrl", "http://127.0.0.1:6379", invalidUrl("scheme"));
    await expectInvalid(page, "#node-config-input-redisUrl", "redis://127.0.0.1:70000", invalidUrl("port"));
    await expectInvalid(page, "#node-config-input-redisUrl", "redis://127.0.0.1/db", invalidUrl("path"));
    await expectValid(page, "#node-config-input-redisUrl", "${REDIS_URL}");
    await expectValid(page, "#node-config-input-redisUrl", "rediss://redis.example.com:6380/0");
    await expectInvalid(page, "#node-config-input-redisKeyPrefix", "my prefix", msg(C, "validation.redisKeyPrefix"));
    await expectValid(page, "#node-config-input-redisKeyPrefix", "site-a");

    // Unticked, the runtime ignores the Redis settings: hidden, and no longer marked.
    await setField(page, "#node-config-input-redisUrl", "nonsense");
    assert.equal(await hasClass(url, "input-error"), true);
    await box.uncheck();
    assert.equal(await url.isVisible(), false);
    assert.equal(await hasClass(url, "input-error"), false, "not marked with the box unticked");
    await page.locator("#node-config-dialog-cancel").click();
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("Test connection answers for Redis too, and Done saves what the dialog shows", async () => {
    assert.ok(redis);
    const page = await openConfig();
    await page.locator("#node-config-input-replicas").check();
    await setField(page, "#node-config-input-redisUrl", redis.url);
    const button = page.locator("#noojee-config-test-button");
    await button.click();
    const result = page.locator("#noojee-config-test-redis-result");
    await page.waitForFunction(() => !(document.querySelector("#noojee-config-test-button") as HTMLButtonElement).disabled);
    assert.equal((await page.locator("#noojee-config-test-result").innerText()).trim(), msg(C, "test.connected"), "the PBX, with the stored key");
    assert.equal((await result.innerText()).trim(), msg(C, "test.redis.connected"));

    await setField(page, "#node-config-input-redisUrl", `rediss://127.0.0.1:${redis.port}`);
    await button.click();
    await page.waitForFunction(() => !(document.querySelector("#noojee-config-test-button") as HTMLButtonElement).disabled);
    assert.equal((await result.innerText()).trim(), msg(C, "test.redis.plainPort"));

    await setField(page, "#node-config-input-redisUrl", redis.url);
    await setField(page, "#node-config-input-redisKeyPrefix", "site-a");
    await clearTooltips(page);
    await page.locator("#node-config-dialog-ok").click();
    await closeNodeDialog(page, "ok");
    const saved = await page.evaluate((id) => {
      const node = (window as unknown as { RED: { nodes: { node(id: string): Record<string, unknown> | null } } }).RED.nodes.node(id);
      return [node?.replicas, node?.redisKeyPrefix, (node?.credentials as Record<string, unknown> | undefined)?.redisUrl];
    }, CFG);
    assert.deepEqual(saved, [true, "site-a", redis.url]);
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
