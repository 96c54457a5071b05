/**
 * The editor files of the call-control nodes against the runtime: the rules the forms check are the runtime's,
 * every message key they use exists, the help has its sections, and the auto-answer presets are the catalogue's.
 * The rules shared by several forms live in resources/noojee-editor.js, which each node's .html loads first.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { AUTO_ANSWER_PRESETS, MAX_AUTO_ANSWER } from "../../nodes/lib/input/auto-answer";
import { DIAL_TEXT_MAX, NUMBER_PUNCTUATION, PHONE_NUMBER, TECH } from "../../nodes/lib/input/dial-input";
import { DIALABLE_EXTENSION } from "../../nodes/lib/input/extensions";
import { RECORD_TEXT_MAX } from "../../nodes/lib/input/record-input";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const read = (...parts: string[]): string => fs.readFileSync(path.join(root, ...parts), "utf8");
const SHARED = read("resources", "noojee-editor.js");
// Built from nodes/lib/input/extensions.ts by scripts/copy-assets.js.
const EXTENSIONS = read("resources", "noojee-extensions.js");
const EXTENSIONS_SRC = '<script src="resources/node-red-contrib-noojee/noojee-extensions.js"></script>';
const SHARED_SRC = '<script src="resources/node-red-contrib-noojee/noojee-editor.js"></script>';

type Catalogue = Record<string, unknown>;

/** The package's own palette colour: not Dashboard's teal (rgb(63, 173, 181), #3FADB5, which 1.1.0 shared). */
const PACKAGE_COLOUR = "#A78BD0";

function catalogue(type: string): Catalogue {
  return (JSON.parse(read("nodes", "locales", "en-US", `${type}.json`)) as Record<string, Catalogue>)[type];
}

function lookup(cat: Catalogue, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (typeof node === "object" && node !== null ? (node as Catalogue)[part] : undefined), cat);
}

/** `var NAME = /.../flags;` in an editor file or the shared editor script, as a RegExp. */
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

type Validate = (this: unknown, value: unknown, opt?: object) => boolean | string;
interface EditorDef {
  defaults: Record<string, { value: unknown; validate?: Validate }>;
  credentials?: Record<string, { validate?: Validate }>;
  label(this: Record<string, unknown>): string;
}

/**
 * Runs the shared editor script, then an editor file's script, with a stub RED (as the editor does: the file's
 * `<script src>` first) and returns what it registered; messages come back as "L:<key>".
 */
function registered(html: string): EditorDef {
  const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(script);
  assert.ok(html.indexOf(SHARED_SRC) !== -1 && html.indexOf(SHARED_SRC) < script.index, "the shared script is loaded first");
  let def: EditorDef | undefined;
  const translate = (key: string, values?: object): string => `L:${key}${values ? JSON.stringify(values) : ""}`;
  const RED = {
    _: translate,
    // noojee-config.html reads the API key's state of each config node as it is added (RED.events).
    events: { on: () => undefined },
    nodes: { registerType: (_type: string, d: EditorDef) => (def = d), getType: () => ({ _: translate }) },
  };
  if (!html.includes('data-template-name="noojee-config"')) {
    assert.ok(html.indexOf(EXTENSIONS_SRC) !== -1 && html.indexOf(EXTENSIONS_SRC) < script.index, "the extension syntax is loaded first");
  }
  const context = vm.createContext({ RED, $: () => undefined });
  vm.runInContext(SHARED, context);
  vm.runInContext(EXTENSIONS, context);
  vm.runInContext(script[1], context);
  assert.ok(def);
  return def;
}

/** Good and bad values of each validated property, per node type. */
const VALUES: Record<string, Record<string, { good: unknown[]; bad: unknown[] }>> = {
  "noojee-dial": {
    extension: { good: ["", undefined, "100", "SIP/100", "PJSIP/100 "], bad: ["10a", "SIP/", "100/SIP", 100] },
    tech: { good: ["SIP", "PJSIP", "IAX2", undefined, ""], bad: ["SIP/", "1SIP"] }, // "": the runtime's SIP, as missing
    number: { good: ["", undefined, "+61 2 9999 0000", "(02) 9999-0000", "*72#"], bad: ["call me", "++61", "1".repeat(33)] },
    autoAnswer: { good: ["", "Call-info:answer-after=0"], bad: ["a\nb", "x".repeat(201), 5] },
    callerId: { good: ["", "Sales <0299990000>"], bad: ["a\tb", "x".repeat(81), 5] },
    phoneCaption: { good: ["", "Jo & Co"], bad: ["x".repeat(81)] },
    tag: { good: ["", "a&b c"], bad: ["x".repeat(101), "a\u0000"] },
    monitored: { good: [true, false, undefined], bad: ["yes", 1] },
    record: { good: [true, false, undefined], bad: ["true"] },
  },
  "noojee-hangup": {
    by: { good: ["call", "extension", undefined], bad: ["all", ""] },
    extension: { good: ["", "410", "SIP/410"], bad: ["4 10", "SIP/"] },
  },
  "noojee-record": {
    action: { good: ["start", "stop", "msg", undefined], bad: ["pause", ""] },
    by: { good: ["call", "extension"], bad: ["leg"] },
    extension: { good: ["", "410", "SIP/410"], bad: ["x"] },
    tag: { good: ["", "Sales & support"], bad: ["x".repeat(101), "a\nb"] },
    agentLoginName: { good: ["", "jo.bloggs"], bad: ["x".repeat(65), "a\rb"] },
  },
};

