/**
 * Shared pieces of the benchmark (bench.ts) and the fault soak (soak.ts): a UDP sink for the msgs that leave
 * Node-RED, flow builders, process statistics from /proc, and a memory probe flow.
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import type { FlowNode, NodeRedOptions, NodeRedProcess } from "../harness/node-red-process";
import { resumeFilePath } from "../../nodes/lib/poll/resume-file";
import type { Kill } from "./soak-accounting";

/** Receives one JSON text per datagram and hands it on parsed, with the arrival time (performance.now()). */
export class UdpSink {
  private readonly socket = dgram.createSocket("udp4");
  received = 0;
  malformed = 0;

  constructor(private readonly onMessage: (message: Record<string, unknown>, at: number) => void) {
    this.socket.on("message", (buffer) => {
      const at = performance.now();
      this.received += 1;
      let parsed: unknown;
      try {
        parsed = JSON.parse(buffer.toString("utf8"));
      } catch {
        this.malformed += 1;
        return;
      }
      if (typeof parsed === "object" && parsed !== null) this.onMessage(parsed as Record<string, unknown>, at);
      else this.malformed += 1;
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, "127.0.0.1", () => resolve()));
    // Bursts of thousands of datagrams: a large receive buffer keeps the kernel from dropping them.
    try {
      this.socket.setRecvBufferSize(32 * 1024 * 1024);
    } catch {
      // capped by net.core.rmem_max; the default is still large enough for our rates
    }
  }

