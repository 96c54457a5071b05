/**
 * Resume after a restart, end to end, for each place the position can be kept: the resume file in the user
 * directory; a context store outside it (a small durable store written for the test, standing in for FlowFuse's
 * persistent context or a database), with the user directory's files deleted while Node-RED is down, as a container
 * restart does; and Node-RED's own localfilesystem store (also outside the user directory) as users run it, at its
 * default flushInterval (30 s). Each: a real Node-RED killed with SIGKILL while calls flow, calls made while it is
 * down, started again (see kill-scenario.ts). Every change reaches the flow, those made while it was down exactly
 * once; what is sent again is within the documented bound (only what the killed process sent after the position it
 * left on disk was taken, read once it is dead) and carries the eventId it had the first time; calls in progress
 * across the kill get whole summaries.
 *
 * localfilesystem writes a position out only 30 s after its first set: a crash before that finds none (the README's
 * documented loss), so its first kill waits until the store's file on disk holds one (and then until the flow has
 * been sent changes after it, which the restart must send again). Its second kill comes a few seconds after a
 * restart, before that process's first write-out: the position on disk is then the first process's.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stopAllNodeRed } from "../harness/node-red-process";
import { KillOptions, KillScenario } from "./kill-scenario";
import { sleep } from "../perf/common";
import { storedPosition } from "../perf/soak-store";

interface Place extends KillOptions {
  name: string;
  /** Delete the user directory's files (but flows, settings, packages) while Node-RED is down. */
  wipe: boolean;
  storeDir?: string;
  /** The store can be made to stall a write (durable-store.ts). */
  stalls?: boolean;
  /** The store writes out late (localfilesystem's flushInterval, default 30 s): kill only once it wrote a position out. */
  flushesLate?: boolean;
}

const storeDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "noojee-store-"));

function places(): Place[] {
  const durable = storeDir();
  const lfs = storeDir();
  return [
    { name: "the resume file in the user directory", wipe: false },
    {
      name: "a durable context store outside the user directory, whose files are deleted while it is down",
      wipe: true,
      resumeStore: "keep",
      storeDir: durable,
      readStored: () => storedPosition("durable", durable),
      stalls: true,
      settingsCode: `module.exports.contextStorage = { default: { module: "memory" }, keep: { module: require(${JSON.stringify(path.join(__dirname, "durable-store.js"))}), config: { dir: ${JSON.stringify(durable)} } } };`,
    },
    {
      name: "the localfilesystem context store (default flushInterval, 30 s) outside the user directory, whose files are deleted while it is down",
      wipe: true,
      flushesLate: true,
      resumeStore: "disk",
      storeDir: lfs,
      readStored: () => storedPosition("localfilesystem", lfs),
      // No flushInterval: Node-RED's default, as users have it.
      settingsCode: `module.exports.contextStorage = { default: { module: "memory" }, disk: { module: "localfilesystem", config: { dir: ${JSON.stringify(lfs)} } } };`,
    },
  ];
}

