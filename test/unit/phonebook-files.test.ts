/**
 * Phonebook files as people write them (issue 24, items 7, 9, 13): stray quotes, BOMs, UTF-16, other delimiters,
 * and a large JSON file read in pieces.
 */
import assert from "node:assert/strict";
import { CallerIdNormaliser } from "../../nodes/lib/numbers/caller-id";
import { decodeText, phonebookFromCsv, phonebookFromJson, phonebookFromValue } from "../../nodes/lib/numbers/phonebook";

const AU = new CallerIdNormaliser({ country: "AU" });
const kinds = (problems: Array<{ kind: string; where: string }>): string[] => problems.map((p) => `${p.kind} ${p.where}`);
const mobile = (i: number): string => `04${String(10_000_000 + i).slice(-8)}`;

describe("phonebook files", () => {
  it("CSV: a quote inside an unquoted field is text; the rest of the file is indexed", async () => {
    const lines = ["number,name"];
    for (let i = 0; i < 50; i++) lines.push(`${mobile(i)},Person ${i}`);
    lines.splice(20, 0, '0355501234,Bob "Bobby" Smith');
    const book = await phonebookFromCsv({ text: `${lines.join("\n")}\n` }, AU);
    assert.deepEqual(book.problems, []);
    assert.equal(book.entries.size, 51);
    assert.equal(book.entries.get("+61355501234")?.name, 'Bob "Bobby" Smith');
    assert.equal(book.entries.get("+61410000049")?.name, "Person 49");
  });

  it("CSV: an unclosed quote or text after a closing quote skips that line only, reported by its number", async () => {
    const text = [
      "number,name,company",
      `${mobile(1)},Ann,Acme`,
      `${mobile(2)},"Bob,Acme`,
      `${mobile(3)},Carl,"Widgets, Inc"`,
      `${mobile(4)},"Dan" Jr,x`,
      `${mobile(5)},Eve,"two`,
      `lines"`,
      `${mobile(6)},"Fay`,
    ].join("\r\n");
    const book = await phonebookFromCsv({ text }, AU);
    assert.deepEqual(kinds(book.problems), ["unclosedQuote line 3", "textAfterQuote line 5", "unclosedQuote line 8"]);
    assert.deepEqual([...book.entries.values()].map((e) => e.name), ["Ann", "Carl", "Eve"]);
    assert.equal(book.entries.get("+61410000003")?.contact.company, "Widgets, Inc");
    assert.equal(book.entries.get("+61410000005")?.contact.company, "two\r\nlines");
  });

  it("CSV: an unclosed quote that pairs with a quote lines later does not swallow the lines between", async () => {
    const text = ["number,name", `${mobile(1)},"Ann`, `${mobile(2)},Bob`, `${mobile(3)},", Carl"`, `${mobile(4)},Dan`, ""].join("\n");
    const book = await phonebookFromCsv({ text }, AU);
    assert.deepEqual([...book.entries.values()].map((e) => e.name), ["Bob", ", Carl", "Dan"]);
    assert.deepEqual(kinds(book.problems), ["unclosedQuote line 2"]);
  });

  it("CSV: semicolon or tab delimited, CR-only line ends, UTF-16 with a BOM", async () => {
    // Blank lines before the header too (outside review of issue 24: the delimiter was read from the blank line).
    for (const text of ["number;name\n0355501234;Smith, Ann\n", "number\tname\r0355501234\tSmith, Ann\r", "\n \r\nnumber;name\n0355501234;Smith, Ann\n", "\r\rnumber\tname\r0355501234\tSmith, Ann\r"]) {
      const book = await phonebookFromCsv({ text }, AU);
      assert.equal(book.entries.get("+61355501234")?.name, "Smith, Ann", JSON.stringify(text));
    }
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("number,name\r\n0355501234,Zoë\r\n", "utf16le")]);
    assert.equal((await phonebookFromCsv({ text: decodeText(utf16) }, AU)).entries.get("+61355501234")?.name, "Zoë");
    const be = Buffer.from(Buffer.from("number,name\n0355501234,Zoë\n", "utf16le")).swap16();
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), "number,name\n0355501234,Zoë\n");
  });

  it("CSV: an empty file, or one without its header, is a noHeader problem and no entries", async () => {
    for (const text of ["", "\n\n", "0355501234,Ann\n"]) {
      const book = await phonebookFromCsv({ text }, AU);
      assert.deepEqual(kinds(book.problems), ["noHeader line 1"], JSON.stringify(text));
      assert.equal(book.entries.size, 0);
    }
  });

  it("CSV: a last line without a line break is read like any other (a file still being written is caller-info's to tell)", async () => {
    const bad = await phonebookFromCsv({ text: `number,name\n${mobile(1)},Ann\n${mobile(2)}` }, AU);
    assert.deepEqual([bad.entries.size, kinds(bad.problems)], [1, ["noName line 3"]]);
    const whole = await phonebookFromCsv({ text: `number,name\n${mobile(1)},Ann\n${mobile(2)},Bob` }, AU);
    assert.deepEqual([whole.entries.size, whole.problems], [2, []]);
  });

  it("JSON: a UTF-8 BOM (Notepad, PowerShell) is read, from text and from bytes", async () => {
    const json = JSON.stringify({ "0355501234": "Ann" });
    assert.equal((await phonebookFromJson(`\uFEFF${json}`, AU)).entries.get("+61355501234")?.name, "Ann");
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]);
    assert.equal((await phonebookFromJson(decodeText(bytes), AU)).entries.size, 1);
  });

  it("JSON: a large file is parsed in pieces of at most about 64 kB, with the same result as one JSON.parse", async function () {
    this.timeout(20_000);
    const records = Array.from({ length: 6000 }, (_, i) => ({ number: mobile(i), name: `Person "${i}" \\ ]}`, tags: [i, { x: "[{" }] }));
    const object = Object.fromEntries(records.map((r) => [r.number, { name: r.name, tags: r.tags }]));
    const parse = JSON.parse;
    let longest = 0;
    JSON.parse = ((text: string, reviver?: never) => {
      longest = Math.max(longest, text.length);
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      for (const value of [records, object]) {
        longest = 0;
        const text = JSON.stringify(value, null, 1);
        const book = await phonebookFromJson(text, AU);
        assert.ok(text.length > 500_000 && longest < 80_000, `longest piece ${longest} of ${text.length}`);
        const whole = await phonebookFromValue(parse(text), AU);
        assert.deepEqual(book.entries, whole.entries);
        assert.deepEqual(book.problems, []);
      }
    } finally {
      JSON.parse = parse;
    }
  });

  it("JSON: a syntax error anywhere is one badFile problem naming its line; other shapes as before", async () => {
    const text = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ number: mobile(i), name: `P${i}` })), null, 1);
    const broken = text.replace(`"P4000"`, `"P4000",`);
    const book = await phonebookFromJson(broken, AU);
    assert.equal(book.entries.size, 0);
    const line = broken.slice(0, broken.indexOf(`"P4000",`)).split("\n").length;
    assert.deepEqual(kinds(book.problems), [`badFile JSON, line ${line + 1}`]);
    assert.equal((await phonebookFromJson(text.slice(0, text.length / 2), AU)).problems[0].kind, "badFile");
    assert.equal((await phonebookFromJson(`${text} x`, AU)).problems[0].kind, "badFile");
    assert.equal((await phonebookFromJson("[1,]", AU)).problems[0].kind, "badFile");
    assert.deepEqual(kinds((await phonebookFromJson("null", AU)).problems), ["badShape JSON"]);
    assert.deepEqual(await phonebookFromJson(" [ ] ", AU), { entries: new Map(), problems: [] });
  });
});
