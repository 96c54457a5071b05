#!/usr/bin/env node
// Checks a packed tarball against what Node-RED and npm will ask of it, before anyone installs it:
//   node scripts/check-tarball.js node-red-contrib-noojee-1.0.0.tgz
// Every path in "node-red".nodes with its editor .html and its locale files (for each language in nodes/locales),
// every icon an editor file names, every file under resources/ and examples/, every "bin" (executable), and every
// file a shipped .js requires. Nothing a user should not get: tests, fixtures, TypeScript sources, source maps.
// Each problem is printed with the file it names; exits 1 on any. Plain JavaScript on purpose: it runs before the build.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { builtinModules } = require("node:module");

const root = path.join(__dirname, "..");
const tarball = process.argv[2];
if (!tarball || !fs.existsSync(tarball)) {
  console.error("usage: node scripts/check-tarball.js <package.tgz>");
  process.exit(2);
}

// "-rwxr-xr-x 0/0 1234 1985-10-26 08:15 package/dist/sim/cli.js" → path → mode
const entries = new Map();
for (const line of execFileSync("tar", ["-tvzf", tarball], { encoding: "utf8" }).split("\n")) {
  const match = /^(\S+)\s+\S+\s+\d+\s+\S+\s+\S+\s+package\/(.+)$/.exec(line);
  if (match && !match[1].startsWith("d")) entries.set(match[2], match[1]);
}
const read = (file) => execFileSync("tar", ["-xzOf", tarball, `package/${file}`], { encoding: "utf8" });
const has = (file) => entries.has(file);

const problems = [];
const need = (file, why) => {
  if (!has(file)) problems.push(`missing ${file} (${why})`);
};

const pkg = JSON.parse(read("package.json"));
const nodes = (pkg["node-red"] && pkg["node-red"].nodes) || {};
if (Object.keys(nodes).length === 0) problems.push('package.json has no "node-red".nodes');

const languages = fs.readdirSync(path.join(root, "nodes", "locales"));
for (const [type, js] of Object.entries(nodes)) {
  need(js, `node-red.nodes["${type}"]`);
  const html = js.replace(/\.js$/, ".html");
  need(html, `editor file of ${type}`);
  const dir = path.posix.dirname(js);
  const base = path.posix.basename(js, ".js");
  for (const lang of languages) {
    for (const ext of [".json", ".html"]) {
      if (fs.existsSync(path.join(root, "nodes", "locales", lang, base + ext))) {
        need(`${dir}/locales/${lang}/${base}${ext}`, `${lang} catalogue of ${type}`);
      }
    }
  }
  if (has(html)) {
    const text = read(html);
    // Icons of our own (not Node-RED's font-awesome/ or core ones): Node-RED looks in icons/ beside the node's .js.
    for (const [, icon] of text.matchAll(/\bicon\s*:\s*["']([^"'/]+\.(?:svg|png))["']/g)) {
      need(`${dir}/icons/${icon}`, `icon of ${type}`);
    }
    for (const [, file] of text.matchAll(new RegExp(`src=["']resources/${pkg.name}/([^"']+)["']`, "g"))) {
      need(`resources/${file}`, `script loaded by ${html}`);
    }
  }
}

// Whole folders of the repository that ship as they are.
for (const folder of ["examples", "resources"]) {
  const full = path.join(root, folder);
  if (!fs.existsSync(full)) continue;
  for (const file of fs.readdirSync(full, { recursive: true })) {
    if (fs.statSync(path.join(full, file)).isFile()) need(`${folder}/${file.split(path.sep).join("/")}`, `${folder}/`);
  }
}

for (const [name, target] of Object.entries(pkg.bin || {})) {
  const file = target.replace(/^\.\//, "");
  need(file, `bin ${name}`);
  if (has(file) && !/^-..x/.test(entries.get(file))) problems.push(`${file} (bin ${name}) is not executable`);
}

// What shipped JavaScript requires: relative files must be in the tarball, packages in "dependencies".
const deps = new Set(Object.keys(pkg.dependencies || {}));
for (const file of entries.keys()) {
  if (!file.endsWith(".js")) continue;
  for (const [, spec] of read(file).matchAll(/\brequire\(["']([^"']+)["']\)/g)) {
    if (spec.startsWith(".")) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (![target, `${target}.js`, `${target}.json`, `${target}/index.js`].some(has)) {
        problems.push(`missing ${target}.js (required by ${file})`);
      }
    } else {
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
      if (!spec.startsWith("node:") && !builtinModules.includes(name) && !deps.has(name)) {
        problems.push(`${file} requires "${name}", which is not in "dependencies"`);
      }
    }
  }
}

// What must never ship.
for (const file of entries.keys()) {
  if (/(^|\/)test\/|(^|\/)fixtures\/|\.ts$|\.map$|\.tgz$|^scripts\/|^\.|\/\./.test(file) && !file.endsWith(".d.ts")) {
    problems.push(`ships ${file}, which users do not need`);
  }
}

const size = fs.statSync(tarball).size;
console.log(`check-tarball: ${path.basename(tarball)}: ${entries.size} files, ${(size / 1024).toFixed(1)} kB packed`);
if (problems.length > 0) {
  for (const p of problems) console.log(`check-tarball: FAIL: ${p}`);
  process.exit(1);
}
console.log(`check-tarball: OK: ${Object.keys(nodes).length} node types, their editor files, catalogues and icons, examples and bin`);
