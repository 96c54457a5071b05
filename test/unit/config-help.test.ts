/**
 * The configuration node's help stays readable: each property is said in a few lines, and the details are in short
 * sections under headings (issue 25: 1,533 words of help, long tip boxes in the dialog). The dialog itself has one
 * tip, pointing to the help.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const root = path.join(__dirname, "..", "..", "..");
const help = fs.readFileSync(path.join(root, "nodes", "locales", "en-US", "noojee-config.html"), "utf8");
const form = fs.readFileSync(path.join(root, "nodes", "noojee-config.html"), "utf8");
const words = (html: string): number => html.replace(/<[^>]+>/g, " ").split(/\s+/).filter((w) => w !== "").length;

describe("config node help and dialog", () => {
  it("says each property in at most 65 words", () => {
    const props = [...help.matchAll(/<dt[^>]*>([\s\S]*?)<\/dt>\s*<dd>([\s\S]*?)<\/dd>/g)];
    assert.ok(props.length >= 10, `${props.length} properties`);
    for (const [, name, text] of props) assert.ok(words(text) <= 65, `${name.replace(/<[^>]+>/g, "").trim()}: ${words(text)} words`);
  });

  it("keeps each section under a heading within 360 words, with the details under h4 headings", () => {
    const sections = help.split(/<h[34]>/).slice(1);
    assert.ok(help.split("<h4>").length - 1 >= 5, "details behind headings");
    // The Properties list is held to the rule above, per property.
    for (const s of sections.filter((x) => !x.startsWith("Properties"))) {
      assert.ok(words(s) <= 360, `${s.slice(0, s.indexOf("<")).trim()}: ${words(s)} words`);
    }
  });

  it("has one tip box in the dialog (where the help is), the groups' explanations being in the help", () => {
    assert.equal(form.split('class="form-tips"').length - 1, 1);
    assert.match(form, /data-i18n="noojee-config\.tip\.help"/);
  });
});
