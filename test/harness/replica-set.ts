/**
 * Replicas of one Node-RED, for the replica end-to-end test, soak and takeover benchmark: N real Node-RED processes
 * (each its own user dir, the packed package installed) that run the same flows and coordinate through one Redis.
 *
 * Each replica is named by NODE_RED_REPLICA (r1, r2, ...: the name the standbys show) and reaches the PBX through its
 * own TaggingProxy (its http_proxy), so every request the PBX gets is known by sender. Msgs and statuses leave the
 * flows over UDP (replicaSinkNode / statusSinkNodes) tagged with the replica's name and pid.
 *
 * Kill (SIGKILL), restart on the same user dir, pause (SIGSTOP) and resume (SIGCONT) one replica; read who holds a
 * config node's lease from Redis.
 */
import { Redis } from "ioredis";
import { type FlowNode, type NodeRedOptions, type NodeRedProcess, startNodeRed } from "./node-red-process";
import { TaggingProxy, type TaggedRequest } from "./tagging-proxy";
import { UDP_SEND_SETTINGS } from "../perf/common";

/** Settings code (after UDP_SEND_SETTINGS) that puts the replica's name where the sink function nodes read it. */
const REPLICA_NAME_SETTINGS =
  "module.exports.functionGlobalContext = Object.assign(module.exports.functionGlobalContext || {}, { replicaName: process.env.NODE_RED_REPLICA });";

export interface Replica {
  name: string;
  proxy: TaggingProxy;
  nr: NodeRedProcess;
  /** SIGSTOPped and not yet resumed. */
  paused: boolean;
}

export interface ReplicaSetOptions extends Omit<NodeRedOptions, "env"> {
  count: number;
  /** Extra environment for every replica. */
  env?: Record<string, string>;
}

export class ReplicaSet {
  readonly replicas: Replica[] = [];
  /** Every request that reached the PBX through a replica's proxy, in order. */
  readonly requests: TaggedRequest[] = [];
  onRequest: ((request: TaggedRequest) => void) | undefined;

  private constructor(private readonly options: ReplicaSetOptions) {}

  /** Starts `count` replicas one after the other (each npm install of the tarball loads the machine). */
  static async start(options: ReplicaSetOptions): Promise<ReplicaSet> {
    const set = new ReplicaSet(options);
    try {
      for (let i = 1; i <= options.count; i++) await set.add(`r${i}`);
    } catch (err) {
      await set.stop();
      throw err;
    }
    return set;
  }

  private async add(name: string): Promise<void> {
    const proxy = new TaggingProxy(name, (r) => {
      this.requests.push(r);
      this.onRequest?.(r);
    });
    await proxy.start();
    const nr = await startNodeRed({
      ...this.options,
      settingsCode: `${this.options.settingsCode ?? ""}\n${UDP_SEND_SETTINGS}\n${REPLICA_NAME_SETTINGS}`,
      // The harness exempts loopback from proxies; here the proxy is the point, and the PBX is on loopback.
      env: { ...this.options.env, NODE_RED_REPLICA: name, http_proxy: proxy.url, HTTP_PROXY: proxy.url, no_proxy: "", NO_PROXY: "" },
    });
    this.replicas.push({ name, proxy, nr, paused: false });
  }

  get(name: string): Replica {
    const replica = this.replicas.find((r) => r.name === name);
    if (!replica) throw new Error(`no replica ${name}`);
    return replica;
  }

  byPid(pid: number | undefined): Replica | undefined {
    return this.replicas.find((r) => r.nr.pid === pid);
  }

  /** Deploys the same flows (and credentials) to every running replica, or to those named. */
  async deployAll(flows: FlowNode[], credentials: Record<string, Record<string, string>>, names?: string[]): Promise<void> {
    for (const r of this.replicas) {
      if (names && !names.includes(r.name)) continue;
      if (r.nr.running && !r.paused) await r.nr.deploy(flows, credentials);
    }
  }

