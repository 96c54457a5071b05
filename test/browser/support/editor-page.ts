/** Steps and checks on a Node-RED editor page, as a user does them: open a node's dialog, type a value, read a tooltip. */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { msg } from "./catalogue";

export function workspaceNode(page: Page, id: string): Locator {
  return page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`);
}

/** Waits until `selector` (a tray button) is visible and has stopped moving: the tray has slid in. */
export async function trayOpen(page: Page, buttonSelector: string): Promise<void> {
  await page.locator(buttonSelector).click({ trial: true });
}

export async function openNodeDialog(page: Page, id: string): Promise<void> {
  await workspaceNode(page, id).dblclick();
  await trayOpen(page, "#node-dialog-ok");
}

/**
 * From an open node dialog, the pencil next to PBX (edits the selected config node) or the + (a new one). Node-RED 3
 * has one pencil for both (#node-input-lookup-server), which adds a new one while the PBX select shows "Add new...".
 */
export async function openConfigDialog(page: Page, button: "edit" | "add" = "edit"): Promise<void> {
  await page.locator(`#node-input-btn-server-${button}, #node-input-lookup-server`).click();
  await trayOpen(page, "#node-config-dialog-ok");
}

/**
 * Shows a sidebar tab through the action its keyboard shortcut runs: Node-RED 5 moved the tab buttons
 * (#red-ui-tab-<id>-link-button up to 4.x), the actions stayed.
 */
export async function showSidebar(page: Page, tab: "help" | "debug"): Promise<void> {
  await page.evaluate((action) => (window as unknown as { RED: { actions: { invoke(a: string): void } } }).RED.actions.invoke(action), `core:show-${tab}-tab`);
}

/** Closes the open node dialog with `button` and waits until it is gone. */
export async function closeNodeDialog(page: Page, button: "ok" | "cancel"): Promise<void> {
  const locator = page.locator(`#node-dialog-${button}`);
  // Under load a click that lands while the tray still slides (e.g. just after a config dialog on top of it closed)
  // can be lost: the button stays. Click again while it is there, up to the usual 20 s in all.
  for (let attempt = 1; ; attempt++) {
    await locator.click({ timeout: 5000 }).catch((err: unknown) => {
      if (attempt === 4) throw err;
    });
    try {
      await locator.waitFor({ state: "detached", timeout: 5000 });
      return;
    } catch (err) {
      if (attempt === 4) throw err;
    }
  }
}

export async function hasClass(locator: Locator, cls: string): Promise<boolean> {
  return locator.evaluate((el, c) => el.classList.contains(c), cls);
}

/** Types a value the way the editor sees an edit: fill, then the change event its validation listens to. */
export async function setField(page: Page, selector: string, value: string): Promise<void> {
  const input = page.locator(selector);
  await input.fill(value);
  await input.dispatchEvent("change");
}

/** Moves the pointer off every input (to the middle of the header bar) and waits until no tooltip is shown. */
export async function clearTooltips(page: Page): Promise<void> {
  const viewport = page.viewportSize();
  await page.mouse.move((viewport?.width ?? 1280) / 2, 20);
  await page.waitForFunction(() => document.querySelectorAll(".red-ui-popover").length === 0);
}

/**
 * `value` in `selector` is marked invalid (class input-error) and explained: Node-RED 3.1+ attaches the string a
 * validator returns as a hover tooltip on the input (RED.popover.tooltip, a div.red-ui-popover shown after 750 ms).
 */
export async function expectInvalid(page: Page, selector: string, value: string, explanation: string): Promise<void> {
  await setField(page, selector, value);
  const input = page.locator(selector);
  assert.equal(await hasClass(input, "input-error"), true, `${selector} = ${JSON.stringify(value)} is marked invalid`);
  await input.hover();
  await page.locator(".red-ui-popover").first().waitFor({ state: "visible" });
  // Another element's tooltip may show too (one the pointer passed on its way, shown 750 ms later on a loaded
  // machine): the input's own must be among those shown.
  const shown = async (): Promise<string[]> => (await page.locator(".red-ui-popover").allInnerTexts()).map((text) => text.trim());
  const texts = await page
    .waitForFunction((want) => [...document.querySelectorAll(".red-ui-popover")].some((el) => (el as HTMLElement).innerText.trim() === want), explanation, { timeout: 3_000 })
    .then(() => [explanation], async () => shown());
  assert.ok(texts.includes(explanation), `tooltip of ${selector} = ${JSON.stringify(value)}: ${JSON.stringify(texts)}, expected ${JSON.stringify(explanation)}`);
  await clearTooltips(page);
}