describe("editor files of dial, hangup and record", () => {
  for (const type of TYPES) {
    describe(type, () => {
      const html = read("nodes", `${type}.html`);
      const cat = catalogue(type);

      it("registers the type literally, in the noojee category, with the package colour and icon", () => {
        assert.ok(html.includes(`RED.nodes.registerType('${type}', {`));
        assert.ok(html.includes("category: 'noojee'"));
        assert.ok(html.includes(`color: '${PACKAGE_COLOUR}'`));
        assert.ok(html.includes(`icon: "${type}.svg"`));
        assert.ok(html.includes(`data-template-name="${type}"`));
      });

      it("uses only message keys that exist in its catalogue", () => {
        const keys = new Set([...html.matchAll(new RegExp(`${type}\\.([A-Za-z][A-Za-z.]*[A-Za-z])`, "g"))].map((m) => m[1]));
        assert.ok(keys.size > 10);
        keys.delete("json"); // the comment naming the catalogue file
        keys.delete("svg"); // the icon's file name
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

      it("validates every property: true when good; a message from its catalogue with opt, false without", () => {
        const def = registered(html);
        // The PBX's validator (the config node's state) is the browser's to check: test/browser/pbx-warning.test.ts.
        const validated = Object.entries(def.defaults).filter(([name, d]) => d.validate && name !== "server").map(([name]) => name);
        assert.deepEqual(validated.sort(), Object.keys(VALUES[type]).sort(), "every property but name and server is validated");
        for (const [name, { good, bad }] of Object.entries(VALUES[type])) {
          const validate = def.defaults[name].validate!;
          assert.equal(validate.call({}, def.defaults[name].value, {}), true, `${name} default`);
          for (const v of good) assert.equal(validate.call({}, v, {}), true, `${name} ${JSON.stringify(v)}`);
          for (const v of bad) {
            assert.equal(validate.call({}, v), false, `${name} ${JSON.stringify(v)} without opt`);
            const message = validate.call({}, v, {});
            assert.equal(typeof message, "string", `${name} ${JSON.stringify(v)} with opt`);
            const key = /^L:([^{]+)/.exec(message as string)![1];
            assert.ok(key.startsWith(`${type}.validation.`), key);
            assert.equal(typeof lookup(cat, key.slice(type.length + 1)), "string", key);
          }
        }
        assert.equal(def.label.call({ name: "mine" }), "mine");
        assert.match(def.label.call({}), new RegExp(`^L:${type}\\.label\\.node`));
      });

      it("checks extensions with the runtime's rule", () => {
        assert.ok(EXTENSIONS.includes(`exports.DIALABLE_EXTENSION = ${String(DIALABLE_EXTENSION)};`), "the built syntax is the runtime's");
        assert.match(html, /extension: \{ [^}]*validate: form\.extension\(\) \}/);
      });
    });
  }

  it("dial: the number, technology and text rules are the runtime's", () => {
    const html = read("nodes", "noojee-dial.html");
    assert.equal(regexIn(SHARED, "PHONE_NUMBER").source, PHONE_NUMBER.source);
    assert.equal(regexIn(SHARED, "TECH").source, TECH.source);
    const punctuation = regexIn(SHARED, "NUMBER_PUNCTUATION");
    assert.equal(punctuation.source, NUMBER_PUNCTUATION.source);
    assert.equal(punctuation.flags, NUMBER_PUNCTUATION.flags);
    assert.deepEqual(valueIn(html, "TEXT_MAX"), DIAL_TEXT_MAX);
    assert.equal(valueIn(SHARED, "AUTO_ANSWER_MAX"), MAX_AUTO_ANSWER);
  });

  it("record: the text limits are the runtime's", () => {
    assert.deepEqual(valueIn(read("nodes", "noojee-record.html"), "TEXT_MAX"), RECORD_TEXT_MAX);
  });

  it("the editors' control-character rule matches the runtime's \\p{Cc}", () => {
    const control = regexIn(SHARED, "CONTROL");
    for (let c = 0; c < 0x3000; c++) {
      const ch = String.fromCharCode(c);
      assert.equal(control.test(ch), /\p{Cc}/u.test(ch), `U+${c.toString(16)}`);
    }
  });

  it("answer and dial offer exactly the auto-answer catalogue, each preset with a label", () => {
    assert.deepEqual(presetsIn(SHARED), AUTO_ANSWER_PRESETS);
    for (const [type, field] of [["noojee-answer", "answerString"], ["noojee-dial", "autoAnswer"]]) {
      assert.ok(read("nodes", `${type}.html`).includes(`form.presetPicker("${field}", this.${field});`), `${type} uses the preset picker`);
      for (const id of [...AUTO_ANSWER_PRESETS.map((p) => p.id), "custom"]) {
        assert.equal(typeof lookup(catalogue(type), `preset.${id}`), "string", `${type} preset.${id}`);
      }
    }
  });
});

/** Good values, and bad ones with the key of the message each gets, for the forms of answer, subscribe and config. */
const MESSAGES: Record<string, Record<string, { good: unknown[]; bad: Array<[unknown, string]> }>> = {
  "noojee-answer": {
    extension: { good: ["", undefined, "101", "SIP/101", "SIP/101 ", " 101"], bad: [["4a0", "validation.extension"], ["SIP/ 101", "validation.extension"]] },
    answerString: {
      good: ["", undefined, "Call-info:answer-after=0", "x".repeat(200)],
      bad: [[5, "validation.answerStringType"], ["a\nb", "validation.answerStringLine"], ["x".repeat(201), "validation.answerStringLength"]],
    },
  },
  "noojee-subscribe": {
    extensions: {
      good: ["410", "400, 410", " 400 ,410 ", "SIP/400", "400-410, PJSIP/420"],
      bad: [
        ["", "error.invalidExtensions"], ["4a0", "error.invalidExtensions"], ["400,,410", "error.invalidExtensions"],
        [undefined, "error.invalidExtensions"], ["410-400", "error.invalidExtensions"], ["1-5000", "error.invalidExtensions"],
      ],
    },
    timeout: { good: [1, 30, "120", " 5 ", ""], bad: [[0, "validation.timeout"], [121, "validation.timeout"], ["1.5", "validation.timeout"]] }, // "": 30
    outputMode: { good: [undefined, "events", "byKind", "summaries", "both"], bad: [["all", "validation.outputMode"], ["", "validation.outputMode"]] },
  },
  "noojee-presence": {
    extensions: {
      good: ["410", "400, 410", " 400 ,410 ", "SIP/400", "400-410, PJSIP/420"],
      bad: [
        ["", "error.invalidExtensions"], ["4a0", "error.invalidExtensions"], ["400,,410", "error.invalidExtensions"],
        [undefined, "error.invalidExtensions"], ["410-400", "error.invalidExtensions"], ["1-5000", "error.invalidExtensions"],
      ],
    },
    queryOutput: { good: [undefined, "each", "all"], bad: [["some", "validation.queryOutput"]] },
    contextScope: { good: [undefined, "", "flow", "global"], bad: [["node", "validation.contextScope"]] },
    contextStore: { good: [undefined, "", "file"], bad: [] },
  },
  "noojee-config": {
    host: {
      good: ["pbx.example.com", "pbx.example.com:8443", "https://pbx.example.com/", "http://127.0.0.1:8080", "[::1]:8443", "${PBX_HOST}"],
      bad: [["", "validation.invalidHost"], ["pbx.example.com/x", "validation.invalidHost"], ["pbx example.com", "validation.invalidHost"], ["ftp://pbx", "validation.invalidHost"], ["pbx:70000", "validation.invalidHost"]],
    },
    verifyTls: { good: [true, false, undefined], bad: [["yes", "validation.verifyTls"]] },
    authMode: { good: [undefined, "apiKey", "timestamp"], bad: [["basic", "validation.authMode"], ["", "validation.authMode"]] },
    apiKey: { good: ["abc", "a-b_c.1"], bad: [["", "validation.apiKey"], ["a b", "validation.apiKey"], [undefined, "validation.apiKey"]] },
    country: { good: [undefined, "", "AU", "gb", " US ", "DE"], bad: [["XX", "validation.country"], ["AUS", "validation.country"], [5, "validation.country"]] },
    phonebookContext: { good: [undefined, "", "phonebook", "#:(file)::people.list"], bad: [[" x", "validation.phonebookContext"], ["a\nb", "validation.phonebookContext"]] },
    phonebookContextType: { good: [undefined, "flow", "global"], bad: [["msg", "validation.phonebookContext"]] },
    phonebookFile: { good: [undefined, "", "/data/book.csv", "book.JSON"], bad: [["book.txt", "validation.phonebookFile"], ["a\n.csv", "validation.phonebookFile"]] },
  },
};

describe("editor files of answer, subscribe and config", () => {
  it("the shared editor script is shipped: package.json files lists resources/", () => {
    const pkg = JSON.parse(read("package.json")) as { files: string[] };
    assert.ok(pkg.files.includes("resources/"), JSON.stringify(pkg.files));
  });

  for (const [type, fields] of Object.entries(MESSAGES)) {
    it(`${type}: every validator passes good values and names the catalogue's message for bad ones`, () => {
      const def = registered(read("nodes", `${type}.html`));
      const cat = catalogue(type);
      for (const [name, { good, bad }] of Object.entries(fields)) {
        const validate = (def.defaults[name] ?? def.credentials?.[name])?.validate;
        assert.ok(validate, `${name} is validated`);
        for (const v of good) assert.equal(validate.call({}, v, {}), true, `${name} ${JSON.stringify(v)}`);
        for (const [v, key] of bad) {
          assert.equal(validate.call({}, v), false, `${name} ${JSON.stringify(v)} without opt`);
          const message: boolean | string = validate.call({}, v, {});
          assert.equal(/^L:([^{]+)/.exec(String(message))?.[1], `${type}.${key}`, `${name} ${JSON.stringify(v)} with opt`);
          assert.equal(typeof lookup(cat, key), "string", key);
        }
      }
    });
  }

  it("subscribe: the label of a node without a name comes from the catalogue", () => {
    const def = registered(read("nodes", "noojee-subscribe.html"));
    assert.equal(def.label.call({ extensions: "400, 410" }), 'L:noojee-subscribe.label.nodeWithExtensions{"extensions":"400, 410"}');
    assert.equal(lookup(catalogue("noojee-subscribe"), "label.nodeWithExtensions"), "noojee __extensions__");
    assert.equal(def.label.call({ name: "Reception", extensions: "410" }), "Reception");
    assert.equal(def.label.call({}), "L:noojee-subscribe.paletteLabel");
    // A long list is shortened, for presence too (the whole list stays in the dialog and the Info sidebar).
    const many = Array.from({ length: 2000 }, (_, i) => String(1000 + i)).join(",");
    const short = '{"extensions":"1000, 1001, 1002, \u2026 +1997"}';
    assert.equal(def.label.call({ extensions: many }), `L:noojee-subscribe.label.nodeWithExtensions${short}`);
    assert.equal(registered(read("nodes", "noojee-presence.html")).label.call({ extensions: many }), `L:noojee-presence.label.nodeWithExtensions${short}`);
  });

  it("presence: the label, the context variable's name when a context is chosen, and the stores settings.js lists", () => {
    const html = read("nodes", "noojee-presence.html");
    const def = registered(html);
    assert.equal(def.label.call({ extensions: "400, 410" }), 'L:noojee-presence.label.nodeWithExtensions{"extensions":"400, 410"}');
    assert.equal(lookup(catalogue("noojee-presence"), "paletteLabel"), "presence");
    const key = def.defaults.contextKey.validate!;
    for (const v of ["noojee.presence", "presence", "a_b.$c"]) assert.equal(key.call({ contextScope: "flow" }, v, {}), true, v);
    for (const v of ["", " ", "a..b", "1a", "a.b[0]"]) {
      assert.equal(key.call({ contextScope: "global" }, v), false, v);
      assert.equal(key.call({ contextScope: "global" }, v, {}), "L:noojee-presence.validation.contextKey", v);
    }
    assert.equal(key.call({ contextScope: "" }, "", {}), true, "no context: no name needed");
    assert.equal(typeof lookup(catalogue("noojee-presence"), "validation.contextKey"), "string");
    // With stores configured, only those are accepted.
    let presence: EditorDef | undefined;
    const translate = (k: string): string => `L:${k}`;
    const RED = {
      _: translate,
      settings: { context: { default: "memory", stores: ["memory", "file"] } },
      nodes: { registerType: (_type: string, d: EditorDef) => (presence = d), getType: () => ({ _: translate }) },
    };
    const context = vm.createContext({ RED, $: () => undefined });
    vm.runInContext(SHARED, context);
    vm.runInContext(EXTENSIONS, context);
    vm.runInContext(/<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1], context);
    const store = presence!.defaults.contextStore.validate!;
    for (const v of ["", "memory", "file"]) assert.equal(store.call({}, v, {}), true, v);
    assert.equal(store.call({}, "redis", {}), "L:noojee-presence.validation.contextStore");
    assert.equal(typeof lookup(catalogue("noojee-presence"), "validation.contextStore"), "string");
    for (const k of ["state.idle", "state.ringing", "state.dialing", "state.onCall", "status.one", "status.busy", "status.allIdle"]) {
      assert.equal(typeof lookup(catalogue("noojee-presence"), k), "string", k);
    }
  });
});
