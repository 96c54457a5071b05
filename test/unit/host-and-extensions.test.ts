import assert from "node:assert/strict";
import { parseHost, InvalidHostError, maskUserinfo } from "../../nodes/lib/client/host";
import { changeExtensions, parseExtensionList, InvalidExtensionsError } from "../../nodes/lib/input/extensions";

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

describe("InvalidHostError: a user name and password typed into the Host field are masked", () => {
  const cases: Array<[string, string]> = [
    ["https://admin:pw-9@pbx.example.com", "https://***@pbx.example.com"],
    ["admin:pw-9@pbx.example.com:8443", "***@pbx.example.com:8443"],
    ["http://admin:p/w-9@pbx.example.com", "http://***@pbx.example.com"], // a "/" in the password
    ["https://admin:p w-9@pbx.example.com", "https://***@pbx.example.com"], // a space: rejected before parsing
    ["https://a@b:pw-9@pbx.example.com", "https://***@pbx.example.com"],
    ["pbx.example.com", "pbx.example.com"],
  ];
  for (const [input, shown] of cases) {
    it(`shows ${JSON.stringify(input)} as ${JSON.stringify(shown)}`, () => {
      assert.equal(maskUserinfo(input), shown);
      if (input === shown) return;
      assert.throws(() => parseHost(input), (err: unknown) => {
        assert.ok(err instanceof InvalidHostError);
        assert.equal(err.host, shown);
        assert.ok(!err.message.includes("pw-9") && !err.message.includes("admin") && err.message.includes(shown), err.message);
        return true;
      });
    });
  }
});

describe("parseExtensionList", () => {
  it("splits, trims and removes duplicates in order", () => {
    assert.deepEqual(parseExtensionList(" 400, 410 ,400,  411"), ["400", "410", "411"]);
  });
  it("accepts a single extension", () => assert.deepEqual(parseExtensionList("7"), ["7"]));
  for (const bad of ["", "  ", "4a0", "400,,410", "400,", "SIP/", "/400", "SIP/400/401", "410-400", "1-1001", "4".repeat(16)]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseExtensionList(bad), InvalidExtensionsError);
    });
  }
  it("takes a whole number as one extension (a hand-written flow); rejects other non-strings", () => {
    assert.deepEqual(parseExtensionList(400), ["400"]);
    for (const bad of [4.5, -1, true, {}, ["400"]]) assert.throws(() => parseExtensionList(bad), InvalidExtensionsError, JSON.stringify(bad));
  });
});

describe("changeExtensions (msg.action of subscribe and presence)", () => {
  it("adds without duplicates, removes, replaces, and names what is wrong", () => {
    assert.deepEqual(changeExtensions(["400"], "add", ["410", 400]), { ok: true, extensions: ["400", "410"] });
    assert.deepEqual(changeExtensions(["400", "410"], "remove", "400"), { ok: true, extensions: ["410"] });
    assert.deepEqual(changeExtensions(["400"], "replace", "420, 430"), { ok: true, extensions: ["420", "430"] });
    assert.deepEqual(changeExtensions(["400"], "remove", "400"), { ok: true, extensions: [] });
    assert.deepEqual(changeExtensions(["400"], "explode", "410"), { ok: false, problem: "badAction", value: "explode" });
    const bad = changeExtensions(["400"], "add", "4a0");
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.problem, "invalidExtensions");
  });
});