export async function expectValid(page: Page, selector: string, value: string): Promise<void> {
  await setField(page, selector, value);
  assert.equal(await hasClass(page.locator(selector), "input-error"), false, `${selector} = ${JSON.stringify(value)} is not marked`);
}

/** The label text of a form row, as the catalogue gave it. */
export async function labelOf(page: Page, inputId: string): Promise<string> {
  return (await page.locator(`label[for="${inputId}"]`).first().innerText()).trim();
}

export async function expectFields(page: Page, fields: Array<[string, string]>): Promise<void> {
  for (const [id, label] of fields) {
    // The tray may still be sliding in on a loaded machine: wait for the field, then check it is shown.
    await page.locator(`#${id}`).waitFor({ state: "visible", timeout: 5_000 }).catch(() => undefined);
    assert.equal(await page.locator(`#${id}`).isVisible(), true, `#${id} is shown`);
    assert.equal(await labelOf(page, id), label, `label of #${id}`);
  }
}

/** The [value, text] of each option of a select. */
export async function optionsOf(page: Page, selector: string): Promise<Array<[string, string | null]>> {
  return page.locator(`${selector} option`).evaluateAll((els) => els.map((e): [string, string | null] => [(e as HTMLOptionElement).value, e.textContent]));
}

/**
 * Every element of `type`'s form that takes its text from the catalogue (data-i18n, which Node-RED rewrites to
 * "<module>/<type>:<key>") shows that catalogue message, not a missing key.
 */
export async function expectTranslated(page: Page, type: string): Promise<void> {
  const rendered = await page.locator(`[data-i18n*="/${type}:"]`).evaluateAll((els) =>
    els.map((e) => ({
      spec: e.getAttribute("data-i18n") ?? "",
      text: (e.textContent ?? "").trim(),
      placeholder: e.getAttribute("placeholder"),
      html: e.innerHTML,
    })),
  );
  assert.ok(rendered.length > 0, `${type}'s form has translated elements`);
  for (const el of rendered) {
    const [, target, key] = /^(?:\[(\w+)\])?[^:]*:(.*)$/.exec(el.spec) ?? [];
    assert.ok(key?.startsWith(`${type}.`), `data-i18n ${el.spec}`);
    const expected = msg(type, key.slice(type.length + 1)); // throws when the catalogue lacks the key
    if (target === "placeholder") assert.equal(el.placeholder, expected, el.spec);
    else if (target === "html") assert.ok(el.html.length > 0 && !el.html.includes(key), `${el.spec} is filled`);
    else assert.equal(el.text, expected, el.spec);
  }
}

/** The ids of the workspace nodes that show the red triangle of an invalid node. */
export async function invalidNodes(page: Page): Promise<string[]> {
  return page
    .locator("#red-ui-workspace-chart g.red-ui-flow-node-group:has(> g.red-ui-flow-node-error:not(.hide))")
    .evaluateAll((els) => els.map((e) => e.id));
}

/**
 * Clicks a tab (workspace tab, import dialog tab). Node-RED's tab bars share one double-click timer, so a click on
 * any tab within 400 ms of a click on another tab counts as a double click and does not switch; when the tab did
 * not become active, the second click does (the timer is reset by then).
 */
export async function clickTab(tab: Locator): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    await tab.click();
    if (await hasClass(tab, "active")) return;
  }
  assert.fail(`tab ${await tab.innerText()} did not become active`);
}

/** Every response body and websocket frame the page receives, for leak checks. */
export function recordTraffic(page: Page): { texts(): Promise<Array<{ from: string; text: string }>> } {
  const bodies: Array<Promise<{ from: string; text: string } | undefined>> = [];
  const frames: Array<{ from: string; text: string }> = [];
  page.on("response", (res) => {
    bodies.push(
      res.body().then(
        (b) => ({ from: `${res.status()} ${res.url()}`, text: b.toString("utf8") }),
        () => undefined, // redirects and aborted loads have no body
      ),
    );
  });
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push({ from: `ws ${ws.url()}`, text: String(f.payload) })));
  return {
    async texts() {
      const got = (await Promise.all(bodies)).filter((b): b is { from: string; text: string } => b !== undefined);
      return [...got, ...frames];
    },
  };
}
