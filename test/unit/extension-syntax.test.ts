/**
 * The one extension syntax (nodes/lib/input/extensions.ts): ranges, technology prefixes and their bounds; the built
 * editor copy (resources/noojee-extensions.js) is that same code; the shortened list labels of the editor.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import fc from "fast-check";
import {
  changeExtensions,
  checkExtensionList,
  describeProblem,
  InvalidExtensionsError,
  MAX_EXTENSIONS,
  MAX_RANGE,
  parseExtensionInput,
  parseExtensionList,
} from "../../nodes/lib/input/extensions";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const read = (...parts: string[]): string => fs.readFileSync(path.join(root, ...parts), "utf8");

interface EditorGlobals {
  NoojeeExtensions: { checkExtensionList(v: unknown): unknown };
  NoojeeEditor: { shortList(list: unknown): string };
}

/** The editor's two shared scripts run as the editor page runs them (classic scripts, one global object). */
function editorScripts(): EditorGlobals {
  const context = vm.createContext({ RED: {}, $: () => undefined });
  vm.runInContext(read("resources", "noojee-extensions.js"), context);
  vm.runInContext(read("resources", "noojee-editor.js"), context);
  return context as unknown as EditorGlobals;
}

const problemOf = (input: unknown): string | undefined => {
  try {
    parseExtensionList(input);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof InvalidExtensionsError);
    return err.problem.key;
  }
};

describe("extension syntax: one parser for every node and the editor", () => {
  it("takes ranges, keeping the first number's width", () => {
    assert.deepEqual(parseExtensionList("400-403"), ["400", "401", "402", "403"]);
    assert.deepEqual(parseExtensionList("0098 - 0101"), ["0098", "0099", "0100", "0101"]);
    assert.deepEqual(parseExtensionList("400, 399-401, 7"), ["400", "399", "401", "7"]);
  });

  it("reads a technology prefix as the extension number (subscribe and presence watch by number)", () => {
    assert.deepEqual(parseExtensionList("SIP/400, PJSIP/401, IAX2/400, 402"), ["400", "401", "402"]);
    assert.deepEqual(parseExtensionList("SIP/400-402"), ["400", "401", "402"]);
    assert.deepEqual(parseExtensionInput(["SIP/410", 411, "412-413"]), ["410", "411", "412", "413"]);
  });

  it("refuses backwards and oversized ranges, and lists past the bound, naming the item", () => {
    assert.equal(problemOf("410-400"), "backwardsRange");
    assert.equal(parseExtensionList(`1-${MAX_RANGE}`).length, MAX_RANGE);
    assert.equal(problemOf(`1-${MAX_RANGE + 1}`), "rangeTooLarge");
    assert.equal(problemOf("1-999999999999999"), "rangeTooLarge");
    const ranges = Array.from({ length: MAX_EXTENSIONS / MAX_RANGE + 1 }, (_, i) => `${i * MAX_RANGE + 1}-${(i + 1) * MAX_RANGE}`);
    assert.equal(problemOf(ranges.slice(0, -1).join(",")), undefined);
    assert.equal(problemOf(ranges.join(",")), "tooMany");
    assert.equal(describeProblem({ key: "rangeTooLarge", item: "1-5000", max: MAX_RANGE }), `the range 1-5000 names more than ${MAX_RANGE} extensions`);
    const add = changeExtensions(parseExtensionList(ranges.slice(0, -1).join(",")), "add", "20000");
    assert.equal(add.ok, false);
    assert.equal(!add.ok && add.problem === "invalidExtensions" && add.detail.key, "tooMany");
  });

  it("a range names exactly the numbers from its first to its last (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: MAX_RANGE - 1 }), fc.boolean(), (first, span, tech) => {
        const list = parseExtensionList(`${tech ? "SIP/" : ""}${first}-${first + span}`);
        assert.equal(list.length, span + 1);
        list.forEach((e, i) => assert.equal(e, String(first + i)));
      }),
    );
  });

  it("a parsed list written back out parses to itself (property)", () => {
    const item = fc.oneof(
      fc.integer({ min: 0, max: 99999 }).map(String),
      fc.tuple(fc.constantFrom("SIP", "PJSIP", "IAX2", "Local"), fc.integer({ min: 0, max: 99999 })).map(([t, n]) => `${t}/${n}`),
      fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 20 })).map(([n, s]) => `${n}-${n + s}`),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 20 }), (items) => {
        const list = parseExtensionList(items.join(" , "));
        assert.equal(new Set(list).size, list.length);
        assert.deepEqual(parseExtensionList(list.join(",")), list);
      }),
    );
  });

  it("the editor's copy is this parser: same answer for any text (property)", () => {
    const editor = editorScripts().NoojeeExtensions;
    const text = fc.stringMatching(/^[0-9A-Za-z/ ,-]{0,30}$/);
    fc.assert(
      fc.property(text, (v) => {
        // Compared as JSON: the vm's objects come from another realm.
        assert.equal(JSON.stringify(editor.checkExtensionList(v)), JSON.stringify(checkExtensionList(v)));
      }),
    );
    assert.equal(JSON.stringify(editor.checkExtensionList("SIP/400, 400-410")), "null");
  });
});

describe("editor labels of extension lists", () => {
  const { shortList } = editorScripts().NoojeeEditor;

  it("shows at most three items, then how many more", () => {
    assert.equal(shortList("400"), "400");
    assert.equal(shortList("400,401, 402"), "400, 401, 402");
    assert.equal(shortList("400, 401, 402, 403, 404"), "400, 401, 402, \u2026 +2");
    assert.equal(shortList("400-410, SIP/420"), "400-410, SIP/420");
  });

  it("stays short for 2,000 extensions and for one very long item", () => {
    const many = Array.from({ length: 2000 }, (_, i) => String(1000 + i)).join(", ");
    assert.equal(shortList(many), "1000, 1001, 1002, \u2026 +1997");
    const long = shortList("4".repeat(12000));
    assert.ok(long.length <= 40, long);
    const wide = shortList(Array.from({ length: 2000 }, () => "PJSIP/123456789012345").join(","));
    assert.ok(wide.length <= 52, wide);
  });
});

describe("a hand-written flow's extension list given as a JSON number", () => {
  it("reads 400 as \"400\"; a fraction or a negative number is no extension", () => {
    const got: string[] = [];
    assert.equal(checkExtensionList(400, got), null);
    assert.deepEqual(got, ["400"]);
    assert.deepEqual(checkExtensionList(4.5), { key: "noExtension" });
    assert.deepEqual(checkExtensionList(-1), { key: "noExtension" });
  });
});
