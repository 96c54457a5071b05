/**
 * The package as the palette and the help sidebar show it in a real browser (see support/session.ts): every node in
 * the noojee category with its label and our icon, and each node's help with its sections.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../harness/node-red-process";
import { msg } from "./support/catalogue";
import { clearTooltips, showSidebar, workspaceNode } from "./support/editor-page";
import { ANS, CREDENTIALS, demoFlow, MODULE, PALETTE_TYPES, SUB, TYPES } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: palette and help", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("shows subscribe, answer and the other nodes under the noojee palette category, with their labels and our icon", async () => {
    assert.ok(PALETTE_TYPES.includes("noojee-subscribe") && PALETTE_TYPES.includes("noojee-answer"), JSON.stringify(TYPES));
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    const category = page.locator("#red-ui-palette-container-noojee");
    assert.equal(await category.isVisible(), true, "the palette has a noojee category");
    assert.equal((await page.locator("#red-ui-palette-header-noojee").innerText()).trim(), "noojee");

    for (const type of PALETTE_TYPES) {
      const entries = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      assert.equal(await entries.count(), 1, `${type} appears once in the palette`);
      const entry = category.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      assert.equal(await entry.count(), 1, `${type} is in the noojee category`);
      assert.equal((await entry.locator(".red-ui-palette-label").innerText()).trim(), msg(type, "paletteLabel"));

      const icon = entry.locator(".red-ui-palette-icon");
      const background = await icon.evaluate((el) => getComputedStyle(el).backgroundImage);
      const url = /^url\("(.*)"\)$/.exec(background)?.[1];
      assert.ok(url, `${type}: the palette icon has a background image (${background})`);
      assert.ok(url.endsWith(`icons/${MODULE}/${type}.svg`), `${type}: icon ${url} is its own, not the default arrow`);
      const served = await page.evaluate(async (u) => {
        const res = await fetch(u);
        return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
      }, url);
      const loaded = await page.evaluate((u) => performance.getEntriesByName(u).length, url);
      assert.ok(loaded > 0, `the browser loaded ${url} to draw the palette`);
      assert.equal(served.status, 200);
      assert.match(served.type, /^image\/svg\+xml/);
      assert.equal(served.text, fs.readFileSync(path.join(REPO_ROOT, "icons", `${type}.svg`), "utf8"), "the URL serves our SVG");
    }
    assert.equal(await page.locator('.red-ui-palette-node[data-palette-type="noojee-config"]').count(), 0, "the config node is not in the palette");
    const inCategory = await category.locator(".red-ui-palette-node").evaluateAll((els) => els.map((e) => e.getAttribute("data-palette-type")));
    assert.deepEqual(inCategory.sort(), [...PALETTE_TYPES].sort(), "the noojee category holds exactly our nodes");

    // The workspace nodes use the same icon.
    const workspaceIcon = await page
      .locator(`#red-ui-workspace-chart g[id="${SUB}"] image.red-ui-flow-node-icon`)
      .evaluate((el) => (el as SVGImageElement).href.baseVal);
    assert.equal(workspaceIcon, `icons/${MODULE}/noojee-subscribe.svg`);

    await page.locator("#red-ui-palette-header-noojee").evaluate((el) => el.scrollIntoView({ block: "center" }));
    await clearTooltips(page);
    await editor.screenshot(page, "palette");
    assert.deepEqual(editor.pageErrors(page), [], "no script error in the editor");

    // The forms' shared code came from the package's resources/ folder, where each node file's <script src> points.
    const loaded = await page.evaluate((m) => performance.getEntriesByType("resource").filter((e) => e.name.endsWith(`/resources/${m}/noojee-editor.js`)).length, MODULE);
    assert.ok(loaded > 0, "the editor loaded resources/noojee-editor.js");
    assert.equal(await page.evaluate(() => typeof (window as unknown as { NoojeeEditor?: { form?: unknown } }).NoojeeEditor?.form), "function");
  });

  it("shows each node's help in the help sidebar with its sections", async () => {
    await editor.deploy(demoFlow(editor.pbx.url), CREDENTIALS);
    const page = await editor.openEditor(SUB);
    await showSidebar(page, "help");
    // The help tab's content: a toolbar with a search box, then the topics tree and the help text.
    const sidebar = page.locator(".red-ui-sidebar-info", { has: page.locator(".red-ui-sidebar-help-stack") });
    const help = sidebar.locator(".red-ui-sidebar-help-stack");

    /** The sidebar shows the type's help: its title, and the h3 sections of nodes/locales/en-US/<type>.html. */
    const expectHelp = async (type: string, required: string[]): Promise<void> => {
      const title = msg(type, "paletteLabel");
      await help.locator("h1.red-ui-help-title", { hasText: new RegExp(`^${title}$`) }).waitFor();
      const source = fs.readFileSync(path.join(REPO_ROOT, "nodes", "locales", "en-US", `${type}.html`), "utf8");
      const sections = [...source.matchAll(/<h3>([^<]*)<\/h3>/g)].map((m) => m[1].trim());
      for (const r of required) assert.ok(sections.includes(r), `${type}'s help has a ${r} section: ${JSON.stringify(sections)}`);
      const shown = await help.locator("h3").evaluateAll((els) => els.map((e) => (e.textContent ?? "").trim()));
      assert.deepEqual(shown, sections, `the help sidebar shows ${type}'s sections`);
    };
    await workspaceNode(page, SUB).click();
    await expectHelp("noojee-subscribe", ["Inputs", "Outputs", "Details"]);
    await workspaceNode(page, ANS).click();
    await expectHelp("noojee-answer", ["Inputs", "Outputs", "Details"]);
    // The other types are not on the workspace: pick them from the help sidebar's topics. The config node has no
    // ports, so no Inputs/Outputs sections.
    await sidebar.locator(".red-ui-info-toolbar input").first().fill("noojee");
    for (const type of TYPES.filter((t) => t !== "noojee-subscribe" && t !== "noojee-answer")) {
      await help
        .locator(".red-ui-sidebar-help-toc .red-ui-treeList-label", { hasText: new RegExp(`^${msg(type, "paletteLabel")}$`) })
        .click();
      await expectHelp(type, type === "noojee-config" ? ["Details"] : ["Inputs", "Outputs", "Details"]);
    }
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
