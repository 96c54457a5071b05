/**
 * scripts/mocha-summary-reporter.js, the reporter of `npm test`, the matrix and the demo: after mocha's spec output it
 * names each failure on a line of its own and closes with "N passed, N failed". CI is often read by its last lines
 * only (.ci/run repeats the FAILED lines at its end), so a red run must say there which test failed and why.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../harness/node-red-process";

describe("mocha summary reporter", function () {
  let dir: string;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-reporter-"));
  });

  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function runMocha(spec: string): { status: number | null; lines: string[] } {
    const file = path.join(dir, "sample.test.js");
    fs.writeFileSync(file, spec);
    const mocha = path.join(REPO_ROOT, "node_modules", "mocha", "bin", "mocha.js");
    const reporter = path.join(REPO_ROOT, "scripts", "mocha-summary-reporter.js");
    const result = spawnSync(process.execPath, [mocha, "--no-config", "--reporter", reporter, file], { cwd: dir, encoding: "utf8" });
    return { status: result.status, lines: result.stdout.split("\n") };
  }

  it("ends with one FAILED line per failure (test and hook, first line of the reason) and the count", function () {
    const { status, lines } = runMocha(`
      const assert = require("node:assert/strict");
      describe("outer", function () {
        it("passes", function () {});
        it("fails", function () { assert.equal(1, 2, "one is not two\\nsecond line"); });
        it("skipped");
      });
      describe("with a hook", function () {
        before(function () { throw new Error("${"x".repeat(400)}"); });
        it("never runs", function () {});
      });
    `);
    assert.notEqual(status, 0);
    const tail = lines.filter((l) => l !== "").slice(-3);
    assert.equal(tail[0], "FAILED: outer fails: one is not two");
    assert.match(tail[1], /^FAILED: with a hook "before all" hook for "never runs": x{300}…$/);
    assert.equal(tail[2], "1 passed, 2 failed, 1 skipped");
  });

  it("prints no FAILED line when everything passed", function () {
    const { status, lines } = runMocha(`describe("s", function () { it("a", function () {}); });`);
    assert.equal(status, 0);
    assert.equal(lines.filter((l) => l.startsWith("FAILED")).length, 0);
    assert.equal(lines.filter((l) => l !== "").at(-1), "1 passed, 0 failed");
  });
});
