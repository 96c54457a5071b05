/**
 * Shared pieces of the benchmark (bench.ts) and the fault soak (soak.ts): a UDP sink for the msgs that leave
 * Node-RED, flow builders, process statistics from /proc, and a memory probe flow.
 */
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import type { FlowNode, NodeRedOptions, NodeRedProcess } from "../harness/node-red-process";
import { resumeFilePath } from "../../nodes/lib/poll/resume-file";
import { type Kill, RESEND_WINDOW_MS } from "./soak-accounting";

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
  // With a tag, the datagram also names the node it came from (tag) and the extension (msg.topic).
  const text = tag === undefined ? "msg.payload" : `Object.assign({ node: ${JSON.stringify(tag)}, topic: msg.topic }, msg.payload)`;
  return {
    id, type: "function", z, name: "udp sink", outputs: 0, noerr: 0, initialize: "", finalize: "", libs: [],
    func: `global.get('udpSend')(JSON.stringify(${text}), ${port});\nreturn null;`, x: 500, y: 100, wires: [],
  };
}

export const UDP_SEND_SETTINGS =
  "{ const udp = require('node:dgram').createSocket('udp4'); udp.unref();\n" +
  "  module.exports.functionGlobalContext = Object.assign(module.exports.functionGlobalContext || {}, {\n" +
  "    udpSend: (text, port) => udp.send(text, port, '127.0.0.1') }); }";

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
 * Read as Node-RED is killed: since when (on this process's performance.now() clock) what the flow was sent is not
 * covered by the position in the resume file of config node `configId` (its savedAt, the moment the position was
 * taken). Without a readable file, RESEND_WINDOW_MS before the kill (soak-accounting.ts).
 */
export function uncoveredAtKill(userDir: string, configId = "cfg", readSaved?: () => unknown): Kill {
  const at = performance.now();
  try {
    // The resume file, unless `readSaved` reads the position where it is kept instead (a context store: soak-store.ts).
    const raw = readSaved ? readSaved() : JSON.parse(fs.readFileSync(resumeFilePath(userDir, configId), "utf8"));
    const file = (raw ?? {}) as { savedAt?: unknown; polls?: unknown };
    const saved = file.savedAt;
    const savedSeqs = Array.isArray(file.polls) ? file.polls.map((p) => Number((p as { seq?: unknown }).seq)) : undefined;
    if (typeof saved === "number") return { at, uncoveredFrom: at - (Date.now() - saved), wall: Date.now(), savedWall: saved, savedSeqs };
  } catch {
    // no position on disk yet
  }
  return { at, uncoveredFrom: at - RESEND_WINDOW_MS, wall: Date.now() };
}
