/**
 * The example flows in a real browser (see support/session.ts): listed under Import → Examples, and each imports
 * with every node drawn, our icon, and no node marked invalid; all of them together bring one PBX configuration node.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Locator, Page } from "playwright-core";
import { type FlowNode, REPO_ROOT } from "../harness/node-red-process";
import { clickTab, hasClass, openConfigDialog, openNodeDialog } from "./support/editor-page";
import { msg } from "./support/catalogue";
import { MODULE } from "./support/flows";
import { useEditorSession } from "./support/session";

describe("editor in a real browser: examples", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  const exampleNames = fs
    .readdirSync(path.join(REPO_ROOT, "examples"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();

  /** Menu → Import → Examples, then our module's folder, which it resolves with (its entries are loaded). */
  async function openExamples(page: Page): Promise<Locator> {
    await page.locator("#red-ui-header-button-sidemenu").click();
    await page.locator("#menu-item-import").click();
    // The dialog opens on its Clipboard tab and focuses the text box 100 ms later; switch tabs after that.
    await page.waitForFunction(() => document.activeElement?.id === "red-ui-clipboard-dialog-import-text");
    const tree = page.locator("#red-ui-clipboard-dialog-import-tab-examples");
    await clickTab(page.locator("#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples"));
    await tree.waitFor();
    const moduleLabel = page.locator(".red-ui-treeList-label-text", { hasText: new RegExp(`^${MODULE}$`) });
    // A tree item holds its label and a list of its children; the module's item is the innermost holding its label.
    const folder = tree.locator(".red-ui-editableList-item-content", { has: moduleLabel }).last();
    // Under load a first click can come before the tree takes clicks (a CI matrix lane: the folder stayed shut), so it
    // is clicked until the folder opens (never once it has: a second click would shut it).
    for (let attempt = 0; attempt < 5 && !(await hasClass(folder, "expanded")); attempt++) {
      await tree.locator(".red-ui-treeList-label-text", { hasText: new RegExp(`^${MODULE}$`) }).click();
      await page.waitForFunction((el) => el?.classList.contains("expanded") === true, await folder.elementHandle(), { timeout: 3000 }).catch(() => undefined);
    }
    // The entries load from the library API when the folder opens.
    await folder.locator(".red-ui-editableList .red-ui-treeList-label-text").first().waitFor();
    return folder;
  }

  it("lists our examples under Import → Examples", async () => {
    assert.ok(exampleNames.length >= 2, `the repo has example flows: ${JSON.stringify(exampleNames)}`);
    await editor.deploy([]);
    const page = await editor.openEditor();
    const folder = await openExamples(page);
    const listed = await folder.locator(".red-ui-editableList .red-ui-treeList-label-text").allInnerTexts();
    assert.deepEqual(listed.map((t) => t.trim()).sort(), exampleNames);
    await page.keyboard.press("Escape");
  });

  it("imports each example without invalid nodes, all sharing one PBX; the example's config node then asks for a key", async function () {
    this.timeout(180_000);
    // One page for all examples (a page load costs seconds); each example comes on its own tab.
    await editor.deploy([]);
    const page = await editor.openEditor();
    for (const name of exampleNames) {
      const example = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "examples", `${name}.json`), "utf8")) as FlowNode[];
      const tab = example.find((n) => n.type === "tab");
      assert.ok(tab, `${name} has its own tab`);
      const onTab = example.filter((n) => n.z === tab.id);
      const ours = onTab.filter((n) => n.type.startsWith("noojee-"));
      assert.ok(ours.length > 0, `${name} uses our nodes`);
      assert.ok(example.every((n) => n.credentials === undefined), `${name} carries no credentials`);

      const folder = await openExamples(page);
      const label = folder.locator(".red-ui-editableList .red-ui-treeList-label-text", { hasText: new RegExp(`^${name}$`) });
      const importButton = page.locator("#red-ui-clipboard-dialog-ok");
      // Import is enabled once the editor has loaded the chosen example; under load a first click could come before
      // the list took clicks (CI's matrix lane: the button stayed disabled), so the example is chosen until it is.
      for (let attempt = 0; attempt < 5 && !(await importButton.isEnabled()); attempt++) {
        await label.click();
        await page.waitForFunction(() => (document.querySelector("#red-ui-clipboard-dialog-ok") as HTMLButtonElement | null)?.disabled === false,
          undefined, { timeout: 10_000 }).catch(() => undefined);
      }
      await importButton.click();
      await page.locator("#red-ui-clipboard-dialog").waitFor({ state: "hidden" });
      if (name !== exampleNames[0]) {
        // The examples share one PBX configuration node, already there after the first import: Node-RED says so, and
        // "Import copy" gives the example's nodes new ids but keeps the existing config node of that id.
        const notice = page.locator(".red-ui-notification", { hasText: "already exist" });
        await notice.getByRole("button", { name: "Import copy" }).click();
        await notice.waitFor({ state: "detached" });
      }

      // Every node of the example is drawn on its tab.
      const tabLabel = page.getByText(String(tab.label), { exact: true });
      await clickTab(page.locator("#red-ui-workspace-tabs .red-ui-tab", { has: tabLabel }));
      const chart = page.locator("#red-ui-workspace-chart");
      await page
        .waitForFunction((n) => document.querySelectorAll("#red-ui-workspace-chart g.red-ui-flow-node-group").length === n, onTab.length)
        .catch(() => assert.fail(`${name}: ${onTab.length} nodes drawn on its tab`));
      const icons = await chart.locator("image.red-ui-flow-node-icon").evaluateAll((els) => els.map((e) => (e as SVGImageElement).href.baseVal));
      assert.equal(icons.filter((i) => /^icons\/node-red-contrib-noojee\/noojee-[a-z]+\.svg$/.test(i)).length, ours.length, `${name}: our nodes carry our icons`);

      // The examples ship without an API key (a key is never exported): once the editor has read the PBX's key
      // state, each node using it carries the warning triangle saying so, and no other node is marked.
      const usingPbx = await page.evaluate(() => {
        const RED = (window as unknown as { RED: { nodes: { filterNodes(f: object): Array<{ id: string; server?: string }> } } }).RED;
        return RED.nodes.filterNodes({}).filter((n) => typeof n.server === "string").map((n) => n.id);
      });
      await page.waitForFunction((n) => document.querySelectorAll("#red-ui-workspace-chart g.red-ui-flow-node-group > g.red-ui-flow-node-error:not(.hide)").length >= n,
        ours.filter((n) => typeof n.server === "string").length).catch(() => undefined);
      const invalid = await chart.locator("g.red-ui-flow-node-group:has(> g.red-ui-flow-node-error:not(.hide))").evaluateAll((els) => els.map((e) => e.id));
      const reasons = await page.evaluate((ids) => {
        const RED = (window as unknown as { RED: { nodes: { node(id: string): { validationErrors?: string[] } | null } } }).RED;
        return [...new Set(ids.flatMap((id) => RED.nodes.node(id)?.validationErrors ?? []))];
      }, invalid);
      assert.equal(invalid.length, ours.filter((n) => typeof n.server === "string").length, `${name}: the nodes using the PBX are marked`);
      assert.ok(invalid.every((id) => usingPbx.includes(id)), `${name}: only nodes using the PBX are marked`);
      assert.deepEqual(reasons, [msg("noojee-config", "pbx.noKey", { name: "PBX" })], `${name}: for the missing key`);

      // The first example's config node, opened through the first of our nodes with a PBX field: the key field is
      // empty and marked (the same holds for every example, as none carries credentials).
      if (name !== exampleNames[0]) continue;
      const withServer = ours.find((n) => typeof n.server === "string");
      assert.ok(withServer, `${name}: one of our nodes has a PBX`);
      const target = await page.evaluate((type) => {
        const RED = (window as unknown as {
          RED: { workspaces: { active(): string }; nodes: { filterNodes(f: object): Array<{ id: string }> } };
        }).RED;
        return RED.nodes.filterNodes({ z: RED.workspaces.active(), type })[0]?.id;
      }, withServer.type);
      assert.ok(target, `${name}: the imported ${withServer.type}`);
      await openNodeDialog(page, target);
      await openConfigDialog(page);
      assert.equal(await page.locator("#node-config-input-host").inputValue(), "pbx.example.com", `${name}: placeholder host`);
      const key = page.locator("#node-config-input-apiKey");
      assert.equal(await key.inputValue(), "", `${name}: no key came with the example`);
      assert.equal(await hasClass(key, "input-error"), true, `${name}: the empty key is marked for the user to fill in`);
      await page.locator("#node-config-dialog-cancel").click();
      await page.locator("#node-config-dialog-cancel").waitFor({ state: "detached" });
      await page.locator("#node-dialog-cancel").click();
      await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    }
    // All examples in: one PBX configuration node, the only PBX every node's dropdown offers.
    const configs = await page.evaluate(() => {
      const RED = (window as unknown as { RED: { nodes: { eachConfig(cb: (n: { type: string; id: string; users: unknown[] }) => void): void } } }).RED;
      const found: Array<{ id: string; users: number }> = [];
      RED.nodes.eachConfig((n) => (n.type === "noojee-config" ? found.push({ id: n.id, users: n.users.length }) : undefined));
      return found;
    });
    const shared = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "examples", `${exampleNames[0]}.json`), "utf8")) as FlowNode[];
    const sharedId = shared.find((n) => n.type === "noojee-config")?.id;
    assert.equal(configs.length, 1, `one PBX after importing every example: ${JSON.stringify(configs)}`);
    assert.equal(configs[0].id, sharedId);
    const users = await page.evaluate(() => {
      const RED = (window as unknown as { RED: { nodes: { filterNodes(f: object): Array<{ type: string }> } } }).RED;
      return RED.nodes.filterNodes({}).filter((n) => n.type.startsWith("noojee-") && n.type !== "noojee-config").length;
    });
    assert.equal(configs[0].users, users, "every node of every example uses it");
    const subscribe = await page.evaluate(() => {
      const RED = (window as unknown as { RED: { nodes: { filterNodes(f: object): Array<{ id: string; z: string }> }; workspaces: { show(z: string): void } } }).RED;
      const node = RED.nodes.filterNodes({ type: "noojee-subscribe" })[0];
      RED.workspaces.show(node.z);
      return node.id;
    });
    await openNodeDialog(page, subscribe);
    const offered = await page.locator("#node-input-server option").evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value).filter((v) => v !== "_ADD_"));
    assert.deepEqual(offered, [sharedId], "the PBX dropdown lists one PBX");
    await page.locator("#node-dialog-cancel").click();
    await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
