/** Which context stores of settings.js the config node takes for what (nodes/position-place.ts). */
import assert from "node:assert/strict";
import { storeModule, storesToClear } from "../../nodes/position-place";

describe("position place: the context stores of settings.js", () => {
  const settings = {
    contextStorage: {
      default: "disk", // an alias: the same store as "disk"
      disk: { module: "localfilesystem" },
      mem: { module: "memory" },
      custom: { module: { some: "plugin" } },
      broken: {},
    },
  };

  it("reads a store's module through an alias; a custom module is 'custom'; a store without one is none", () => {
    assert.equal(storeModule(settings, "disk"), "localfilesystem");
    assert.equal(storeModule(settings, "default"), "localfilesystem");
    assert.equal(storeModule(settings, "mem"), "memory");
    assert.equal(storeModule(settings, "custom"), "custom");
    assert.equal(storeModule(settings, "broken"), undefined);
    assert.equal(storeModule(settings, "nothere"), undefined);
    assert.equal(storeModule({}, "disk"), undefined);
  });

  it("forgets an old position in every other persistent store, never in the one in use under another name", () => {
    assert.deepEqual(storesToClear(settings, { kind: "context", store: "default" }), ["custom"], "default is disk");
    assert.deepEqual(storesToClear(settings, { kind: "context", store: "disk" }), ["custom"]);
    assert.deepEqual(storesToClear(settings, { kind: "file", file: "/x" }), ["disk", "custom"]);
    assert.deepEqual(storesToClear(settings, { kind: "off" }), ["disk", "custom"]);
    assert.deepEqual(storesToClear({}, { kind: "off" }), []);
  });
});
