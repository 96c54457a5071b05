/** ResumeSource: saved positions shared by a hub's loops while the flows start, and the extensions it adopts. */
import assert from "node:assert/strict";
import { ResumePoint, ResumeSource } from "../../nodes/lib/poll/resume-points";

describe("ResumeSource", () => {
  const points: ResumePoint[] = [
    { seq: 70, extensions: ["410"], fences: {} },
    { seq: 50, extensions: ["420"], fences: { "420": 58 } },
  ];

  it("gives each extension its own cursor once; one no position covers gets the lowest saved seq, once", () => {
    const source = new ResumeSource(points);
    assert.deepEqual(source.take("410"), { cursor: 70, adopted: false, life: 0 });
    assert.deepEqual(source.take("420"), { cursor: 58, adopted: false, life: 0 }, "a 1.0.0 fence above the poll's seq");
    assert.deepEqual(source.take("430"), { cursor: 50, adopted: true, life: 0 }, "the lowest poll seq, not a fence");
    for (const extension of ["410", "420", "430"]) assert.equal(source.take(extension), undefined, `${extension} again`);
  });

  it("once the flows have started, only the extensions watched then and not yet placed may carry on", () => {
    const source = new ResumeSource(points);
    source.retainOnly(new Set(["410", "440"]));
    assert.equal(source.take("420"), undefined, "no longer watched");
    assert.deepEqual(source.take("440"), { cursor: 50, adopted: true, life: 0 }, "watched then, adopted");
    assert.equal(source.take("450"), undefined, "added later: a current-state read");
    assert.deepEqual(source.take("410"), { cursor: 70, adopted: false, life: 0 });
  });

  it("gives the cursors not taken to be stored, and while the flows start the lowest one, bare (for the adopted)", () => {
    const source = new ResumeSource(points);
    source.take("410");
    // A subscriber announced at the start that registers late adopts 430 from the lowest cursor: a position stored
    // before it comes, and a crash then, must leave that cursor for the next start (found by the model test).
    const stored = source.points();
    assert.deepEqual(stored, [{ seq: 58, extensions: ["420"], fences: {} }, { seq: 50, extensions: [], fences: {} }]);
    assert.deepEqual(new ResumeSource(stored).take("430"), { cursor: 50, adopted: true, life: 0 }, "the next start adopts from it");
    source.retainOnly(new Set(["420"]));
    assert.deepEqual(source.points(new Set(["420"])), [{ seq: 58, extensions: ["420"], fences: {} }], "started: none to adopt");
  });

  it("adopts nothing without a saved seq, nor after a PBX restart", () => {
    assert.equal(new ResumeSource([{ seq: 0, extensions: ["410"], fences: {} }]).take("430"), undefined);
    const source = new ResumeSource(points);
    source.forgetLife(0);
    assert.equal(source.take("410"), undefined);
    assert.equal(source.take("430"), undefined);
  });

  it("after a PBX restart seen at seq 60, keeps the cursors at or below it (maybe of its new life), drops those above", () => {
    const source = new ResumeSource(points);
    source.forgetAbove(60);
    assert.equal(source.take("410"), undefined, "70: of the previous life");
    assert.deepEqual(source.take("420"), { cursor: 58, adopted: false, life: 0 });
    assert.deepEqual(source.take("430"), { cursor: 50, adopted: true, life: 0 }, "the lowest saved seq is at or below it too");
    const old = new ResumeSource(points);
    old.forgetAbove(40);
    assert.deepEqual([old.take("420"), old.take("430"), old.size], [undefined, undefined, 0], "all above: nothing left");
  });
  it("keeps a cursor saved before its restart's resync settled said so, until taken: its check is a restart's", () => {
    const source = new ResumeSource([
      { seq: 1, extensions: ["410", "420"], fences: {}, life: 2, resyncing: true },
      { seq: 1, extensions: ["430"], fences: {}, life: 2 },
    ]);
    assert.deepEqual(source.points(), [
      { seq: 1, extensions: ["410", "420"], fences: {}, life: 2, resyncing: true },
      { seq: 1, extensions: ["430"], fences: {}, life: 2 },
    ]);
    assert.deepEqual(source.take("410"), { cursor: 1, adopted: false, life: 2, resyncing: true });
    assert.deepEqual(source.take("430"), { cursor: 1, adopted: false, life: 2 });
    assert.deepEqual(source.points(), [{ seq: 1, extensions: ["420"], fences: {}, life: 2, resyncing: true }]);
  });

  describe("cursors of two PBX lives", () => {
    // 406 saved at 50 before the PBX restarted (life 0), 403 at 2 after it (life 1), 405 at 7 after it too.
    const lives: ResumePoint[] = [
      { seq: 50, extensions: ["406"], fences: {} },
      { seq: 7, extensions: ["405"], fences: {}, life: 1 },
      { seq: 2, extensions: ["403"], fences: {}, life: 1 },
    ];

    it("one of an older life than the newest is stale: it carries on from the newest life's lowest cursor", () => {
      const source = new ResumeSource(lives);
      const points = source.points();
      // Said to be resyncing: carried on after another crash, its read is still checked as a restart's.
      assert.deepEqual(points, [
        { seq: 2, extensions: ["406"], fences: {}, life: 1, resyncing: true },
        { seq: 7, extensions: ["405"], fences: {}, life: 1 },
        { seq: 2, extensions: ["403"], fences: {}, life: 1 },
      ], "stored where it would carry on from");
      assert.deepEqual(new ResumeSource(points).take("406"), { cursor: 2, adopted: false, life: 1, resyncing: true });
      assert.deepEqual(source.take("406"), { cursor: 2, adopted: false, life: 1, stale: true });
      assert.deepEqual(source.take("405"), { cursor: 7, adopted: false, life: 1 });
      assert.deepEqual(source.take("430"), { cursor: 2, adopted: true, life: 1 }, "adopted from the newest life's lowest, not from 50");
    });

    it("is dropped with the newest life's cursors, judged where it would carry on from", () => {
      const above = new ResumeSource(lives);
      above.forgetAbove(5);
      assert.deepEqual([above.take("406"), above.take("405")], [{ cursor: 2, adopted: false, life: 1, stale: true }, undefined]);
      const gone = new ResumeSource(lives);
      gone.forgetAbove(1);
      assert.deepEqual([gone.take("406"), gone.takeDropped("406"), gone.size], [undefined, true, 0], "dropped: its read ends what it lacks");
    });

    it("without lives (a 1.1.0 position) nothing is stale", () => {
      const source = new ResumeSource(lives.map(({ life: _life, ...point }) => point));
      assert.deepEqual(source.take("406"), { cursor: 50, adopted: false, life: 0 });
      assert.deepEqual(source.take("430"), { cursor: 2, adopted: true, life: 0 });
    });
  });
});
