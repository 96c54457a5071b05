/**
 * The documentation's links: README.md, CONTRIBUTING.md and docs/*.md. Every relative link points to a file that
 * exists and every #anchor to a heading; the README (which npm ships and the Flows library renders, resolving relative
 * links against a `master` branch this repository does not have) links to other files only by absolute URL, and those
 * URLs into this repository name files and headings that exist. The README stays within the 400 lines of issue 11.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

// Compiled to dist/test/unit/, the sources stay in the repository root.
const root = path.join(__dirname, "..", "..", "..");
const README_MAX_LINES = 400;

const read = (file: string): string => fs.readFileSync(path.join(root, file), "utf8");
const isUrl = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** The repository's GitHub "owner/name", from package.json. */
function githubRepo(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { repository: { url: string } };
  const m = /github\.com\/([^/]+\/[^/]+?)(?:\.git)?$/.exec(pkg.repository.url);
  assert.ok(m, `package.json repository.url is not a GitHub URL: ${pkg.repository.url}`);
  return m[1];
}

/** The markdown files to check, relative to the root. */
function docFiles(): string[] {
  const docs = fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  return ["README.md", "CONTRIBUTING.md", ...docs];
}

/** The text outside fenced code blocks, line by line (code blocks hold example output, not links). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/**
 * GitHub's heading ids: lower case, everything but letters, digits, spaces, `-` and `_` dropped, spaces to `-`,
 * `-1`, `-2`... for repeats. Inline markup (`code`, **bold**, links) counts by its text.
 */
function headingIds(markdown: string): string[] {
  const ids: string[] = [];
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1].replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1");
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.push(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

/** Inline links and images, `[text](target "title")`, and reference definitions `[id]: target`. */
function linksIn(markdown: string): string[] {
  const links: string[] = [];
  for (const line of proseLines(markdown)) {
    const text = line.replace(/`[^`]*`/g, "``");
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push(m[1]);
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(text);
    if (def) links.push(def[1]);
  }
  return links;
}

/**
 * The file and anchor a URL names in this repository on the main branch; null when it names a file on another branch
 * (the Flows library's `master`, say); undefined for any other URL (other sites, this repository's issues...).
 */
function repoTarget(url: string, repo: string): { file: string; anchor: string } | null | undefined {
  const escaped = repo.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const m =
    new RegExp(`^https://github\\.com/${escaped}/(?:blob|tree)/([^/#?]+)/([^#?]*)(?:#(.*))?$`, "i").exec(url) ??
    new RegExp(`^https://raw\\.githubusercontent\\.com/${escaped}/([^/#?]+)/([^#?]*)()$`, "i").exec(url);
  if (!m) return undefined;
  return m[1] === "main" ? { file: decodeURIComponent(m[2]), anchor: m[3] ?? "" } : null;
}

/** Why a link to `file` (relative to the root) with `anchor` is broken, or undefined when it is fine. */
function brokenTarget(file: string, anchor: string): string | undefined {
  if (!fs.existsSync(path.join(root, file))) return `${file} does not exist`;
  if (anchor === "") return undefined;
  if (!file.endsWith(".md")) return `an anchor into ${file}, which is not markdown`;
  return headingIds(read(file)).includes(anchor) ? undefined : `${file} has no heading #${anchor}`;
}

describe("documentation links", () => {
  const repo = githubRepo();
  const files = docFiles();

  it("covers the README, CONTRIBUTING.md, docs/design.md and docs/performance.md", () => {
    for (const f of ["README.md", "CONTRIBUTING.md", "docs/design.md", "docs/performance.md"]) {
      assert.ok(files.includes(f) && fs.existsSync(path.join(root, f)), `${f} is missing`);
    }
  });

  it(`keeps the README within ${README_MAX_LINES} lines`, () => {
    const lines = read("README.md").replace(/\n$/, "").split("\n").length;
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
  });

  it("keeps the README's two commands at its top", () => {
    const top = read("README.md").split("\n").slice(0, 8).join("\n");
    assert.match(top, /^npm install && npm start\s+#/m);
    assert.match(top, /^npm test\s+#/m);
  });

  it("links from the README to other files only by absolute URL (the Flows library breaks relative ones)", () => {
    const relative = linksIn(read("README.md")).filter((target) => !isUrl(target) && !target.startsWith("#"));
    assert.deepEqual(relative, []);
  });

  it("links from the README to its own headings only when they are plain ASCII (the same id on GitHub and the Flows library)", () => {
    const readme = read("README.md");
    const ids = headingIds(readme);
    for (const target of linksIn(readme).filter((t) => t.startsWith("#"))) {
      const id = target.slice(1);
      assert.ok(ids.includes(id), `README.md: no heading #${id}`);
      assert.match(id, /^[a-z0-9_-]+$/, `README.md: #${id} is not plain ASCII`);
    }
  });

  it("has no broken relative link or anchor", () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const target of linksIn(read(file))) {
        if (isUrl(target)) continue;
        const [p, anchor = ""] = target.split("#");
        const resolved = p === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(p)));
        const why = brokenTarget(resolved, anchor);
        if (why) broken.push(`${file}: ${target}: ${why}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("has no broken absolute link into this repository", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const target of linksIn(read(file))) {
        const t = repoTarget(target, repo);
        if (t === undefined) continue;
        checked++;
        const why = t === null ? "not a file on the main branch" : brokenTarget(t.file, t.anchor);
        if (why) broken.push(`${file}: ${target}: ${why}`);
      }
    }
    assert.deepEqual(broken, []);
    assert.ok(checked >= 10, `only ${checked} links into the repository were found: is the URL pattern still right?`);
  });
});

// The checks above are only as good as the extraction: a few known cases.
describe("documentation link extraction", () => {
  it("finds inline links, images and definitions, but not links inside code", () => {
    const sample = '[a](x.md#y) ![b](https://e/c.png "t") `[no](skip.md)`\n```\n[no](fenced.md)\n```\n[d]: <z.md>';
    assert.deepEqual(linksIn(sample), ["x.md#y", "https://e/c.png", "z.md"]);
  });

  it("makes heading ids like GitHub, repeats numbered", () => {
    const sample = "# A `code` heading: [one](x.md)\n## Same\n```\n# not a heading\n```\n## Same\n### Try it: npm start";
    assert.deepEqual(headingIds(sample), ["a-code-heading-one", "same", "same-1", "try-it-npm-start"]);
  });

  it("maps URLs into the repository to files on main", () => {
    assert.deepEqual(repoTarget("https://github.com/o/r/blob/main/docs/design.md#the-poll-cursor", "o/r"), {
      file: "docs/design.md",
      anchor: "the-poll-cursor",
    });
    assert.deepEqual(repoTarget("https://raw.githubusercontent.com/o/r/main/docs/screenshots/palette.png", "o/r"), {
      file: "docs/screenshots/palette.png",
      anchor: "",
    });
    assert.equal(repoTarget("https://github.com/o/r/blob/master/README.md", "o/r"), null);
    assert.equal(repoTarget("https://github.com/o/other/blob/main/README.md", "o/r"), undefined);
    assert.equal(repoTarget("https://github.com/o/r/issues", "o/r"), undefined);
  });
});
