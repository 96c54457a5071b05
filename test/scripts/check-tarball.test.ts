/**
 * scripts/check-tarball.js, the check CI runs on the one tarball before installing it: it passes the real tarball, and
 * names each file when a tarball lacks one or ships what users must not get.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { packPackage, REPO_ROOT } from "../harness/node-red-process";

const SCRIPT = path.join(REPO_ROOT, "scripts", "check-tarball.js");

function check(tarball: string): { code: number | null; output: string } {
  const run = spawnSync(process.execPath, [SCRIPT, tarball], { encoding: "utf8" });
  return { code: run.status, output: run.stdout + run.stderr };
}

describe("check-tarball: the packed package against package.json", function () {
  this.timeout(300_000);
  let tarball: string;
  let work: string;

  before(async function () {
    tarball = await packPackage();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-check-tarball-"));
  });

  after(function () {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** The tarball under test, unpacked, changed by `edit`, packed again. */
  function altered(name: string, edit: (pkgDir: string) => void): string {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    execFileSync("tar", ["-xzf", tarball, "-C", dir]);
    edit(path.join(dir, "package"));
    const out = path.join(work, `${name}.tgz`);
    execFileSync("tar", ["-czf", out, "-C", dir, "package"]);
    return out;
  }

  it("passes the tarball under test", function () {
    const { code, output } = check(tarball);
    assert.equal(code, 0, output);
    assert.match(output, /OK: 7 node types/);
  });

  it("names every missing file: catalogue, icon, required module, example, and a bin that is not executable", function () {
    const bad = altered("missing", (pkg) => {
      fs.rmSync(path.join(pkg, "dist/nodes/locales/en-US/noojee-dial.json"));
      fs.rmSync(path.join(pkg, "dist/nodes/icons/noojee-subscribe.svg"));
      fs.rmSync(path.join(pkg, "dist/nodes/lib/poll/backoff.js"));
      fs.rmSync(path.join(pkg, "examples/click-to-dial.json"));
      fs.chmodSync(path.join(pkg, "dist/sim/cli.js"), 0o644);
    });
    const { code, output } = check(bad);
    assert.equal(code, 1, output);
    assert.match(output, /missing dist\/nodes\/locales\/en-US\/noojee-dial\.json \(en-US catalogue of noojee-dial\)/);
    assert.match(output, /missing dist\/nodes\/icons\/noojee-subscribe\.svg \(icon of noojee-subscribe\)/);
    assert.match(output, /missing dist\/nodes\/lib\/poll\/backoff\.js \(required by dist\/nodes\/lib\/poll\/poll-loop\.js\)/);
    assert.match(output, /missing examples\/click-to-dial\.json/);
    assert.match(output, /dist\/sim\/cli\.js \(bin noojee-pbx-sim\) is not executable/);
  });

  it("names a node whose compiled file is missing, and what must never ship", function () {
    const bad = altered("extra", (pkg) => {
      fs.rmSync(path.join(pkg, "dist/nodes/noojee-hangup.js"));
      fs.mkdirSync(path.join(pkg, "dist/test"), { recursive: true });
      fs.writeFileSync(path.join(pkg, "dist/test/x.test.js"), "");
      fs.writeFileSync(path.join(pkg, "dist/nodes/noojee-config.js.map"), "{}");
    });
    const { code, output } = check(bad);
    assert.equal(code, 1, output);
    assert.match(output, /missing dist\/nodes\/noojee-hangup\.js \(node-red\.nodes\["noojee-hangup"\]\)/);
    assert.match(output, /ships dist\/test\/x\.test\.js/);
    assert.match(output, /ships dist\/nodes\/noojee-config\.js\.map/);
  });
});
