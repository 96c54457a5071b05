/**
 * Every node the package declares is in the documents a newcomer reads first: a README section of its own, linked
 * from the Contents; package.json's description (the palette manager and npm show it); the configuration node's
 * help, which lists the nodes that share it. (Presence, added in 1.2.0, was missing from all three.)
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const read = (file: string): string => fs.readFileSync(path.join(root, file), "utf8");
const pkg = JSON.parse(read("package.json")) as { description: string; "node-red": { nodes: Record<string, string> } };
const NODES = Object.keys(pkg["node-red"].nodes).filter((t) => t !== "noojee-config").map((t) => t.replace(/^noojee-/, ""));
/** How the description names what each node does. */
const IN_DESCRIPTION: Record<string, RegExp> = {
  subscribe: /follow calls/,
  presence: /presence/,
  answer: /answer/,
  dial: /dial/,
  hangup: /hang up/,
  record: /record/,
};

describe("every node is in the README, the package description and the configuration node's help", () => {
  it("declares the six nodes this test knows", () => {
    assert.deepEqual([...NODES].sort(), Object.keys(IN_DESCRIPTION).sort());
  });

  for (const name of NODES) {
    it(`${name}: a README section linked from the Contents, the description, the config node's help`, () => {
      const readme = read("README.md");
      const heading = new RegExp(`^## ${name}: (.+)$`, "m").exec(readme);
      assert.ok(heading, `README has a "## ${name}: ..." section`);
      const anchor = `#${`${name}: ${heading[1]}`.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")}`;
      const contents = /^\*\*Contents:\*\*[\s\S]*?\n\n/m.exec(readme);
      assert.ok(contents, "README has its Contents");
      assert.ok(contents[0].includes(`[${name}](${anchor})`), `the Contents link ${anchor}`);
      assert.match(pkg.description, IN_DESCRIPTION[name]);
      const help = read("nodes/locales/en-US/noojee-config.html");
      const sharedBy = /shared by ([\s\S]*?)<\/p>/.exec(help);
      assert.ok(sharedBy, "the config help says which nodes share it");
      assert.ok(sharedBy[1].includes(`<code>${name}</code>`), `the config help names ${name}`);
    });
  }
});
