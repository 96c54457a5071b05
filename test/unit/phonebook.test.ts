/** Phonebook parsing and indexing (nodes/lib/numbers/phonebook.ts). */
import assert from "node:assert/strict";
import { CallerIdNormaliser } from "../../nodes/lib/numbers/caller-id";
import { phonebookFromJson, phonebookFromValue } from "../../nodes/lib/numbers/phonebook";
import { phonebookFromCsv } from "../../nodes/lib/numbers/phonebook";

const AU = new CallerIdNormaliser({ country: "AU" });
const kinds = (problems: Array<{ kind: string; where: string }>): string[] => problems.map((p) => `${p.kind} ${p.where}`);

describe("phonebook index", () => {
  it("an object number -> name: every written form of a number is one key", async () => {
    const book = await phonebookFromValue({ "+61 3 5550 1234": "Ann", "0412 345 678": { name: "Bob", company: "Acme" }, 400: "Reception" }, AU);
    assert.deepEqual([...book.entries.keys()].sort(), ["+61355501234", "+61412345678", "400"]);
    assert.deepEqual(book.entries.get("+61412345678"), { name: "Bob", contact: { number: "0412 345 678", name: "Bob", company: "Acme" } });
    assert.deepEqual(book.problems, []);
  });

  it("an object with its key list given (listed by the fingerprint): a key removed since is skipped, not read as empty", async () => {
    const value: Record<string, string> = { "0355501234": "Ann", "0412345678": "Bob" };
    const keys = Object.keys(value);
    delete value["0412345678"];
    const book = await phonebookFromValue(value, AU, "value", keys);
    assert.deepEqual([[...book.entries.keys()], book.problems], [["+61355501234"], []]);
  });

  it("an array of records keeps each record as the contact; fields in any case", async () => {
    const book = await phonebookFromValue([{ Number: "0355501234", Name: "Ann", email: "a@x" }], AU);
    assert.deepEqual(book.entries.get("+61355501234"), { name: "Ann", contact: { Number: "0355501234", Name: "Ann", email: "a@x" } });
  });

  it("bad records are skipped, each problem naming its record or key; the first name for a number stays", async () => {
    const book = await phonebookFromValue(
      [{ name: "No number" }, { number: "0355501234", name: "Ann" }, { number: "03 5550 1234", name: "Other" }, { number: "61355501234", name: "Ann" }, { number: "abc", name: "X" }, { number: "0412345678" }, "text"],
      AU,
    );
    assert.deepEqual(kinds(book.problems), ["noNumber record 0", "duplicate record 2", "badNumber record 4", "noName record 5", "badShape record 6"]);
    assert.equal(book.entries.get("+61355501234")?.name, "Ann");
    assert.equal(book.entries.size, 1);
    const byKey = await phonebookFromValue({ "": "Nobody", "0355501234": "" }, AU);
    assert.deepEqual(kinds(byKey.problems), ['noNumber key ""', 'noName key "0355501234"']);
    assert.deepEqual(kinds((await phonebookFromValue(42, AU)).problems), ["badShape value"]);
    assert.deepEqual((await phonebookFromValue(undefined, AU)).problems, []);
  });

  it("JSON text: either shape; a syntax error is one problem", async () => {
    assert.equal((await phonebookFromJson('{"0355501234":"Ann"}', AU)).entries.get("+61355501234")?.name, "Ann");
    assert.equal((await phonebookFromJson('[{"number":"0355501234","name":"Ann"}]', AU)).entries.size, 1);
    const bad = await phonebookFromJson('{"0355501234": "Ann",', AU);
    assert.deepEqual(kinds(bad.problems), ["badFile JSON, line 1"]);
    assert.deepEqual(kinds((await phonebookFromJson('"text"', AU)).problems), ["badShape JSON"]);
  });

  it("CSV: a header row, extra columns in the contact, problems by line", async () => {
    const text = "\uFEFFNumber,Name,Company\n+61 3 5550 1234,Ann Smith,Acme\n\n,No number,X\n0412 345 678,\"Bob, Jr\",\n0355501234,Someone else,Y\n";
    const book = await phonebookFromCsv({ text }, AU);
    assert.deepEqual(book.entries.get("+61355501234"), { name: "Ann Smith", contact: { Number: "+61 3 5550 1234", Name: "Ann Smith", Company: "Acme" } });
    assert.equal(book.entries.get("+61412345678")?.name, "Bob, Jr");
    assert.deepEqual(kinds(book.problems), ["noNumber line 4", "duplicate line 6"]);
  });

  it("CSV: a header without number and name is a whole-file problem; a broken quote is a problem of its line", async () => {
    assert.deepEqual(kinds((await phonebookFromCsv({ text: "phone,who\n0355501234,Ann\n" }, AU)).problems), ["noHeader line 1"]);
    const broken = await phonebookFromCsv({ text: 'number,name\n0355501234,Ann\n0412345678,"Bob\n' }, AU);
    assert.deepEqual(kinds(broken.problems), ["unclosedQuote line 3"]);
    assert.equal(broken.entries.size, 1);
  });
});
