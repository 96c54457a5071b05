/**
 * A deployed flow as the editor shows it in a real browser (see support/session.ts): the subscribe node's status
 * turns green, and a call on the fake PBX shows in the Debug sidebar.
 */
import assert from "node:assert/strict";
import { API_BASE } from "../fake-pbx";
import { msg } from "./support/catalogue";
import { clearTooltips, showSidebar } from "./support/editor-page";
import { CREDENTIALS, liveFlow, SUB } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: live flow", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("turns the subscribe status green and shows a call in the debug sidebar", async () => {
    const before = editor.pbx.requests.length;
    await editor.deploy(liveFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    const status = page.locator(`#red-ui-workspace-chart g[id="${SUB}"] .red-ui-flow-node-status-group`);
    await status.locator("rect.red-ui-flow-node-status.red-ui-flow-node-status-dot-green").waitFor();
    assert.equal((await status.locator(".red-ui-flow-node-status-label").textContent())?.trim(), msg("noojee-subscribe", "status.listening"));

    // Start the call once the long poll is held, so it arrives as a change.
    await editor.pbx.waitForRequest(
      (r) => editor.pbx.requests.indexOf(r) >= before && r.path === `${API_BASE}subscribe` && r.query.lastSequenceNumber !== "0",
      15_000,
    ).catch((err: Error) => assert.fail(`${err.message}\n${editor.nrLog()}`));
    await showSidebar(page, "debug");
    editor.pbx.startCall("410", { callerId: "0412345678" });

    const message = page.locator(".red-ui-debug-msg", { hasText: "0412345678" }).first();
    await message.waitFor();
    // The payload shows as a one-line preview; expand it so every property shows.
    await message.locator(".red-ui-debug-msg-expandable").first().click();
    await message.locator(".red-ui-debug-msg-object-key", { hasText: "status" }).first().waitFor();
    const text = await message.innerText();
    assert.match(text, /Ringing/, `the debug message shows the status: ${text}`);
    assert.match(text, /0412345678/);
    await status.locator(".red-ui-flow-node-status-label", { hasText: msg("noojee-subscribe", "status.event", { extension: "410", status: "Ringing" }) }).waitFor();
    await clearTooltips(page);
    await editor.screenshot(page, "debug-sidebar");
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
