/**
 * The editor's defaults are the runtime's: each node's `defaults` in its .html holds, for every property, the value
 * the runtime uses when a saved node lacks it (nodes/property-defaults.ts), and accepts the property missing, as a
 * flow written by hand or by an older version has it. Otherwise such a node opens with an empty red field (a
 * subscribe node without `timeout`: an empty *Long poll*), or an unticked box the runtime treats as ticked.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { PROPERTY_DEFAULTS } from "../../nodes/property-defaults";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const read = (...parts: string[]): string => fs.readFileSync(path.join(root, ...parts), "utf8");

type Validate = (this: unknown, value: unknown, opt?: object) => unknown;
interface EditorDef {
  defaults: Record<string, { value: unknown; required?: boolean; validate?: Validate }>;
}

/** The definition an editor file registers, run as the editor runs it (the shared script first) with a stub RED. */
function registered(type: string): EditorDef {
  const html = read("nodes", `${type}.html`);
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(script, `${type}.html has its script`);
  let def: EditorDef | undefined;
  const translate = (key: string): string => `L:${key}`;
  const RED = {
    _: translate,
    settings: {},
    events: { on: () => undefined },
    nodes: { registerType: (_t: string, d: EditorDef) => (def = d), getType: () => ({ _: translate }), node: () => null },
  };
  const $ = (): Record<string, unknown> => ({ length: 0, val: () => undefined });
  const context = vm.createContext({ RED, $ });
  vm.runInContext(read("resources", "noojee-editor.js"), context);
  vm.runInContext(script[1], context);
  assert.ok(def, `${type} registered`);
  return def;
}

/** Properties without a default: the node's label and its PBX. `outputs` follows the subscribe node's Send mode. */
const NO_DEFAULT = new Set(["name", "server", "outputs"]);

describe("editor defaults are the runtime's", () => {
  for (const [type, runtime] of Object.entries(PROPERTY_DEFAULTS)) {
    describe(type, () => {
      const def = registered(type);

      it("has the runtime's default for every property, and no property the runtime does not know", () => {
        const editor = Object.fromEntries(Object.entries(def.defaults).filter(([p]) => !NO_DEFAULT.has(p)).map(([p, d]) => [p, d.value]));
        assert.deepEqual(editor, { ...runtime });
      });

      it("accepts each property missing, as the runtime does (but for those a node cannot work without)", () => {
        for (const prop of Object.keys(runtime)) {
          const d = def.defaults[prop];
          if (d.required && d.value === "") continue; // host, extensions: nothing to default to
          const valid = d.validate ? d.validate.call({}, undefined, {}) : true;
          assert.equal(valid, true, `${type}.${prop} missing: ${String(valid)}`);
        }
      });
    });
  }
});
