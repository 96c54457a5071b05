/** The cursors of a poll loop: when extensions polled from different cursors may share one. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CursorGroups } from "../../nodes/lib/poll/cursor-groups";

const shape = (groups: CursorGroups) =>
  groups.list.map((g) => `${[...g.extensions].sort().join("+")}@${g.cursor}(${g.quietFrom})`).sort();

describe("CursorGroups", () => {
  it("keeps an extension read above the others' cursor apart until one side has been quiet across the other's cursor", () => {
    const groups = new CursorGroups();
    groups.reset(["400"], 10);
    groups.add(["410"], 14);
    assert.deepEqual(shape(groups), ["400@10(10)", "410@14(14)"]);
    const main = groups.groupOf("400")!;
    groups.advance(main, 16, true); // 400 changed in (10, 16]: it cannot be polled from 14
    assert.equal(groups.size, 2);
    groups.advance(groups.groupOf("410")!, 17, false); // 410 quiet in (14, 17], which holds 16
    assert.deepEqual(shape(groups), ["400+410@16(16)"]);
  });

  it("merges at once when the lower cursor's answer is empty", () => {
    const groups = new CursorGroups();
    groups.reset(["400", "401"], 10);
    groups.add(["410"], 14);
    groups.advance(groups.groupOf("400")!, 15, false);
    assert.deepEqual(shape(groups), ["400+401+410@14(14)"]);
  });

  it("merges groups at the same cursor, and drops an emptied group", () => {
    const groups = new CursorGroups();
    groups.add(["400"], 20);
    groups.add(["410"], 20);
    assert.deepEqual(shape(groups), ["400+410@20(20)"]);
    groups.add(["420"], 25);
    groups.remove("420");
    assert.deepEqual(shape(groups), ["400+410@20(20)"]);
    assert.equal(groups.maxCursor(), 20);
  });

  it("never merges two groups unless each was quiet between the merged cursor and its own", () => {
    // Random histories: for each group, its answers (seq, changed?). The merged cursor must lie in both ranges.
    const answer = fc.record({ group: fc.integer({ min: 0, max: 2 }), step: fc.integer({ min: 0, max: 5 }), changed: fc.boolean() });
    fc.assert(
      fc.property(fc.array(answer, { maxLength: 30 }), (answers) => {
        const groups = new CursorGroups();
        let counter = 1;
        const changedAt = new Map<string, number[]>(); // extension → seqs of its changes
        for (const name of ["a", "b", "c"]) {
          counter += 1;
          groups.add([name], counter);
          changedAt.set(name, []);
        }
        for (const { group, step, changed } of answers) {
          const target = groups.groupOf(["a", "b", "c"][group])!;
          counter += step;
          if (changed) for (const e of target.extensions) changedAt.get(e)!.push(counter);
          groups.advance(target, counter, changed);
          for (const g of groups.list) {
            for (const e of g.extensions) {
              // No change of e in (quietFrom, cursor]: polling from anywhere in that range repeats nothing.
              assert.ok(changedAt.get(e)!.every((seq) => seq <= g.quietFrom || seq > g.cursor), `${e} in ${shape(groups).join(" ")}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
