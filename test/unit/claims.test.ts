/**
 * What the package claims is what the version matrix proves: package.json's engines.node and node-red.version are the
 * floors of scripts/matrix.json (the pairs `npm run test:matrix` runs), and the README's Requirements list exactly
 * those pairs and floors. A change to one without the others fails here.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..", "..");
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), "utf8");

interface Matrix {
  installs: Record<string, string>;
  entries: Array<{ name: string; nodeRed: string; node: string; browser: boolean }>;
}
const pkg = JSON.parse(read("package.json")) as { version: string; engines: { node: string }; "node-red": { version: string } };
const matrix = JSON.parse(read("scripts/matrix.json")) as Matrix;

const versionOf = (install: string): string => {
  const spec = matrix.installs[install];
  assert.ok(spec, `scripts/matrix.json names install ${install} but does not define it`);
  return spec.slice(spec.lastIndexOf("@") + 1);
};
const compare = (a: string, b: string): number => {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};
const pairs = matrix.entries.map((e) => ({ name: e.name, nodeRed: versionOf(e.nodeRed), node: versionOf(e.node) }));
const oldest = (values: string[]): string => [...values].sort(compare)[0];

/** The README's "Requirements" section, up to the next heading of the same or a higher level. */
function requirementsSection(): string {
  const readme = read("README.md");
  const start = readme.search(/^#{2,3} Requirements\s*$/m);
  assert.ok(start >= 0, "README.md has a Requirements section");
  const level = /^(#+)/.exec(readme.slice(start))![1].length;
  const rest = readme.slice(start + level + 1);
  const end = rest.search(new RegExp(`^#{1,${level}} `, "m"));
  return end < 0 ? rest : rest.slice(0, end);
}

describe("claims: package.json, the README and the version matrix agree", function () {
  it("engines.node is the oldest Node.js of the matrix, and node-red.version its oldest Node-RED", function () {
    assert.equal(pkg.engines.node, `>=${oldest(pairs.map((p) => p.node))}`);
    assert.equal(pkg["node-red"].version, `>=${oldest(pairs.map((p) => p.nodeRed))}`);
  });

  it("the oldest pair is one the matrix runs, with the editor tests", function () {
    const floor = matrix.entries.find(
      (e) => versionOf(e.node) === oldest(pairs.map((p) => p.node)) && versionOf(e.nodeRed) === oldest(pairs.map((p) => p.nodeRed)),
    );
    assert.ok(floor, "no matrix entry runs the oldest Node-RED on the oldest Node.js");
    assert.ok(floor.browser, `${floor.name} should run the editor tests too`);
  });

  it("covers Node-RED 4.1 on Node.js 20, 22 and 24 and Node-RED 5.0 on 22 and 24", function () {
    const has = (nr: string, node: string): boolean =>
      pairs.some((p) => p.nodeRed.startsWith(`${nr}.`) && p.node.startsWith(`${node}.`));
    for (const node of ["20", "22", "24"]) assert.ok(has("4.1", node), `Node-RED 4.1 on Node.js ${node}`);
    for (const node of ["22", "24"]) assert.ok(has("5.0", node), `Node-RED 5.0 on Node.js ${node}`);
  });

  it("the README's Requirements state both floors and list every tested pair, one row each", function () {
    const section = requirementsSection();
    assert.ok(section.includes(`Node.js ${oldest(pairs.map((p) => p.node))} or later`), "Node.js floor in the README");
    assert.ok(section.includes(`Node-RED ${oldest(pairs.map((p) => p.nodeRed))} or later`), "Node-RED floor in the README");
    const rows = section.split("\n").filter((line) => /^\s*\|\s*\d/.test(line));
    const listed = rows.map((row) => row.split("|").map((c) => c.trim()).filter((c) => c !== ""));
    const expected = pairs.map((p) => [p.nodeRed, p.node]);
    assert.deepEqual(
      listed.map(([nr, node]) => `${nr} on ${node}`).sort(),
      expected.map(([nr, node]) => `${nr} on ${node}`).sort(),
      "README rows (Node-RED | Node.js) match scripts/matrix.json",
    );
  });

  it("CONTRIBUTING.md's Commands list every step .ci/run takes, and .ci/run runs the README's test command", function () {
    const ci = read(".ci/run");
    const steps = [...ci.matchAll(/^step (?!bash -c)(.+?)(?: \|\|.*)?$/gm)].map((m) => m[1].replace(/\s+"\$[A-Za-z_]+"$/, "").replace(/ --pack-destination.*$/, "").replace(/ --no-audit --no-fund$/, ""));
    assert.ok(steps.length >= 8, `steps found in .ci/run: ${JSON.stringify(steps)}`);
    const commands = read("CONTRIBUTING.md").split(/^## Commands\s*$/m)[1]?.split(/^## /m)[0] ?? "";
    const listed = [...commands.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]);
    for (const step of steps) {
      assert.ok(listed.some((command) => command.startsWith(step)), `CONTRIBUTING.md's Commands table lists \`${step}\``);
    }
    assert.ok(steps.includes("npm test"), ".ci/run runs npm test");
    assert.match(read("README.md"), /^npm test\b/m, "the README tells a new user to run npm test");
  });

  it(".ci/run waits for dpkg's lock at every apt-get, rather than failing when another apt process holds it", function () {
    const code = read(".ci/run").split("\n").filter((line) => !/^\s*#/.test(line)).join("\n");
    const calls = [...code.matchAll(/\bapt-get\b[^&|;'"]*/g)].map((m) => m[0].trim());
    assert.ok(calls.length >= 2, `apt-get update and install in .ci/run: ${JSON.stringify(calls)}`);
    for (const call of calls) assert.match(call, /^apt-get -o DPkg::Lock::Timeout=[1-9]\d* /, `${call}: waits for the lock`);
  });

  it("the CHANGELOG has an entry for the package's version", function () {
    assert.match(read("CHANGELOG.md"), new RegExp(`^## \\[${pkg.version.replace(/\./g, "\\.")}\\] - \\d{4}-\\d{2}-\\d{2}$`, "m"));
  });
});
