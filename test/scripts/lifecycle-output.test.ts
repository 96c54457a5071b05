/**
 * The scripts npm runs while packing or installing the package print nothing on stdout: `npm pack --json` and
 * `npm publish --json` print their JSON there, and release tools parse it. Each script runs as npm runs it (its
 * environment, in a copy of the repository's layout, so the real dist/ is left alone), with a stand-in `npm` where
 * the script would build.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../harness/node-red-process";

const LIFECYCLE = ["prepare", "prepack", "build:package"];

describe("lifecycle scripts print to stderr only", function () {
  let root: string;

  beforeEach(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-lifecycle-"));
    fs.mkdirSync(path.join(root, "scripts"));
    for (const script of ["prepare.js", "clean.js", "copy-assets.js"]) {
      fs.copyFileSync(path.join(REPO_ROOT, "scripts", script), path.join(root, "scripts", script));
    }
  });

  afterEach(function () {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Runs scripts/<script> in the copy as npm would run it: with npm's variables, from the package folder. */
  function run(script: string, args: string[], env: Record<string, string>): { stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [path.join(root, "scripts", script), ...args], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, npm_lifecycle_event: "prepare", INIT_CWD: root, ...env },
    });
    assert.equal(result.status, 0, result.stderr);
    return { stdout: result.stdout, stderr: result.stderr };
  }

  it("tests every script the pack lifecycle runs", function () {
    const scripts = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const run = LIFECYCLE.map((name) => scripts[name]).join(" && ");
    const files = [...run.matchAll(/node (scripts\/\S+)/g)].map((m) => m[1]).sort();
    assert.deepEqual([...new Set(files)], ["scripts/clean.js", "scripts/copy-assets.js", "scripts/prepare.js"],
      `a lifecycle script that this test does not run: ${run}`);
  });

  for (const command of ["pack", "publish"]) {
    it(`prepare during npm ${command}: nothing on stdout, its note on stderr`, function () {
      const { stdout, stderr } = run("prepare.js", [], { npm_command: command });
      assert.equal(stdout, "");
      assert.match(stderr, /built by prepack/);
    });
  }

  it("prepare in an install in the repository itself: nothing on stdout", function () {
    const { stdout, stderr } = run("prepare.js", [], { npm_command: "ci", INIT_CWD: path.join(root, "scripts") });
    assert.equal(stdout, "");
    assert.match(stderr, /nothing to build/);
  });

  it("prepare in an install from git: the build's own output goes to stderr too", function () {
    // A stand-in npm that says something on stdout, as npm run's banner and a build do.
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "npm"), '#!/bin/sh\necho "stand-in npm $*"\necho ran > "$MARKER"\n', { mode: 0o755 });
    const marker = path.join(root, "built");
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-lifecycle-user-"));
    try {
      const { stdout, stderr } = run("prepare.js", [], {
        npm_command: "install", INIT_CWD: elsewhere, MARKER: marker, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
      });
      assert.ok(fs.existsSync(marker), "the build ran");
      assert.equal(stdout, "");
      assert.match(stderr, /building the package for an install from git/);
      assert.match(stderr, /stand-in npm run build:package/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("clean and copy-assets (prepack's build:package): nothing on stdout", function () {
    fs.mkdirSync(path.join(root, "nodes", "locales", "en-US"), { recursive: true });
    fs.writeFileSync(path.join(root, "nodes", "noojee-x.html"), "<p></p>");
    fs.writeFileSync(path.join(root, "nodes", "locales", "en-US", "noojee-x.json"), "{}");
    fs.mkdirSync(path.join(root, "icons"));
    fs.writeFileSync(path.join(root, "icons", "noojee.svg"), "<svg/>");
    fs.mkdirSync(path.join(root, "dist", "nodes"), { recursive: true });
    fs.mkdirSync(path.join(root, "dist", "sim"), { recursive: true });
    fs.writeFileSync(path.join(root, "dist", "nodes", "stale.js"), "");
    const env = { npm_command: "pack", npm_lifecycle_event: "build:package" };
    assert.equal(run("clean.js", ["dist/nodes", "dist/sim"], env).stdout, "");
    assert.ok(!fs.existsSync(path.join(root, "dist", "nodes", "stale.js")), "clean ran");
    fs.mkdirSync(path.join(root, "dist", "sim"), { recursive: true });
    fs.writeFileSync(path.join(root, "dist", "sim", "cli.js"), "");
    // What tsc compiled before it: the extension syntax, which copy-assets wraps for the dialogs.
    fs.mkdirSync(path.join(root, "dist", "nodes", "lib", "input"), { recursive: true });
    fs.writeFileSync(path.join(root, "dist", "nodes", "lib", "input", "extensions.js"), "exports.parse = () => [];\n");
    fs.mkdirSync(path.join(root, "resources"), { recursive: true });
    assert.equal(run("copy-assets.js", [], env).stdout, "");
    assert.ok(fs.existsSync(path.join(root, "dist", "nodes", "locales", "en-US", "noojee-x.json")), "copy-assets ran");
    assert.match(fs.readFileSync(path.join(root, "resources", "noojee-extensions.js"), "utf8"), /exports\.parse/);
  });
});
