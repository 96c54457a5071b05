/**
 * A real Node-RED process with this package installed from its packed tarball, for end-to-end tests.
 *
 *   const nr = await startNodeRed();          // packs once per test run, installs, starts, waits for the admin API
 *   await nr.deploy(flows, { cfg: { apiKey } });
 *   ...
 *   await nr.stop();                          // SIGINT, then SIGKILL after a grace period; removes the user dir
 *
 * The tarball is the one named by NOOJEE_TARBALL (CI packs once, before anything is built, and every end-to-end test,
 * the demo and the version matrix install that same file); otherwise the repo root is packed with `npm pack`, which
 * builds the package through its "prepack" script exactly as a release does. Several test files share one tarball
 * through a module-level promise. `nodeRedEntry` / `nodeBinary` let a version
 * matrix run another Node-RED install under another node binary.
 *
 * Every started process is tracked: `stopAllNodeRed()` stops the ones still running (for after hooks), and a
 * synchronous process "exit" handler SIGKILLs any survivor so a crashed test run leaves no Node-RED behind. Starting,
 * watching and stopping the process is scripts/lib/processes.ts, which `npm start` uses too.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  describeExit, freePort, killAllChildren, type LongRunning, nodeRedSettings, run, startNodeRedProcess, type StopResult,
} from "../../scripts/lib/processes";
import { nodeBinary, nodeRedEntry } from "./node-red-under-test";

export { freePort, type StopResult };

/** The repository root (this file is compiled to dist/test/harness/). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/** The fixed credential secret of the test user dirs (flows_cred.json is encrypted with it). */
export const CREDENTIAL_SECRET = "e2e-credential-secret-do-not-use-elsewhere";

export interface NodeRedOptions {
  /** Node-RED's red.js. Default: the Node-RED under test (the version matrix's, else the repo's devDependency). */
  nodeRedEntry?: string;
  /** The node binary that runs Node-RED. Default: the matrix's NOOJEE_NODE_BINARY, else process.execPath. */
  nodeBinary?: string;
  /** The package tarball to install. Default: packPackage() (one pack per test run). */
  tarball?: string;
  /** Extra settings, shallow-merged over the defaults. */
  settings?: Record<string, unknown>;
  /**
   * JavaScript appended to the settings file after `module.exports = {...}`, for settings JSON cannot hold
   * (functions in functionGlobalContext, e.g. `module.exports.functionGlobalContext = { mem: () => process.memoryUsage() }`).
   */
  settingsCode?: string;
  /** Extra environment variables for the Node-RED process. */
  env?: Record<string, string>;
  /** Node.js options before red.js, e.g. ["--expose-gc"]. */
  nodeArgs?: string[];
  /** Bound for the admin API to answer after spawning. Default 60 s. */
  startTimeoutMs?: number;
  /** Bound for `npm install` of the tarball. Default 120 s. */
  installTimeoutMs?: number;
  /** false: start without the package (a user dir with only its package.json), e.g. to install it through the editor. */
  installPackage?: boolean;
  /**
   * Flows (and clear-text credentials by node id) to write as the user dir's flows.json / flows_cred.json before
   * starting, as a saved flow file an upgraded install finds; Node-RED encrypts the credentials on its next save.
   */
  savedFlows?: { flows: unknown[]; credentials?: Record<string, Record<string, string>> };
}

export interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

export interface NodeSetInfo {
  id: string;
  name: string;
  types: string[];
  enabled: boolean;
  module: string;
  version?: string;
  err?: unknown;
  [key: string]: unknown;
}

// ------------------------------------------------------------------ packing

let packed: Promise<string> | undefined;
let packDir: string | undefined;

/**
 * The tarball under test, once per test run: NOOJEE_TARBALL when set, else a fresh `npm pack` of the repo root
 * (prepack builds the package). Resolves with the tarball's absolute path.
 */
export function packPackage(): Promise<string> {
  packed ??= tarballUnderTest().catch((err: unknown) => {
    packed = undefined; // let a later caller retry instead of inheriting a stale failure
    throw err;
  });
  return packed;
}

