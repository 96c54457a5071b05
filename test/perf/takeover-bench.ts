/**
 * Takeover benchmark (issue 26): `npm run bench:takeover [-- --kills 20 --replicas 3]`.
 *
 * Three real Node-RED replicas (the packed package, the same flows, replicas on) coordinate through one real
 * redis-server and follow three extensions on the fake PBX. Each round: SIGKILL the lease holder, make a call ring
 * right after the kill, and time from the SIGKILL to the msg of that ring delivered by another replica (UDP, the same
 * clock); then restart the killed replica on its user dir (back on standby). Prints each round, then min, median, p90
 * and max. Figures in docs/performance.md.
 *
 * What it measures: a dead holder's lease is never released; it expires a TTL (10 s) after its last renewal, which came
 * up to TTL/3 before the kill, and a standby tries every TTL/3; then the new holder's first poll.
 */
import { spawnSync } from "node:child_process";
import { FakePbx } from "../fake-pbx";
import { RedisServer, REDIS_SERVER } from "../harness/redis-server";
import { LeaseReader, ReplicaSet } from "../harness/replica-set";
import { replicaCredentials, replicaFlows } from "../harness/replica-flows";
import { UdpInbox } from "../harness/udp-inbox";
import { deployAndWait, parseArgs, percentile } from "./common";

const API_KEY = "takeover-bench-key-2b7e";
const EXTENSIONS = ["400", "401", "402"];

const args = parseArgs(process.argv.slice(2));
const kills = Number(args.get("kills") ?? 20);
const count = Number(args.get("replicas") ?? 3);

function log(line: string): void {
  process.stdout.write(`[takeover ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<number> {
  if (spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore" }).error !== undefined) {
    log("redis-server is not installed (apt-get install -y redis-server)");
    return 2;
  }
  const pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 5 });
  await pbx.start();
  const redis = new RedisServer(true);
  await redis.start();
  const inbox = new UdpInbox();
  await inbox.start();
  const lease = new LeaseReader(redis.url, "noojee:cfg:lease");
  await lease.connect();
  let set: ReplicaSet | undefined;
  try {
    set = await ReplicaSet.start({ count, settings: { logging: { console: { level: "warn", metrics: false, audit: false } } } });
    const flows = replicaFlows({ pbxUrl: pbx.url, extensions: EXTENSIONS, udpPort: inbox.port, deploy: 1 });
    for (const r of set.replicas) await deployAndWait(r.nr, flows, 1, replicaCredentials(API_KEY, redis.url));
    const holder = async (not?: string): Promise<string> => {
      const end = Date.now() + 60_000;
      for (;;) {
        const h = await lease.holder().catch(() => undefined);
        if (h && h.name !== not) return h.name;
        if (Date.now() > end) throw new Error(`no lease holder other than ${not ?? "none"} within 60 s`);
        await new Promise((r) => setTimeout(r, 50)); // Redis has no event to await
      }
    };
    const samples: number[] = [];
    for (let round = 1; round <= kills; round++) {
      const dead = await holder();
      const killedAt = Date.now();
      await set.kill(dead);
      const id = `takeover.${round}`;
      pbx.startCall(EXTENSIONS[round % EXTENSIONS.length], { uniqueCallId: id, status: "Ringing", inbound: true });
      const got = await inbox.waitFor((d) => d.uniqueCallId === id && d.status === "Ringing" && d.replica !== dead, `round ${round}'s ring`, 60_000);
      const ms = got.wall - killedAt;
      samples.push(ms);
      log(`round ${round}: ${dead} killed, ${String(got.replica)} delivered the next event after ${(ms / 1000).toFixed(2)} s`);
      await set.restart(dead);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    process.stdout.write(`\nTakeover over ${samples.length} kills of the holder (${count} replicas, lease TTL 10 s):\n`);
    process.stdout.write(`  min ${s(sorted[0])}, median ${s(percentile(sorted, 50))}, p90 ${s(percentile(sorted, 90))}, max ${s(sorted[sorted.length - 1])}\n`);
    return 0;
  } finally {
    lease.close();
    await set?.stop();
    await inbox.stop();
    await redis.stop();
    await pbx.stop();
  }
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    process.stdout.write(`TAKEOVER BENCH ERROR: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  });
