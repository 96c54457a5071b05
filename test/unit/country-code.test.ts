/** The Country setting as typed (nodes/lib/numbers/country-code.ts): accepted, or refused with the code probably meant. */
import assert from "node:assert/strict";
import { readCountry } from "../../nodes/lib/numbers/country-code";

describe("readCountry", () => {
  it("accepts ISO 3166 alpha-2 codes the library knows, in any case and with spaces around; empty is no country", () => {
    for (const [typed, code] of [["AU", "AU"], ["gb", "GB"], [" nz ", "NZ"], ["De", "DE"], ["", ""], ["  ", ""], [undefined, ""], [null, ""]]) {
      assert.deepEqual(readCountry(typed), { ok: true, code }, String(typed));
    }
  });

  it("names the code meant for common mistakes: other codes, names, calling codes", () => {
    const meant: Array<[string, string]> = [
      ["UK", "GB"], ["uk", "GB"], ["EN", "GB"], ["GBR", "GB"], ["United  Kingdom", "GB"], ["England", "GB"],
      ["USA", "US"], ["usa", "US"], ["AUS", "AU"], ["Australia", "AU"], ["NZL", "NZ"], ["New Zealand", "NZ"],
      ["GER", "DE"], ["DEU", "DE"], ["Germany", "DE"], ["EL", "GR"],
      ["+61", "AU"], ["61", "AU"], ["0061", "AU"], ["+44", "GB"], ["+1", "US"], ["+49", "DE"], ["64", "NZ"],
    ];
    for (const [typed, code] of meant) assert.deepEqual(readCountry(typed), { ok: false, suggestion: code }, typed);
  });

  it("refuses what it cannot place, without a suggestion", () => {
    for (const typed of ["XX", "ZZZ", "+999", "Atlantis", "A", 42]) assert.deepEqual(readCountry(typed), { ok: false }, String(typed));
  });
});