async function tarballUnderTest(): Promise<string> {
  const given = process.env.NOOJEE_TARBALL;
  if (given) {
    const tarball = path.resolve(given);
    if (!fs.existsSync(tarball)) throw new Error(`packPackage: NOOJEE_TARBALL names ${tarball}, which does not exist`);
    return tarball;
  }
  packDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "noojee-pack-"));
  const out = await run("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: REPO_ROOT, timeoutMs: 300_000 });
  let filename: string | undefined;
  try {
    // prepack's build prints before npm's JSON: take the JSON array at the end of stdout.
    const parsed = JSON.parse(out.stdout.slice(out.stdout.lastIndexOf("\n[") + 1)) as Array<{ filename?: string }>;
    filename = parsed[0]?.filename;
  } catch {
    // fall through to the directory listing
  }
  filename ??= fs.readdirSync(packDir).find((f) => f.endsWith(".tgz"));
  if (!filename) throw new Error(`packPackage: npm pack produced no tarball\n${out.stdout}\n${out.stderr}`);
  // --json gives the bare file name (scoped packages become "scope-name-1.0.0.tgz"); basename() guards anyway.
  const tarball = path.join(packDir, path.basename(filename));
  if (!fs.existsSync(tarball)) throw new Error(`packPackage: ${tarball} not found after npm pack\n${out.stderr}`);
  return tarball;
}

/** The entries of a tarball, as `tar -tzf` lists them (e.g. "package/dist/nodes/noojee-config.js"). */
export async function listTarball(tarball: string): Promise<string[]> {
  const out = await run("tar", ["-tzf", tarball], { timeoutMs: 30_000 });
  return out.stdout.split("\n").filter((line) => line !== "");
}

/** One file of a tarball as text (`tar -xzOf`). */
export async function readFromTarball(tarball: string, entry: string): Promise<string> {
  return (await run("tar", ["-xzOf", tarball, entry], { timeoutMs: 30_000 })).stdout;
}

// ------------------------------------------------------------------ processes

const live = new Set<NodeRedProcess>();
const tempDirs = new Set<string>();

/** Synchronous last-resort cleanup: SIGKILL every child still running, remove every temp dir. */
function cleanUpNow(): void {
  killAllChildren();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  if (packDir) fs.rmSync(packDir, { recursive: true, force: true });
}

process.on("exit", cleanUpNow);

