/**
 * ThrottledStatus: at once when quiet, at most every interval when busy, the last one winning; on the monotonic clock.
 * standbyText: a replica's standby texts from the catalogues, within the status length.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import sinon from "sinon";
import type { NodeStatus } from "node-red";
import { standbyText, ThrottledStatus } from "../../nodes/status";

describe("ThrottledStatus", () => {
  let clock: sinon.SinonFakeTimers;
  let shown: string[];
  let status: ThrottledStatus;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.parse("2026-11-23T10:00:00Z"), toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    shown = [];
    status = new ThrottledStatus({ status: (s: NodeStatus) => shown.push(String(s.text)) }, 500);
  });
  afterEach(() => {
    status.clear();
    clock.restore();
  });

  it("shows the first status at once and the last of a burst one interval later", () => {
    status.show({ text: "a" });
    status.show({ text: "b" });
    status.show(() => ({ text: "c" }));
    assert.deepEqual(shown, ["a"]);
    clock.tick(499);
    assert.deepEqual(shown, ["a"]);
    clock.tick(1);
    assert.deepEqual(shown, ["a", "c"]);
  });

  it("keeps updating after the wall clock steps back an hour", () => {
    status.show({ text: "before" });
    clock.tick(600);
    clock.setSystemTime(Date.now() - 3_600_000); // NTP, a resumed VM, a Pi without a real-time clock
    status.show({ text: "after" });
    assert.deepEqual(shown, ["before", "after"], "at once: the last one was shown 600 ms ago");
    status.show({ text: "later" });
    clock.tick(500);
    assert.deepEqual(shown, ["before", "after", "later"]);
  });
});

describe("standbyText", () => {
  for (const node of ["noojee-subscribe", "noojee-presence"]) {
    it(`${node}: names the holder, or says it waits out its own former lease, in 40 characters`, () => {
      const file = path.join(__dirname, "../../../nodes/locales/en-US", `${node}.json`);
      const texts = (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { status: Record<string, string> }>)[node].status;
      const t = (key: string, values: Record<string, string> = {}): string =>
        texts[key.replace(/^status\./, "")].replace(/__(\w+)__/g, (_m, name: string) => values[name]);
      assert.equal(standbyText(t, { holder: "beta" }), "standby · beta polls");
      assert.equal(standbyText(t, { holder: undefined }), "standby");
      const own = standbyText(t, { holder: undefined, ownFormer: true });
      assert.equal(own, "standby · waiting out its former lease");
      assert.ok(own.length <= 40, own);
    });
  }
});
