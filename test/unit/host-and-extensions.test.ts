import assert from "node:assert/strict";
import { parseHost, InvalidHostError } from "../../nodes/lib/host";
import { parseExtensionList, InvalidExtensionsError } from "../../nodes/lib/extensions";

describe("parseHost", () => {
  const valid: Array<[string, string]> = [
    ["pbx.example.com", "https://pbx.example.com"],
    ["pbx.example.com:8443", "https://pbx.example.com:8443"],
    ["https://pbx.example.com", "https://pbx.example.com"],
    ["https://pbx.example.com/", "https://pbx.example.com"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["  PBX.Example.com  ", "https://pbx.example.com"],
    ["[::1]:8080", "https://[::1]:8080"],
  ];
  for (const [input, origin] of valid) {
    it(`accepts ${JSON.stringify(input)} as ${origin}`, () => assert.equal(parseHost(input), origin));
  }

  const invalid: Array<[string, RegExp]> = [
    ["", /empty/],
    ["pbx.example.com/servicemanager", /path/],
    ["pbx example.com", /space/],
    ["https://user:pw@pbx.example.com", /user name/],
    ["pbx.example.com?x=1", /query/],
    ["pbx.example.com:99999", /not a host/],
    ["ftp://pbx.example.com", /only http/],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseHost(input), (err: unknown) => err instanceof InvalidHostError && reason.test(err.reason));
    });
  }
});

describe("parseExtensionList", () => {
  it("splits, trims and removes duplicates in order", () => {
    assert.deepEqual(parseExtensionList(" 400, 410 ,400,  411"), ["400", "410", "411"]);
  });
  it("accepts a single extension", () => assert.deepEqual(parseExtensionList("7"), ["7"]));
  for (const bad of ["", "  ", "4a0", "400,,410", "400,", "SIP/400", "4".repeat(16)]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseExtensionList(bad), InvalidExtensionsError);
    });
  }
  it("rejects a non-string", () => assert.throws(() => parseExtensionList(400), InvalidExtensionsError));
});
