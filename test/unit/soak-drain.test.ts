/**
 * The soaks' drain (test/perf/soak-drain.ts): a soak may stop counting only once every watched extension has been
 * polled past the PBX's last change. A Node-RED restarted from a cursor its store kept reads the current state first
 * and then polls its cursor groups from that cursor one after another: neither that read nor one group's answer says
 * the others have been handed the last changes.
 */
import assert from "node:assert/strict";
import type { RecordedAnswer } from "../../sim/pbx-types";
import { undrained } from "../perf/soak-drain";

const GROUP_A = ["400", "401", "403"];
const GROUP_B = ["402", "409", "414"];
const ALL = [...GROUP_A, ...GROUP_B];

function answer(exten: string[], last: number, seq: number, epoch = 3): RecordedAnswer {
  return { epoch, exten: exten.join(","), last, seq, snapshot: last === 0, entries: 1, requestedAt: 0, at: 0 };
}

describe("soak drain", () => {
  it("a current-state read at the last seq drains nothing: the polls from the kept cursor are still to come", () => {
    assert.deepEqual(undrained([answer(ALL, 0, 1633)], 3, 1633, ALL), ALL.slice().sort());
  });

  it("one cursor group polled past the last change leaves the other group waiting", () => {
    const answers = [answer(ALL, 0, 1633), answer(GROUP_A, 71, 1644)];
    assert.deepEqual(undrained(answers, 3, 1633, ALL), GROUP_B.slice().sort());
  });

  it("drained once every watched extension's poll reached the last change", () => {
    const answers = [answer(ALL, 0, 1633), answer(GROUP_A, 71, 1644), answer(GROUP_B, 71, 1650)];
    assert.deepEqual(undrained(answers, 3, 1633, ALL), []);
  });

  it("answers of an earlier PBX life, below the last change, or that went back do not count", () => {
    const answers = [answer(ALL, 1700, 1800, 2), answer(ALL, 1000, 1632), answer(ALL, 1900, 1640)];
    assert.deepEqual(undrained(answers, 3, 1633, ALL), ALL.slice().sort());
  });

  it("only watched extensions are waited for; none watched drains at once", () => {
    assert.deepEqual(undrained([answer(GROUP_A, 90, 1700)], 3, 1633, GROUP_A), []);
    assert.deepEqual(undrained([], 3, 1633, []), []);
  });
});