  get port(): number {
    return (this.socket.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

// ------------------------------------------------------------------ flows

export function configNode(id: string, host: string): FlowNode {
  return { id, type: "noojee-config", name: `PBX ${host}`, host, verifyTls: true };
}

export function subscribeNode(id: string, z: string, server: string, extensions: readonly string[], timeout: number, wires: string[]): FlowNode {
  return { id, type: "noojee-subscribe", z, name: "", server, extensions: extensions.join(","), timeout, x: 100, y: 100, wires: [wires] };
}

/** msg.payload (an object) to its JSON text: the udp out node sends strings and Buffers. */
export function jsonNode(id: string, z: string, wires: string[]): FlowNode {
  return { id, type: "json", z, name: "", property: "payload", action: "str", pretty: false, x: 300, y: 100, wires: [wires] };
}

export function udpOutNode(id: string, z: string, port: number): FlowNode {
  return {
    id, type: "udp out", z, name: "", addr: "127.0.0.1", iface: "", port: String(port), ipv: "udp4", outport: "",
    base64: false, multicast: "false", x: 500, y: 100, wires: [],
  };
}

/**
 * A function node that sends JSON.stringify(msg.payload) (with `tag`: plus the node and msg.topic) to the sink through a socket made in settings.js
 * (UDP_SEND_SETTINGS). Unlike `udp out`, which only starts taking msgs 75 ms after it is (re)started, it is ready at
 * once: the soak redeploys every few seconds and must not count msgs a restarting sink drops.
 */
export function udpFunctionSinkNode(id: string, z: string, port: number, tag?: string): FlowNode {
  // With a tag, the datagram also names the node it came from (tag), the extension (msg.topic), the Node-RED process
  // (pid: which life of a killed and restarted Node-RED sent it) and when it was sent (sent, its Date.now()).
  const text = tag === undefined
    ? "msg.payload"
    : `Object.assign({ node: ${JSON.stringify(tag)}, topic: msg.topic, pid: global.get('udpPid'), sent: Date.now() }, msg.payload)`;
  return {
    id, type: "function", z, name: "udp sink", outputs: 0, noerr: 0, initialize: "", finalize: "", libs: [],
    func: `global.get('udpSend')(JSON.stringify(${text}), ${port});\nreturn null;`, x: 500, y: 100, wires: [],
  };
}

export const UDP_SEND_SETTINGS =
  "{ const udp = require('node:dgram').createSocket('udp4'); udp.unref();\n" +
  "  module.exports.functionGlobalContext = Object.assign(module.exports.functionGlobalContext || {}, {\n" +
  "    udpSend: (text, port) => udp.send(text, port, '127.0.0.1'), udpPid: process.pid }); }";

// ------------------------------------------------------------------ deploys

/** The http-in path of deployMarkerNodes: answers the number of the deploy whose flows run. */
export const DEPLOYED_PATH = "/perf/deployed";

/**
 * A GET path that answers `deploy`, the number of the deploy these nodes belong to (the function node changes with it,
 * so every deploy type restarts it). Node-RED answers POST /flows before it starts the new flows: until this path
 * answers the new number, the new nodes may not exist yet (a msg sent to them is dropped, an http-in of theirs is a 404).
 */
export function deployMarkerNodes(z: string, deploy: number): FlowNode[] {
  return [
    { id: "perf-deployed-in", type: "http in", z, name: "", url: DEPLOYED_PATH, method: "get", upload: false, swaggerDoc: "", x: 100, y: 500, wires: [["perf-deployed-fn"]] },
    {
      id: "perf-deployed-fn", type: "function", z, name: "deploy number", outputs: 1, noerr: 0, initialize: "", finalize: "", libs: [],
      func: `msg.payload = "${deploy}";\nreturn msg;`, x: 300, y: 500, wires: [["perf-deployed-out"]],
    },
    { id: "perf-deployed-out", type: "http response", z, name: "", statusCode: "", headers: {}, x: 500, y: 500, wires: [] },
  ];
}

/**
 * Deploys `flows` (which hold deployMarkerNodes(z, `deploy`)) and resolves once they run: Node-RED starts the nodes of a
 * flow one after the other without letting other work in between, so once the marker answers, its flow has started.
 */
/** Resolves once the flows of deploy number `deploy` run (after a restart too: the admin API answers before they start). */
export async function flowsRunning(nr: NodeRedProcess, deploy: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // Between the old flow's stop and the new one's start the path is a 404 or is never answered (its msg is dropped).
    const res = await nr.request("GET", DEPLOYED_PATH, { timeoutMs: 1000 }).catch(() => undefined);
    if (res?.status === 200 && res.text === String(deploy)) return;
    if (Date.now() > end) throw new Error(`deploy ${deploy}: its flows did not start within ${timeoutMs} ms (last: ${res ? `HTTP ${res.status} ${res.text.slice(0, 40)}` : "no answer"})`);
    await sleep(20);
  }
}

export async function deployAndWait(
  nr: NodeRedProcess, flows: FlowNode[], deploy: number, credentials: Record<string, Record<string, string>> = {},
  type: "full" | "flows" | "nodes" = "full", timeoutMs = 30_000,
): Promise<void> {
  await nr.deploy(flows, credentials, type);
  await flowsRunning(nr, deploy, timeoutMs);
}

/** GET /perf/mem on the Node-RED port: process.memoryUsage() after a full GC (needs MEMORY_PROBE_OPTIONS). */
export function memoryProbeNodes(z: string): FlowNode[] {
  return [
    { id: "perf-mem-in", type: "http in", z, name: "", url: "/perf/mem", method: "get", upload: false, swaggerDoc: "", x: 100, y: 300, wires: [["perf-mem-fn"]] },
    {
      id: "perf-mem-fn", type: "function", z, name: "memory", outputs: 1, noerr: 0, initialize: "", finalize: "", libs: [],
      func: "const gc = global.get('gc'); if (gc) { gc(); gc(); }\nmsg.payload = global.get('memoryUsage')();\nreturn msg;",
      x: 300, y: 300, wires: [["perf-mem-out"]],
    },
    { id: "perf-mem-out", type: "http response", z, name: "", statusCode: "", headers: {}, x: 500, y: 300, wires: [] },
  ];
}

/** Node-RED options that let the memory probe force a GC and read process.memoryUsage(). */
export const MEMORY_PROBE_OPTIONS: Pick<NodeRedOptions, "nodeArgs" | "settingsCode"> = {
  nodeArgs: ["--expose-gc"],
  settingsCode: "module.exports.functionGlobalContext = { memoryUsage: () => process.memoryUsage(), gc: global.gc };",
};

export interface MemoryUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export async function probeMemory(nr: NodeRedProcess): Promise<MemoryUsage> {
  const res = await nr.request("GET", "/perf/mem", { headers: { Accept: "application/json" } });
  if (res.status !== 200) throw new Error(`memory probe: HTTP ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as MemoryUsage;
}

// ------------------------------------------------------------------ /proc

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system, ms) and resident memory (bytes) of a process, from /proc. */
export function procStats(pid: number): { cpuMs: number; rssBytes: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name is in parentheses and may hold spaces: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMs: (utime + stime) * CLOCK_TICK_MS, rssBytes: rssKb * 1024 };
}

// ------------------------------------------------------------------ numbers

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export const MB = 1024 * 1024;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `--name value` and `--flag` from argv. */
export function parseArgs(argv: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) continue;
    const [name, inline] = arg.slice(2).split("=", 2);
    if (inline !== undefined) out.set(name, inline);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) out.set(name, argv[++i]);
    else out.set(name, true);
  }
  return out;
}

/** A small seeded PRNG (mulberry32), so a soak run can be replayed with --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What a kill leaves for the next process, read once the process is dead (nothing can replace it any more): the
 * savedAt and poll seqs of the position the config node `configId` had made durable (the resume file, or whatever
 * `readSaved` reads: a context store's files, soak-store.ts). A crash may re-send what the flow got after that
 * savedAt, and nothing older (soak-accounting.ts). `pid` is the killed process's, which its msgs carry.
 */
export function positionAtKill(userDir: string, pid: number | undefined, configId = "cfg", readSaved?: () => unknown): Kill {
  const kill: Kill = { at: performance.now(), wall: Date.now(), pid };
  try {
    const raw = readSaved ? readSaved() : JSON.parse(fs.readFileSync(resumeFilePath(userDir, configId), "utf8"));
    const file = (raw ?? {}) as { savedAt?: unknown; polls?: unknown };
    if (typeof file.savedAt === "number") kill.savedWall = file.savedAt;
    if (Array.isArray(file.polls)) kill.savedSeqs = file.polls.map((p) => Number((p as { seq?: unknown }).seq));
  } catch {
    // no position on disk yet: a restart reads the calls afresh, and may re-send no change
  }
  return kill;
}
