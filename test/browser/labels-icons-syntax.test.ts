/**
 * What tells the nodes apart and how they read extensions, in a real browser (see support/session.ts): labels of long
 * extension lists stay short on the canvas, each node has its own icon in the package's colour, the list dialogs
 * validate with the runtime's extension syntax, and dial's Technology is a list with "other…".
 */
import assert from "node:assert/strict";
import { msg } from "./support/catalogue";
import { expectInvalid, expectValid, openNodeDialog, workspaceNode } from "./support/editor-page";
import type { FlowNode } from "../harness/node-red-process";
import { CFG, CREDENTIALS, MODULE, nodeId, oneOfEach, PALETTE_TYPES, TAB } from "./support/flows";
import { useEditorSession } from "./support/session";

/** The package's colour (nodes/*.html), as the palette draws it. */
const COLOUR = "rgb(167, 139, 208)";
const DASHBOARD_TEAL = "rgb(63, 173, 181)";

describe("editor in a real browser: labels, icons and the extension syntax", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  it("a node with 2,000 extensions and no name gets a short label and a bounded width; its list stays whole", async () => {
    const many = Array.from({ length: 2000 }, (_, i) => String(1000 + i)).join(", ");
    const flow: FlowNode[] = [
      ...oneOfEach(editor.pbx.url, []),
      { id: nodeId(0), type: "noojee-subscribe", z: TAB, name: "", server: CFG, extensions: many, timeout: 30, x: 200, y: 80, wires: [[]] },
      { id: nodeId(1), type: "noojee-presence", z: TAB, name: "", server: CFG, extensions: "400-410, SIP/420, 430, 440", x: 200, y: 160, wires: [[]] },
    ];
    await editor.deploy(flow, CREDENTIALS);
    const page = await editor.openEditor(nodeId(1));
    const label = (id: string): Promise<string> =>
      page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] text.red-ui-flow-node-label-text`).evaluateAll((els) => els.map((e) => e.textContent ?? "").join(""));
    assert.equal(await label(nodeId(0)), msg("noojee-subscribe", "label.nodeWithExtensions", { extensions: "1000, 1001, 1002, \u2026 +1997" }));
    assert.equal(await label(nodeId(1)), msg("noojee-presence", "label.nodeWithExtensions", { extensions: "400-410, SIP/420, 430, \u2026 +1" }));
    for (const id of [nodeId(0), nodeId(1)]) {
      const width = Number(await workspaceNode(page, id).getAttribute("width"));
      assert.ok(width > 0 && width <= 300, `node ${id} is ${width} px wide`);
    }
    // The whole list is kept, for the dialog and the Info sidebar.
    const kept = await page.evaluate((id) => (window as unknown as { RED: { nodes: { node(id: string): { extensions: string } } } }).RED.nodes.node(id).extensions, nodeId(0));
    assert.equal(kept, many);
    await openNodeDialog(page, nodeId(0));
    assert.equal(await page.locator("#node-input-extensions").inputValue(), many);
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("each node in the palette has an icon of its own, drawn in the package's colour (not Dashboard's teal)", async () => {
    await editor.deploy(oneOfEach(editor.pbx.url, []), CREDENTIALS);
    const page = await editor.openEditor();
    const looks = await page.locator(".red-ui-palette-node[data-palette-type^='noojee-']").evaluateAll((els) =>
      els.map((e) => ({
        type: e.getAttribute("data-palette-type"),
        icon: getComputedStyle(e.querySelector(".red-ui-palette-icon")!).backgroundImage,
        colour: getComputedStyle(e).backgroundColor,
      })),
    );
    assert.deepEqual(looks.map((l) => l.type).sort(), [...PALETTE_TYPES].sort());
    for (const { type, icon, colour } of looks) {
      assert.ok(icon.endsWith(`icons/${MODULE}/${type}.svg")`), `${type}: ${icon}`);
      assert.equal(colour, COLOUR, `${type}'s colour`);
      assert.notEqual(colour, DASHBOARD_TEAL);
    }
    assert.equal(new Set(looks.map((l) => l.icon)).size, PALETTE_TYPES.length, "no two nodes share an icon");
    // Every icon is served (a missing one would fall back silently to Node-RED's arrow).
    for (const { icon } of looks) {
      const url = /^url\("(.*)"\)$/.exec(icon)![1];
      const status = await page.evaluate(async (u) => (await fetch(u)).headers.get("content-type"), url);
      assert.match(String(status), /^image\/svg\+xml/, url);
    }
  });

  it("subscribe and presence dialogs take ranges and SIP/400 and explain a bad range from the catalogue", async () => {
    const types = ["noojee-subscribe", "noojee-presence"];
    const flow = oneOfEach(editor.pbx.url, types).map((n) => (types.includes(String(n.type)) ? { ...n, extensions: "410", timeout: 30 } : n));
    await editor.deploy(flow, CREDENTIALS);
    const page = await editor.openEditor(nodeId(1));
    for (const [i, type] of types.entries()) {
      await openNodeDialog(page, nodeId(i));
      await expectValid(page, "#node-input-extensions", "SIP/400, 410-419, PJSIP/420");
      const invalid = (key: string, subs: Record<string, string | number>): string =>
        msg(type, "error.invalidExtensions", { reason: msg(type, `validation.${key}`, subs) });
      await expectInvalid(page, "#node-input-extensions", "419-410", invalid("backwardsRange", { item: "419-410" }));
      await expectInvalid(page, "#node-input-extensions", "1-5000", invalid("rangeTooLarge", { item: "1-5000", max: 1000 }));
      await expectValid(page, "#node-input-extensions", "400");
      await page.locator("#node-dialog-cancel").click();
      await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    }
    assert.deepEqual(editor.pageErrors(page), []);
  });

  it("dial: Technology is a list with other…, a saved other value opens as typed, and the dialog states the one rule", async () => {
    const D = "noojee-dial";
    const flow = oneOfEach(editor.pbx.url, [D, D]).map((n) => (n.id === nodeId(1) ? { ...n, tech: "MGCP" } : n));
    await editor.deploy(flow, CREDENTIALS);
    const page = await editor.openEditor(nodeId(1));

    await openNodeDialog(page, nodeId(0));
    const options = await page.locator("#node-input-tech-preset option").evaluateAll((els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent]));
    assert.deepEqual(options, [["SIP", "SIP"], ["PJSIP", "PJSIP"], ["IAX2", "IAX2"], ["DAHDI", "DAHDI"], ["Local", "Local"], ["", msg(D, "techOther")]]);
    assert.equal(await page.locator("#node-input-tech-preset").inputValue(), "SIP");
    assert.equal(await page.locator("#node-input-tech").isVisible(), false, "no text field for a listed technology");
    await page.locator("#node-input-tech-preset").selectOption("IAX2");
    assert.equal(await page.locator("#node-input-tech").inputValue(), "IAX2");
    await page.locator("#node-input-tech-preset").selectOption("");
    assert.equal(await page.locator("#node-input-tech").isVisible(), true);
    await expectInvalid(page, "#node-input-tech", "1SIP", msg(D, "validation.tech"));
    await expectValid(page, "#node-input-tech", "MGCP");
    const tip = await page.locator("#dialog-form .form-tips").innerText();
    assert.ok(tip.includes("msg.extension") && tip.includes("overrides"), tip);
    await page.locator("#node-dialog-ok").click();
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
    const saved = await page.evaluate((id) => (window as unknown as { RED: { nodes: { node(id: string): { tech: string } } } }).RED.nodes.node(id).tech, nodeId(0));
    assert.equal(saved, "MGCP");

    await openNodeDialog(page, nodeId(1));
    assert.equal(await page.locator("#node-input-tech-preset").inputValue(), "");
    assert.equal(await page.locator("#node-input-tech").inputValue(), "MGCP");
    assert.equal(await page.locator("#node-input-tech").isVisible(), true);
    assert.deepEqual(editor.pageErrors(page), []);
  });
});
