/** The trace a failing soak prints (test/perf/soak-trace.ts): the window around the first lost change, its extension only. */
import assert from "node:assert/strict";
import { traceAround } from "../perf/soak-trace";

describe("soak trace around a lost change", () => {
  const lines = [
    "1000 REQ e0 last=0 to=0 ctr=1 n=20",
    "5000 DEPLOY nodes done+1037",
    "5100 EVT e0 seq=7 409 soak.1#0 Ringing",
    "5100 EVT e0 seq=8 410 soak.2#0 Ringing",
    "5200 MSG sub-0 409 soak.1#0 Ringing pid 1 sent 5199",
    "5200 MSG sub-0 4090 soak.3#0 Ringing pid 1 sent 5199",
    "6000 EVT e0 seq=9 409 soak.1#1 Hungup",
    "8100 ANS e0 poll last=8 seq=9 entries=1 [409]",
  ];

  it("keeps what the client and the PBX did from 4 s before to 2 s after, and the lost extension's calls and msgs", () => {
    const text = traceAround(lines, { exten: "409", at: 6000 });
    assert.deepEqual(text.split("\n").slice(1), [
      "5000 DEPLOY nodes done+1037",
      "5100 EVT e0 seq=7 409 soak.1#0 Ringing",
      "5200 MSG sub-0 409 soak.1#0 Ringing pid 1 sent 5199",
      "6000 EVT e0 seq=9 409 soak.1#1 Hungup",
    ]);
    assert.match(text.split("\n")[0] ?? "", /^trace around the first lost change \(409 at 6000; the whole run: --trace FILE\):$/);
  });

  it("shows the first and last 100 lines of a longer window", () => {
    const many = Array.from({ length: 500 }, (_, i) => `${6000 + i} REQ e0 last=${i} to=2 ctr=${i} n=1`);
    const shown = traceAround(many, { exten: "409", at: 6000 }).split("\n");
    assert.equal(shown.length, 1 + 201);
    assert.equal(shown[101], "…");
    assert.equal(shown[1], "6000 REQ e0 last=0 to=2 ctr=0 n=1");
    assert.equal(shown.at(-1), "6499 REQ e0 last=499 to=2 ctr=499 n=1");
  });
});