// A signal (Ctrl-C on a mocha run) ends node without "exit" handlers: clean up, then let the signal do what it
// would have done. Mocha's serial runner installs no SIGINT handler of its own.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  const onSignal = (): void => {
    cleanUpNow();
    process.removeListener(signal, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

/** Stops every Node-RED this module started that is still running (for mocha after hooks). */
export async function stopAllNodeRed(): Promise<void> {
  await Promise.all([...live].map((nr) => nr.stop()));
}

/** Packs (once), creates a user dir, installs the tarball, starts Node-RED and waits for its admin API. */
export async function startNodeRed(options: NodeRedOptions = {}): Promise<NodeRedProcess> {
  const install = options.installPackage ?? true;
  const tarball = install ? (options.tarball ?? (await packPackage())) : undefined;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-nr-"));
  tempDirs.add(userDir);
  try {
    fs.writeFileSync(path.join(userDir, "package.json"), JSON.stringify({ name: "nr-user", private: true }, null, 2));
    if (tarball) {
      await run("npm", ["install", "--no-audit", "--no-fund", "--offline-first", "--prefix", userDir, tarball], {
        cwd: userDir,
        timeoutMs: options.installTimeoutMs ?? 120_000,
      });
    }
    if (options.savedFlows) {
      fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(options.savedFlows.flows));
      fs.writeFileSync(path.join(userDir, "flows_cred.json"), JSON.stringify(options.savedFlows.credentials ?? {}));
    }
    const port = await freePort();
    const settings = nodeRedSettings(port, CREDENTIAL_SECRET, options.settings);
    const settingsFile = path.join(userDir, "settings.js");
    fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n${options.settingsCode ?? ""}\n`);
    return await NodeRedProcess.start(
      {
        nodeBinary: options.nodeBinary ?? nodeBinary(),
        entry: options.nodeRedEntry ?? nodeRedEntry(),
        userDir,
        settingsFile,
        port,
        env: options.env ?? {},
        nodeArgs: options.nodeArgs ?? [],
      },
      options.startTimeoutMs ?? 60_000,
    );
  } catch (err) {
    removeDir(userDir);
    throw err;
  }
}

function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.delete(dir);
}

interface ProcessSpec {
  nodeBinary: string;
  entry: string;
  userDir: string;
  settingsFile: string;
  port: number;
  env: Record<string, string>;
  nodeArgs: string[];
}

/** One Node-RED process, with the admin API calls the tests make. */
export class NodeRedProcess {
  readonly userDir: string;
  readonly port: number;
  readonly url: string;
  private readonly process: LongRunning;

  private constructor(private readonly spec: ProcessSpec) {
    this.userDir = spec.userDir;
    this.port = spec.port;
    this.url = `http://127.0.0.1:${spec.port}`;
    this.process = startNodeRedProcess(spec);
    live.add(this);
  }

  /** Spawns Node-RED and resolves once its admin API answers; stops it again when that fails. */
  static async start(spec: ProcessSpec, startTimeoutMs: number): Promise<NodeRedProcess> {
    const nr = new NodeRedProcess(spec);
    try {
      await nr.waitUntilReady(startTimeoutMs);
    } catch (err) {
      await nr.stop();
      throw err;
    }
    return nr;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.process.running;
  }

  /** Everything the process wrote to stdout and stderr so far, interleaved in arrival order. */
  log(): string {
    return this.process.log();
  }

  /** Polls GET /settings until it answers 200; fails early if the process exits. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    try {
      await this.process.waitForHttp(`${this.url}/settings`, timeoutMs, { Accept: "application/json" });
    } catch (err) {
      throw new Error(`Node-RED admin API: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Deployment of `flows` (`full` by default; `flows` or `nodes` restart only what changed, like the editor's other
   * deploy modes); `credentials` maps a node id to its credentials, sent inline on that node.
   */
  async deploy(
    flows: FlowNode[],
    credentials: Record<string, Record<string, string>> = {},
    type: "full" | "flows" | "nodes" = "full",
  ): Promise<void> {
    const known = new Set(flows.map((n) => n.id));
    for (const id of Object.keys(credentials)) {
      if (!known.has(id)) throw new Error(`deploy: credentials for unknown node ${id}`);
    }
    const body = flows.map((n) => (credentials[n.id] ? { ...n, credentials: credentials[n.id] } : n));
    const res = await this.request("POST", "/flows", {
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": type },
    });
    if (res.status !== 204 && res.status !== 200) {
      throw new Error(`deploy: HTTP ${res.status}: ${res.text}\n${this.log()}`);
    }
  }

  /** GET /nodes: the registered node sets. */
  async getNodes(): Promise<NodeSetInfo[]> {
    return this.getJson<NodeSetInfo[]>("/nodes");
  }

  /** GET /icons: an object mapping each module name to its icon file names. */
  async getIcons(): Promise<Record<string, string[]>> {
    return this.getJson<Record<string, string[]>>("/icons");
  }

  /** GET /flows as raw text (to search it) and parsed. */
  async getFlows(): Promise<{ text: string; flows: FlowNode[] }> {
    const res = await this.request("GET", "/flows", { headers: { Accept: "application/json" } });
    if (res.status !== 200) throw new Error(`GET /flows: HTTP ${res.status}: ${res.text}`);
    return { text: res.text, flows: JSON.parse(res.text) as FlowNode[] };
  }

  /** Any admin API request; resolves with the status, content type and body text. */
  async request(
    method: string,
    urlPath: string,
    init: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<{ status: number; contentType: string; text: string }> {
    const res = await fetch(`${this.url}${urlPath}`, {
      method,
      headers: init.headers ?? {},
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", text: await res.text() };
  }

  private async getJson<T>(urlPath: string): Promise<T> {
    const res = await this.request("GET", urlPath, { headers: { Accept: "application/json" } });
    if (res.status !== 200) throw new Error(`GET ${urlPath}: HTTP ${res.status}: ${res.text}`);
    return JSON.parse(res.text) as T;
  }

  /**
   * SIGINT (Node-RED closes its flows and exits), SIGTERM after `graceMs`, SIGKILL after as long again.
   * Resolves once the process has exited; removes the user dir. Safe to call more than once.
   */
  async stop(graceMs = 15_000): Promise<StopResult> {
    const result = await this.process.stop(graceMs);
    live.delete(this);
    if (!this.killed) removeDir(this.userDir);
    return result;
  }

  private killed = false;

  /**
   * SIGKILL, as a crash or a power cut would end it: no close handler runs. The user dir stays, for restart(); this
   * instance's stop() then does nothing more.
   */
  async kill(): Promise<StopResult> {
    this.killed = true;
    const result = await this.process.kill();
    live.delete(this);
    return result;
  }

  /** A new Node-RED process on the same user dir, settings and port (after kill() or stop-less exit). */
  async restart(startTimeoutMs = 60_000): Promise<NodeRedProcess> {
    if (this.running) throw new Error(`restart: this Node-RED is still running (${describeExit(this.process.exit)}); kill() it first`);
    return NodeRedProcess.start(this.spec, startTimeoutMs);
  }
}
