/**
 * The editor files of the call-control nodes against the runtime: the rules the forms check are the runtime's,
 * every message key they use exists, the help has its sections, and the auto-answer presets are the catalogue's.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { AUTO_ANSWER_PRESETS, MAX_AUTO_ANSWER } from "../../nodes/lib/auto-answer";
import { DIAL_TEXT_MAX, NUMBER_PUNCTUATION, PHONE_NUMBER, TECH } from "../../nodes/lib/dial-input";
import { DIALABLE_EXTENSION } from "../../nodes/lib/extensions";
import { RECORD_TEXT_MAX } from "../../nodes/lib/record-input";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const read = (...parts: string[]): string => fs.readFileSync(path.join(root, ...parts), "utf8");

type Catalogue = Record<string, unknown>;

function catalogue(type: string): Catalogue {
  return (JSON.parse(read("nodes", "locales", "en-US", `${type}.json`)) as Record<string, Catalogue>)[type];
}

function lookup(cat: Catalogue, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (typeof node === "object" && node !== null ? (node as Catalogue)[part] : undefined), cat);
}

/** `var NAME = /.../flags;` in an editor file, as a RegExp. */
function regexIn(html: string, name: string): RegExp {
  const m = new RegExp(`var ${name} = /(.+)/([a-z]*);`).exec(html);
  assert.ok(m, `${name} not found`);
  return new RegExp(m[1], m[2]);
}

/** `var NAME = <JSON-ish literal>;` in an editor file. */
function valueIn(html: string, name: string): unknown {
  const m = new RegExp(`var ${name} = ([^;]+);`).exec(html);
  assert.ok(m, `${name} not found`);
  return JSON.parse(m[1].replace(/([{,]\s*)([A-Za-z]+):/g, '$1"$2":'));
}

/** The `{ id: "...", value: "..." }` entries of `var PRESETS = [...]`. */
function presetsIn(html: string): Array<{ id: string; value: string }> {
  const block = /var PRESETS = \[([\s\S]*?)\];/.exec(html);
  assert.ok(block, "PRESETS not found");
  return [...block[1].matchAll(/\{ id: ("[^"]*"), value: ("(?:[^"\\]|\\.)*") \}/g)].map((m) => ({
    id: JSON.parse(m[1]) as string,
    value: JSON.parse(m[2]) as string,
  }));
}

const TYPES = ["noojee-dial", "noojee-hangup", "noojee-record"];

describe("editor files of dial, hangup and record", () => {
  for (const type of TYPES) {
    describe(type, () => {
      const html = read("nodes", `${type}.html`);
      const cat = catalogue(type);

      it("registers the type literally, in the noojee category, with the package colour and icon", () => {
        assert.ok(html.includes(`RED.nodes.registerType('${type}', {`));
        assert.ok(html.includes("category: 'noojee'"));
        assert.ok(html.includes("color: '#3FADB5'"));
        assert.ok(html.includes('icon: "noojee.svg"'));
        assert.ok(html.includes(`data-template-name="${type}"`));
      });

      it("uses only message keys that exist in its catalogue", () => {
        const keys = new Set([...html.matchAll(new RegExp(`${type}\\.([A-Za-z][A-Za-z.]*[A-Za-z])`, "g"))].map((m) => m[1]));
        assert.ok(keys.size > 10);
        keys.delete("json"); // the comment naming the catalogue file
        for (const key of keys) {
          // Prefixes of keys built at run time ("validation." + name) are objects.
          assert.notEqual(lookup(cat, key), undefined, `${type}.${key}`);
        }
        for (const field of [...html.matchAll(/id="node-input-([A-Za-z]+)"/g)].map((m) => m[1])) {
          if (field === "server" || field === "name") continue;
          if (lookup(cat, `validation.${field}`) === undefined) {
            // Fields whose rule has several messages (autoAnswerType, ...) or none (a select of fixed options).
            assert.ok(/by|action|autoAnswer/.test(field), `no validation message for ${field}`);
          }
        }
      });

      it("has help with Inputs, Outputs and Details", () => {
        const help = read("nodes", "locales", "en-US", `${type}.html`);
        assert.ok(help.includes(`data-help-name="${type}"`));
        for (const section of ["<h3>Inputs</h3>", "<h3>Outputs</h3>", "<h3>Details</h3>"]) assert.ok(help.includes(section), section);
      });

      it("has every status and error text the runtime uses", () => {
        for (const key of ["status.failed", "status.notConfigured", "error.noServer", "error.rejected", "error.requestFailed"]) {
          assert.equal(typeof lookup(cat, key), "string", key);
        }
      });

      it("checks extensions with the runtime's rule", () => {
        assert.equal(regexIn(html, "DIALABLE_EXTENSION").source, DIALABLE_EXTENSION.source);
      });
    });
  }

  it("dial: the number, technology and text rules are the runtime's", () => {
    const html = read("nodes", "noojee-dial.html");
    assert.equal(regexIn(html, "PHONE_NUMBER").source, PHONE_NUMBER.source);
    assert.equal(regexIn(html, "TECH").source, TECH.source);
    const punctuation = regexIn(html, "NUMBER_PUNCTUATION");
    assert.equal(punctuation.source, NUMBER_PUNCTUATION.source);
    assert.equal(punctuation.flags, NUMBER_PUNCTUATION.flags);
    assert.deepEqual(valueIn(html, "TEXT_MAX"), DIAL_TEXT_MAX);
    assert.equal(valueIn(html, "AUTO_ANSWER_MAX"), MAX_AUTO_ANSWER);
  });

  it("record: the text limits are the runtime's", () => {
    assert.deepEqual(valueIn(read("nodes", "noojee-record.html"), "TEXT_MAX"), RECORD_TEXT_MAX);
  });

  it("the editors' control-character rule matches the runtime's \\p{Cc}", () => {
    for (const type of ["noojee-dial", "noojee-record"]) {
      const control = regexIn(read("nodes", `${type}.html`), "CONTROL");
      for (let c = 0; c < 0x3000; c++) {
        const ch = String.fromCharCode(c);
        assert.equal(control.test(ch), /\p{Cc}/u.test(ch), `${type} U+${c.toString(16)}`);
      }
    }
  });

  it("answer and dial offer exactly the auto-answer catalogue, each preset with a label", () => {
    for (const type of ["noojee-answer", "noojee-dial"]) {
      assert.deepEqual(presetsIn(read("nodes", `${type}.html`)), AUTO_ANSWER_PRESETS, type);
      for (const id of [...AUTO_ANSWER_PRESETS.map((p) => p.id), "custom"]) {
        assert.equal(typeof lookup(catalogue(type), `preset.${id}`), "string", `${type} preset.${id}`);
      }
    }
  });
});