for (const place of places()) {
  describe(`Resume after a restart, position in ${place.name}: a real Node-RED killed with SIGKILL while calls flow`, function () {
    this.timeout(300_000);
    const scenario = new KillScenario(place);
    const key = KillScenario.key;

    before(() => scenario.start());
    after(async () => {
      await stopAllNodeRed();
      await scenario.stop();
      if (place.storeDir) fs.rmSync(place.storeDir, { recursive: true, force: true });
    });

    it("delivers every change made while it was down exactly once, as a change, and whole summaries of the calls it was down for", async () => {
      let downFrom = 0;
      let wiped: string[] = [];
      let writtenOut: number | undefined;
      // A late-flushing store: the kill comes once its file holds a position and 30 changes were sent after it.
      const waitForWriteOut = place.flushesLate ? async () => void (writtenOut = await scenario.waitForWriteOut(30)) : undefined;
      const killedAt = await scenario.killAndRestart("first", 2500, () => {
        if (place.resumeStore) {
          assert.equal(fs.existsSync(scenario.resumeFile), false, "no resume file: the position is in the store");
          assert.notEqual(place.readStored?.(), undefined, "the store holds a position outside the user directory");
        } else assert.ok(fs.existsSync(scenario.resumeFile), "the position was saved before the kill");
        if (place.wipe) wiped = scenario.wipeUserDir();
        downFrom = scenario.events.length;
        scenario.pbx.startCall("400", { uniqueCallId: "down.missed", status: "Ringing", step: 0, inbound: true, callStartTime: "" });
        scenario.pbx.update("400", "down.missed", { status: "Hungup", step: 1 });
      }, undefined, waitForWriteOut);
      if (place.wipe) assert.ok(wiped.length > 0, "the user directory had files of its own to lose");
      assert.deepEqual(scenario.lost(), [], "no change lost");
      const madeWhileDown = scenario.events.slice(downFrom).map((e) => key(e.entry.CallData.uniqueCallId, e.entry.CallData.step));
      assert.ok(madeWhileDown.length > 10, `${madeWhileDown.length} changes while down`);
      for (const k of madeWhileDown) {
        const got = scenario.received.filter((r) => r.key === k);
        assert.equal(got.length, 1, `${k} reached the flow ${got.length} times`);
        assert.equal(got[0].initial, false, `${k} is a change`);
      }
      const missed = scenario.received.filter((r) => r.key.startsWith("down.missed#"));
      assert.deepEqual(missed.map((r) => `${r.status} ${String(r.missed)}`), ["Ringing undefined", "Hungup true"]);
      assert.ok(scenario.lastKill.left?.savedWall, "the killed process left a position on disk");
      assert.deepEqual(scenario.resentBeyondBound(), [], "re-sent only what the killed process sent after the position it left on disk");
      assert.deepEqual(scenario.eventIdFaults(), [], "every msg has an eventId, a re-send the one it had the first time");
      if (place.flushesLate) {
        // The position on disk is the one waited for (nothing newer written since), so what was sent after it comes again.
        assert.equal(scenario.lastKill.left?.savedWall, writtenOut, "the kill found the position written out first");
        assert.ok(scenario.repeated() >= 30, `${scenario.repeated()} changes sent again (30 were sent after the position on disk)`);
        assert.ok(scenario.oldestResend() < 30_000, `the oldest change sent again was sent ${scenario.oldestResend()} ms before the kill: over the 30 s flushInterval`);
      }
      assert.match(scenario.nr.log(), /resuming from the position saved/);

      // Summaries: every leg has one, and none is partial: each began after the deploy, the kill only paused it.
      await scenario.waitForSummaries();
      assert.deepEqual(scenario.endedWithoutSummary(), [], "every ended leg was summarised");
      const partial = scenario.summaries.filter((s) => s.partial).map((s) => s.uniqueCallId);
      assert.deepEqual(partial, [], "no summary is partial");
      const began = new Map<string, number>();
      for (const e of scenario.events) if (!began.has(e.entry.CallData.uniqueCallId)) began.set(e.entry.CallData.uniqueCallId, e.at);
      const ends = scenario.events.filter((e) => ["Hungup", "No Answer"].includes(e.entry.CallData.status));
      const spanning = ends.filter((e) => e.at > killedAt && (began.get(e.entry.CallData.uniqueCallId) ?? Infinity) < killedAt);
      assert.ok(spanning.length >= 3, `${spanning.length} calls began before the kill and ended after it`);
      for (const e of ends.filter((end) => end.at > killedAt)) {
        const id = e.entry.CallData.uniqueCallId;
        const got = scenario.summaries.filter((s) => s.uniqueCallId === id);
        assert.equal(got.length, 1, `${id}, ended after the kill, has ${got.length} summaries`);
      }
      const downMissed = scenario.summaries.find((s) => s.uniqueCallId === "down.missed");
      assert.equal(downMissed?.missed, true, "the call that rang and ended while it was down is summarised as missed");
      // The figures the closing notes quote.
      const { readyAt } = scenario.lastKill;
      const caughtUp = Math.max(...madeWhileDown.map((k) => scenario.received.find((r) => r.key === k)!.at)) - readyAt;
      console.log(`      [kill figures] ${place.name.split(",")[0]}: down ${((readyAt - killedAt) / 1000).toFixed(1)} s; ` +
        `${madeWhileDown.length} changes made while down, each delivered once, the last ${caughtUp} ms after the admin API answered; ` +
        `position on disk taken ${killedAt - (scenario.lastKill.left?.savedWall ?? NaN)} ms before the kill; ` +
        `${scenario.repeated()} changes sent again (the oldest sent ${scenario.oldestResend()} ms before the kill); ${spanning.length} calls across the kill, ` +
        `${scenario.summaries.length} summaries, none partial`);
    });

    it("detects a PBX that restarted while Node-RED was down and resynchronises without sending anything twice", async () => {
      const before = scenario.received.length;
      await scenario.killAndRestart("second", 2000, () => {
        if (place.wipe) scenario.wipeUserDir();
        scenario.pbx.restart({ keepCalls: true });
      }, "restart");
      assert.match(scenario.nr.log(), /went back from \d+ to \d+/);
      assert.deepEqual(scenario.resentBeyondBound(), [], "re-sent only what the killed process sent after the position it left on disk");
      assert.deepEqual(scenario.eventIdFaults(), [], "every msg has an eventId, a re-send the one it had the first time");
      // Calls that died with the restart end with a Hungup made up from their last state. One whose real end the killed
      // process had sent after its position gets it again in that form: with the same eventId (a leg ends once).
      const idOf = (r: { key: string }): string => r.key.split("#")[0];
      const realEnds = new Map(scenario.received.filter((r) => !r.vanished && r.status === "Hungup").map((r) => [idOf(r), r.eventId]));
      const madeUp = scenario.received.slice(before).filter((r) => r.vanished);
      assert.deepEqual(madeUp.filter((r) => realEnds.has(idOf(r)) && realEnds.get(idOf(r)) !== r.eventId).map((r) => r.key), [],
        "a made-up end of a call the flow got the real end of carries that end's eventId");
      const restartedAt = scenario.events.findIndex((e) => e.epoch === scenario.pbx.epoch);
      const afterRestart = scenario.events.slice(restartedAt).map((e) => key(e.entry.CallData.uniqueCallId, e.entry.CallData.step));
      for (const k of afterRestart.slice(-20)) {
        assert.ok(scenario.received.slice(before).some((r) => r.key === k), `${k}, made after Node-RED came back, reached the flow`);
      }
    });

    if (place.stalls) {
      it("killed while a write stalls on a busy disk: sends again what it sent after the position on disk, over a second old, and nothing before it", async () => {
        const dir = place.storeDir!;
        const from = scenario.events.length;
        const killedAt = await scenario.killAndRestart("third", 2000, () => {
          if (place.wipe) scenario.wipeUserDir();
        }, from, async () => {
          // The next write blocks for 4 s (as an fsync held up by other I/O does); the kill comes 1.5 s into it.
          fs.rmSync(path.join(dir, "stalling"), { force: true });
          fs.writeFileSync(path.join(dir, "stall"), "4000");
          for (let waited = 0; waited < 10_000 && !fs.existsSync(path.join(dir, "stalling")); waited += 20) await sleep(20);
          assert.ok(fs.existsSync(path.join(dir, "stalling")), "a write began to stall");
          await sleep(1500);
        });
        assert.deepEqual(scenario.lost(from), [], "no change lost");
        const age = killedAt - (scenario.lastKill.left?.savedWall ?? NaN);
        assert.ok(age > 1500, `the position on disk was taken ${age} ms before the kill`);
        // A fixed 1 s window (the old check) calls these faults: the killed process sent them after its last durable write.
        assert.ok(scenario.oldestResend() > 1000, `a change sent ${scenario.oldestResend()} ms before the kill came again`);
        assert.deepEqual(scenario.resentBeyondBound(), [], "re-sent only what the killed process sent after the position it left on disk");
      });
    }
  });
}
