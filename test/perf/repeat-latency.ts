/**
 * Latency of a change that follows a repeat-only answer, in a real Node-RED:
 *
 *   npm run build && node dist/test/perf/repeat-latency.js [--calls 20]
 *
 * A PBX sometimes answers a poll with entries that only repeat a state already sent (its `seq` moved on: a channel
 * event left CallData unchanged). For each call: Ringing is placed; once it reached the flow the PBX repeats it; 150 ms
 * later the call connects. Printed: how long `Connected` took from the change to the flow (median, p95, max). The fake
 * PBX keeps the real one's ~100 ms minimum poll period.
 */
import { FakePbx } from "../fake-pbx";
import { startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { configNode, parseArgs, percentile, sleep, subscribeNode, UDP_SEND_SETTINGS, udpFunctionSinkNode, UdpSink } from "./common";

const API_KEY = "latency-key-5c2e9a41";
const EXTENSION = "400";
const TAB = "latency-tab";

const args = parseArgs(process.argv.slice(2));
const calls = Number(args.get("calls") ?? 20);

async function main(): Promise<void> {
  const pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 100 });
  await pbx.start();
  const waiters: Array<{ test: (m: Record<string, unknown>) => boolean; resolve: (at: number) => void }> = [];
  const sink = new UdpSink((m, at) => {
    for (const w of [...waiters]) {
      if (!w.test(m)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(at);
    }
  });
  await sink.start();
  const arrival = (id: string, status: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} ${status} never reached the flow`)), 10_000);
      waiters.push({
        test: (m) => m.uniqueCallId === id && m.status === status,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });

  const nr = await startNodeRed({ settingsCode: UDP_SEND_SETTINGS });
  try {
    await nr.deploy(
      [
        { id: TAB, type: "tab", label: "latency", disabled: false, info: "" },
        configNode("cfg", pbx.url),
        subscribeNode("sub", TAB, "cfg", [EXTENSION], 30, ["udp"]),
        udpFunctionSinkNode("udp", TAB, sink.port),
      ],
      { cfg: { apiKey: API_KEY } },
    );
    await pbx.waitForRequest((r) => r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0", 30_000);
    const latencies: number[] = [];
    for (let i = 1; i <= calls; i++) {
      const id = `latency.${i}`;
      const ringing = arrival(id, "Ringing");
      pbx.startCall(EXTENSION, { uniqueCallId: id, status: "Ringing" });
      await ringing;
      pbx.update(EXTENSION, id, {}); // the same CallData again: a repeat-only answer
      await sleep(150);
      const connected = arrival(id, "Connected");
      const changedAt = performance.now();
      pbx.update(EXTENSION, id, { status: "Connected", canAnswer: false });
      latencies.push((await connected) - changedAt);
      const hungup = arrival(id, "Hungup");
      pbx.update(EXTENSION, id, { status: "Hungup" });
      await hungup;
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const ms = (v: number): string => `${v.toFixed(1)} ms`;
    process.stdout.write(
      `Connected after a repeat-only answer, ${calls} calls: median ${ms(percentile(sorted, 50))}, ` +
        `p95 ${ms(percentile(sorted, 95))}, max ${ms(sorted[sorted.length - 1])}\n`,
    );
  } finally {
    await nr.stop();
    await sink.stop();
    await pbx.stop();
  }
}

main().catch(async (err: unknown) => {
  process.stdout.write(`ERROR: ${err instanceof Error ? err.stack : String(err)}\n`);
  await stopAllNodeRed();
  process.exitCode = 1;
});
