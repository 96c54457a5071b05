/**
 * Each node of the palette has its own icon (an SVG in icons/, 40x60, a white glyph like Node-RED's own) and the
 * package's colour, which is not Dashboard's teal.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const TYPES = ["noojee-subscribe", "noojee-presence", "noojee-answer", "noojee-dial", "noojee-hangup", "noojee-record"];
/** Node-RED Dashboard's node colour (rgb(63, 173, 181)), which 1.1.0's nodes shared. */
const DASHBOARD_TEAL = "#3FADB5";

describe("palette icons and colour", () => {
  const registered = TYPES.map((type) => {
    const html = fs.readFileSync(path.join(root, "nodes", `${type}.html`), "utf8");
    return {
      type,
      icon: /\n\s+icon: "([^"]+)",/.exec(html)?.[1],
      colour: /\n\s+color: '([^']+)',/.exec(html)?.[1],
      category: /\n\s+category: '([^']+)',/.exec(html)?.[1],
    };
  });

  it("gives every node an icon of its own, shipped in icons/ as a 40x60 white SVG glyph", () => {
    const icons = registered.map((r) => r.icon);
    assert.equal(new Set(icons).size, TYPES.length, JSON.stringify(icons));
    const contents = new Set<string>();
    for (const { type, icon } of registered) {
      assert.equal(icon, `${type}.svg`);
      const svg = fs.readFileSync(path.join(root, "icons", icon!), "utf8");
      assert.match(svg, /^<svg width="40" height="60" viewBox="0 0 40 60" xmlns="http:\/\/www\.w3\.org\/2000\/svg">/);
      assert.match(svg, /#fff/);
      contents.add(svg);
    }
    assert.equal(contents.size, TYPES.length, "no two icons are the same drawing");
  });

  it("uses one colour of the package's own, not Dashboard's teal, in the noojee category", () => {
    const colours = new Set(registered.map((r) => r.colour));
    assert.equal(colours.size, 1, JSON.stringify([...colours]));
    const [colour] = colours;
    assert.match(colour!, /^#[0-9A-F]{6}$/);
    assert.notEqual(colour!.toUpperCase(), DASHBOARD_TEAL);
    assert.deepEqual(new Set(registered.map((r) => r.category)), new Set(["noojee"]));
  });
});