  /** SIGKILL: no close handler runs, the lease is not released (it must expire). */
  async kill(name: string): Promise<void> {
    const r = this.get(name);
    if (r.paused) this.resume(name); // a stopped process dies of SIGKILL too, but let its state be plain
    await r.nr.kill();
  }

  /** A new process on the killed replica's user dir (it runs the flows saved there). */
  async restart(name: string): Promise<void> {
    const r = this.get(name);
    r.nr = await r.nr.restart();
  }

  /** SIGSTOP: like a long GC pause or a suspended VM; its sockets stay open, its timers do not run. */
  pause(name: string): void {
    const r = this.get(name);
    if (r.nr.pid === undefined) throw new Error(`replica ${name} has no process`);
    process.kill(r.nr.pid, "SIGSTOP");
    r.paused = true;
  }

  resume(name: string): void {
    const r = this.get(name);
    if (r.nr.pid !== undefined && r.paused) process.kill(r.nr.pid, "SIGCONT");
    r.paused = false;
  }

  /** The PBX requests each replica sent at or after `since` (Date.now()), by path ending, e.g. "/subscribe". */
  requestsFrom(name: string, since: number, pathEnd = "/subscribe"): TaggedRequest[] {
    return this.requests.filter((q) => q.replica === name && q.wall >= since && q.path.endsWith(pathEnd));
  }

  async stop(): Promise<void> {
    for (const r of this.replicas) if (r.paused) this.resume(r.name);
    await Promise.all(this.replicas.map((r) => r.nr.stop()));
    await Promise.all(this.replicas.map((r) => r.proxy.stop()));
  }
}

/** Who holds a config node's lease (`<prefix>:<configId>:lease`, value `<name>|<fence>|<random>`), read from Redis. */
export class LeaseReader {
  private readonly redis: Redis;

  constructor(url: string, private readonly key: string) {
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 200 });
    this.redis.on("error", () => undefined); // Redis restarts on purpose in these runs
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  /** The holder's name and fence, or undefined when nobody holds it; throws when Redis does not answer. */
  async holder(): Promise<{ name: string; fence: number } | undefined> {
    const value = await this.redis.get(this.key);
    if (!value) return undefined;
    const [name, fence] = value.split("|");
    return { name, fence: Number(fence) };
  }

  /** Any key's value (the shared position), undefined when missing. */
  async read(key: string): Promise<string | undefined> {
    return (await this.redis.get(key)) ?? undefined;
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * A function node that sends the msg (with its node tag, the replica's name, pid and Date.now()) to the UDP sink:
 * which replica delivered which change.
 */
export function replicaSinkNode(id: string, z: string, port: number, tag: string): FlowNode {
  const text = `Object.assign({ node: ${JSON.stringify(tag)}, topic: msg.topic, replica: global.get('replicaName'), pid: global.get('udpPid'), sent: Date.now() }, msg.payload)`;
  return {
    id, type: "function", z, name: "udp sink", outputs: 0, noerr: 0, initialize: "", finalize: "", libs: [],
    func: `global.get('udpSend')(JSON.stringify(${text}), ${port});\nreturn null;`, x: 500, y: 100, wires: [],
  };
}

/** A status node for the whole tab wired to the UDP sink: each node status with `kind: "status"` and the replica. */
export function statusSinkNodes(z: string, port: number): FlowNode[] {
  const text = "{ kind: 'status', replica: global.get('replicaName'), pid: global.get('udpPid'), sent: Date.now(), source: msg.status.source && msg.status.source.id, fill: msg.status.fill, shape: msg.status.shape, text: msg.status.text }";
  return [
    { id: "replica-status", type: "status", z, name: "", scope: null, x: 100, y: 700, wires: [["replica-status-fn"]] },
    {
      id: "replica-status-fn", type: "function", z, name: "status sink", outputs: 0, noerr: 0, initialize: "", finalize: "", libs: [],
      func: `global.get('udpSend')(JSON.stringify(${text}), ${port});\nreturn null;`, x: 300, y: 700, wires: [],
    },
  ];
}
