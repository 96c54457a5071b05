/**
 * The saved position's `resyncing` mark on a poll cursor (resume-points.ts): written and read back, refused when it is
 * anything but `true`, and absent from positions saved before it existed, which still load.
 */
import assert from "node:assert/strict";
import { checkSavedText, parseContent, serialisePosition } from "../../nodes/lib/poll/position-format";
import type { HubPosition } from "../../nodes/lib/poll/subscription-hub";

const OWNER = { host: "https://pbx.example.com:443", authMode: "apiKey" };
const HOUR = 3_600_000;
const header = { format: "node-red-contrib-noojee/resume", version: 1, ...OWNER, savedAt: 1, legs: [] };

describe("position format: a cursor whose resync after a PBX restart had not settled", () => {
  it("is written and read back with its mark, beside one without", () => {
    const position: HubPosition = {
      polls: [{ seq: 1, extensions: ["410"], fences: {}, life: 2, resyncing: true }, { seq: 1, extensions: ["420"], fences: {}, life: 2 }],
      legs: [],
    };
    const loaded = checkSavedText(serialisePosition(position, OWNER, 1000, 1_000_000), OWNER, HOUR, 1000);
    assert.deepEqual(loaded.position?.polls, position.polls);
  });

  it("loads a position saved without it (1.1.0, or every resync settled): no cursor is marked", () => {
    const polls = [{ seq: 7, extensions: ["410"], fences: {} }, { seq: 3, extensions: ["420"], fences: {}, life: 1 }];
    const content = parseContent({ ...header, polls });
    assert.deepEqual(content.polls, polls);
    assert.ok(content.polls.every((point) => !("resyncing" in point)));
  });

  it("refuses a mark that is not true", () => {
    for (const resyncing of [false, "true", 1, null, {}]) {
      const polls = [{ seq: 1, extensions: ["410"], fences: {}, life: 2, resyncing }];
      assert.throws(() => parseContent({ ...header, polls }), /invalid/, JSON.stringify(resyncing));
    }
  });
});
