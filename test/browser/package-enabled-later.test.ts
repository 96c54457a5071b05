/**
 * The package switched on while the editor is open, in a real browser (see support/session.ts), as after an install
 * from the palette manager: the editor then fetches each node file on its own and appends them in whatever order they
 * arrive, each once its `<script src>` (resources/noojee-editor.js) has loaded. Every type must still register with
 * working validators and labels, with no script error.
 */
import assert from "node:assert/strict";
import { msg } from "./support/catalogue";
import { MODULE, PALETTE_TYPES, TYPES } from "./support/flows";
import { useEditorSession } from "./support/session";

/** What the page's RED says of each of our types: registered, and what some of its validators and labels give. */
interface Registered {
  type: string;
  registered: boolean;
  paletteLabel?: string;
  /** Each validated property's answer, with opt, to its default value and to a value no form accepts. */
  defaults?: Record<string, [unknown, unknown]>;
}

describe("editor in a real browser: package enabled while the editor is open", function () {
  this.timeout(60_000);
  const editor = useEditorSession();

  async function setEnabled(enabled: boolean): Promise<void> {
    const res = await editor.nr.request("PUT", `/nodes/${MODULE}`, {
      body: JSON.stringify({ enabled }),
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(res.status, 200, `PUT /nodes/${MODULE} enabled=${enabled}: ${res.text}`);
  }

  it("registers every node type with its validators and labels, however its node files arrive", async function () {
    this.timeout(120_000);
    await editor.deploy([]); // types in use cannot be disabled
    await setEnabled(false);
    try {
      const page = await editor.newPage();
      await page.goto(editor.nr.url);
      await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor();
      const registered = (): Promise<Registered[]> =>
        page.evaluate((types) => {
          type Def = { defaults: Record<string, { value: unknown; validate?: (v: unknown, opt?: object) => unknown }>; paletteLabel(): string };
          const RED = (window as unknown as { RED: { nodes: { getType(t: string): Def | undefined } } }).RED;
          return types.map((type) => {
            const def = RED.nodes.getType(type);
            if (!def) return { type, registered: false };
            const defaults: Record<string, [unknown, unknown]> = {};
            for (const [name, d] of Object.entries(def.defaults)) {
              if (d.validate) defaults[name] = [d.validate.call({}, d.value, {}), d.validate.call({}, { not: "a form value" }, {})];
            }
            return { type, registered: true, paletteLabel: def.paletteLabel(), defaults };
          });
        }, TYPES);
      assert.deepEqual((await registered()).filter((r) => r.registered), [], "nothing of ours before the package is enabled");

      await setEnabled(true);
      for (const type of PALETTE_TYPES) await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).waitFor();
      await page.waitForFunction((types) => {
        const RED = (window as unknown as { RED: { nodes: { getType(t: string): unknown } } }).RED;
        return types.every((t) => RED.nodes.getType(t) !== undefined);
      }, TYPES);
      for (const r of await registered()) {
        assert.equal(r.paletteLabel, msg(r.type, "paletteLabel"), `${r.type}: palette label from the catalogue`);
        const validated = Object.entries(r.defaults ?? {});
        assert.ok(validated.length > 0, `${r.type} validates its properties`);
        for (const [name, [good, bad]] of validated) {
          // Properties without a default value (the subscribe node's extensions, the config node's host, every node's
          // PBX configuration) are required.
          if (!["extensions", "host", "server"].includes(name)) assert.equal(good, true, `${r.type}.${name}: its default is valid`);
          assert.equal(typeof bad, "string", `${r.type}.${name}: a bad value gets a message`);
          assert.ok(!/^noojee-/.test(String(bad)), `${r.type}.${name}: the message is text, not a key: ${String(bad)}`);
        }
      }
      assert.deepEqual(editor.pageErrors(page), [], "no script error while the node files arrived");
    } finally {
      await setEnabled(true);
    }
  });
});
