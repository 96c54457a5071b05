/**
 * `npm start`: a live demo without a PBX. After the build (done by the npm script), it
 *   1. packs this package (`npm pack`) and installs the tarball, with Node-RED Dashboard 2, in a demo user dir
 *      (.demo/node-red, kept between runs for speed; its flows, credentials and context start fresh each time);
 *   2. starts the packed package's PBX simulator (noojee-pbx-sim) on 127.0.0.1;
 *   3. starts Node-RED from the dev dependencies on 127.0.0.1 with that user dir;
 *   4. deploys the package's example flows through the Admin API, pointed at the simulator;
 *   5. prints the editor and board URLs, then the simulator's line per call, until Ctrl-C stops both.
 *
 * Options (after `npm start --`): --port <n> (Node-RED, default 1880 or a free port), --pbx-port <n> (default 8089
 * or a free port), --calls-per-minute <n> (default 12), --talk-seconds <a-b> (default 5-40), --seed <text>,
 * --dir <path> (default .demo), --no-dashboard. Exit code 0 after Ctrl-C / SIGTERM, 1 when something fails, 2 for bad arguments.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { parseSecondsRange } from "../sim/options";
import { describeExit, freePort, killAllChildren, LongRunning, nodeRedSettings, run, startNodeRedProcess } from "./lib/processes";

/** The repository root (this file runs as dist/scripts/demo.js). */
export const ROOT = path.resolve(__dirname, "..", "..");

export const DASHBOARD_PACKAGE = "@flowfuse/node-red-dashboard";
/** The Dashboard 2 release the live board example was made with. */
export const DASHBOARD_VERSION = "~1.31.0";
export const DEMO_API_KEY = "demo";
/** The simulator's extensions besides those the examples name (the live board shows 400 to 410). */
const BASE_EXTENSIONS = ["400", "401", "402", "403", "404", "405", "406", "407", "408", "409", "410"];
const CREDENTIAL_SECRET = "noojee-demo-credential-secret";

export interface DemoOptions {
  /** Node-RED's port; default 1880, or a free port when 1880 is taken. 0: any free port. */
  port?: number;
  /** The simulator's port; default 8089, or a free port when 8089 is taken. 0: any free port. */
  pbxPort?: number;
  callsPerMinute?: number;
  /** How long answered calls last, as the simulator's --talk-seconds takes it (default "5-40"). */
  talkSeconds?: string;
  seed?: string;
  /** The demo directory; default <repo>/.demo. */
  dir?: string;
  /** Install Dashboard 2 and deploy the live board (default true). */
  dashboard?: boolean;
  /** Progress and the simulator's lines. Default: stdout. */
  print?: (line: string) => void;
}

export interface DemoTimings {
  packMs: number;
  installMs: number;
  pbxStartMs: number;
  nodeRedStartMs: number;
  deployMs: number;
  totalMs: number;
}

export interface Demo {
  editorUrl: string;
  /** The live board, when Dashboard 2 is installed. */
  boardUrl: string | undefined;
  pbxUrl: string;
  apiKey: string;
  /** The simulator's extensions, e.g. "100,400-410". */
  extensions: string;
  userDir: string;
  nodeRedLog: string;
  timings: DemoTimings;
  /** Process ids of Node-RED and the simulator. */
  pids: { nodeRed: number; pbx: number };
  /** Resolves when Node-RED or the simulator exits on its own (not through stop()), with a reason. */
  failed: Promise<string>;
  /** Stops Node-RED, then the simulator. Safe to call more than once. */
  stop(): Promise<void>;
}

// ------------------------------------------------------------------ ports

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function choosePort(wanted: number | undefined, preferred: number): Promise<number> {
  if (wanted !== undefined && wanted !== 0) return wanted;
  if (wanted === undefined && (await portIsFree(preferred))) return preferred;
  return freePort();
}

// ------------------------------------------------------------------ steps

/**
 * The tarball to install: a copy of NOOJEE_TARBALL when set (CI's one tarball, packed before any build), else a pack
 * of the tree that `npm start` has just built (--ignore-scripts: prepack would only build it a second time).
 */
async function pack(packDir: string): Promise<string> {
  fs.mkdirSync(packDir, { recursive: true });
  for (const old of fs.readdirSync(packDir)) if (old.endsWith(".tgz")) fs.rmSync(path.join(packDir, old));
  let packed: string;
  const given = process.env.NOOJEE_TARBALL;
  if (given) {
    packed = path.join(packDir, path.basename(given));
    fs.copyFileSync(given, packed);
  } else {
    const out = (await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", packDir], { cwd: ROOT, timeoutMs: 120_000 })).stdout;
    const start = out.indexOf("[");
    const filename = (JSON.parse(out.slice(start)) as Array<{ filename: string }>)[0].filename;
    packed = path.join(packDir, path.basename(filename));
  }
  // A name that changes with the content, so npm installs a rebuilt package instead of trusting its lockfile.
  const hash = createHash("sha256").update(fs.readFileSync(packed)).digest("hex").slice(0, 12);
  const named = packed.replace(/\.tgz$/, `-${hash}.tgz`);
  fs.renameSync(packed, named);
  return named;
}

async function install(userDir: string, tarball: string, dashboard: boolean): Promise<void> {
  const dependencies: Record<string, string> = {
    "node-red-contrib-noojee": `file:${path.relative(userDir, tarball)}`,
  };
  if (dashboard) dependencies[DASHBOARD_PACKAGE] = DASHBOARD_VERSION;
  const pkg = { name: "noojee-demo-user-dir", private: true, description: "Node-RED user dir of `npm start`", dependencies };
  fs.writeFileSync(path.join(userDir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", userDir], { cwd: userDir, timeoutMs: 300_000 });
}

/** Removes what a previous run left (flows, credentials, context, runtime config) but keeps the installed modules. */
function freshUserDir(userDir: string): void {
  fs.mkdirSync(userDir, { recursive: true });
  const keep = new Set(["node_modules", "package.json", "package-lock.json"]);
  for (const entry of fs.readdirSync(userDir)) {
    if (!keep.has(entry)) fs.rmSync(path.join(userDir, entry), { recursive: true, force: true });
  }
}

/**
 * The editor's user settings (Node-RED keeps them in .config.users.json, under "_" without adminAuth): the Debug
 * sidebar shows the messages of the tab in view only, so each example's debug nodes read on their own instead of
 * 19 of them mixed (the sidebar's filter, "current flow", which the user can change back).
 */
export function writeEditorSettings(userDir: string): void {
  const users = { _: { debug: { filter: "filterCurrent" } } };
  fs.writeFileSync(path.join(userDir, ".config.users.json"), `${JSON.stringify(users, null, 4)}\n`);
}

function writeSettings(userDir: string, port: number): string {
  const settings = nodeRedSettings(port, CREDENTIAL_SECRET, {
    editorTheme: { tours: false, palette: { catalogues: [] }, page: { title: "Noojee demo · Node-RED" } },
  });
  const file = path.join(userDir, "settings.js");
  fs.writeFileSync(file, `// Written by \`npm start\` (scripts/demo.ts) on each run.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`);
  return file;
}

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** "100,400,401,402,410" -> "100,400-402,410" (numeric order). */
export function formatExtensionRanges(extensions: readonly string[]): string {
  const sorted = [...new Set(extensions)].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    // Extend the run while the numbers follow each other and keep their width (so 099-100 is not one range).
    while (j + 1 < sorted.length && Number(sorted[j + 1]) === Number(sorted[j]) + 1 && sorted[j + 1].length === sorted[i].length) j++;
    parts.push(j > i + 1 ? `${sorted[i]}-${sorted[j]}` : sorted.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * The extensions the examples name (in subscribe nodes' lists and other nodes' Extension fields), added to 400-410,
 * and those the examples other than the live board watch, which get half of the calls so their debug nodes fill
 * quickly.
 */
export function demoExtensions(examplesDir: string): { extensions: string[]; focus: string[] } {
  const all = new Set(BASE_EXTENSIONS);
  const focus = new Set<string>();
  for (const file of fs.readdirSync(examplesDir).filter((f) => f.endsWith(".json"))) {
    for (const node of JSON.parse(fs.readFileSync(path.join(examplesDir, file), "utf8")) as FlowNode[]) {
      if (!node.type.startsWith("noojee-")) continue;
      const named = [node.extensions, node.extension].filter((v): v is string => typeof v === "string");
      for (const ext of named.flatMap((v) => v.split(",")).map((e) => e.trim())) {
        if (!/^\d{1,15}$/.test(ext)) continue;
        all.add(ext);
        if (node.type === "noojee-subscribe" && file !== "live-board.json") focus.add(ext);
      }
    }
  }
  const order = (a: string, b: string): number => Number(a) - Number(b) || a.localeCompare(b);
  return { extensions: [...all].sort(order), focus: [...focus].sort(order) };
}

/** The package's example flows, with their shared PBX configuration node pointed at the simulator. */
export function demoFlows(examplesDir: string, pbxUrl: string, apiKey: string, withBoard: boolean): FlowNode[] {
  // The simplest example first: its tab is the one the editor opens on.
  const order = ["incoming-calls.json", "answer-ringing-calls.json", "live-board.json"];
  const rank = (f: string): number => (order.includes(f) ? order.indexOf(f) : order.length);
  const files = fs
    .readdirSync(examplesDir)
    .filter((f) => f.endsWith(".json"))
    .filter((f) => withBoard || f !== "live-board.json")
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const flows: FlowNode[] = [];
  const ids = new Set<string>();
  for (const file of files) {
    for (const node of JSON.parse(fs.readFileSync(path.join(examplesDir, file), "utf8")) as FlowNode[]) {
      if (node.type === "noojee-config") {
        // The examples share one PBX configuration node (one id): deploy it once.
        if (ids.has(node.id)) continue;
        ids.add(node.id);
        flows.push({ ...node, name: `${String(node.name ?? "PBX")} (simulator)`, host: pbxUrl, verifyTls: false, credentials: { apiKey } });
      } else {
        flows.push(node);
      }
    }
  }
  return flows;
}

// ------------------------------------------------------------------ the demo

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const t0 = Date.now();
  const dir = path.resolve(options.dir ?? path.join(ROOT, ".demo"));
  const userDir = path.join(dir, "node-red");
  const dashboardWanted = options.dashboard ?? true;

  if (!fs.existsSync(path.join(ROOT, "dist", "sim", "cli.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first (`npm start` does it)");
  }
  print(`Packing node-red-contrib-noojee and installing it${dashboardWanted ? ` with Node-RED Dashboard 2` : ""} in ${path.relative(process.cwd(), userDir) || userDir} ...`);
  const tarball = await pack(path.join(dir, "pack"));
  const packMs = Date.now() - t0;
  freshUserDir(userDir);
  let dashboard = dashboardWanted;
  const tInstall = Date.now();
  try {
    await install(userDir, tarball, dashboard);
  } catch (err) {
    if (!dashboard) throw err;
    // Offline, or the registry refused: the demo still works, without the live board.
    print(`Could not install ${DASHBOARD_PACKAGE} (${(err as Error).message.split("\n")[0]}); continuing without the live board.`);
    dashboard = false;
    await install(userDir, tarball, false);
  }
  const installMs = Date.now() - tInstall;
  const installed = path.join(userDir, "node_modules", "node-red-contrib-noojee");
  const installedPkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as { bin: Record<string, string> };

  // The simulator, from the installed package's bin.
  const tPbx = Date.now();
  const pbxPort = await choosePort(options.pbxPort, 8089);
  const rate = options.callsPerMinute ?? 12;
  const { extensions, focus } = demoExtensions(path.join(installed, "examples"));
  const simArgs = [
    path.join(installed, installedPkg.bin["noojee-pbx-sim"]),
    "--port",
    String(pbxPort),
    "--api-key",
    DEMO_API_KEY,
    "--extensions",
    formatExtensionRanges(extensions),
    "--focus",
    formatExtensionRanges(focus),
    "--calls-per-minute",
    String(rate),
    "--talk-seconds",
    options.talkSeconds ?? "5-40",
  ];
  if (options.seed !== undefined) simArgs.push("--seed", options.seed);
  let stopping = false;
  let ready = false;
  let reportFailure: (reason: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (reportFailure = resolve));
  const pbxOutput: string[] = [];
  let onListening: (url: string) => void = () => undefined;
  const pbx = new LongRunning(process.execPath, simArgs, {
    cwd: dir,
    keepOutput: false,
    onLine: (line) => {
      pbxOutput.push(line);
      if (pbxOutput.length > 50) pbxOutput.shift();
      const m = /listening on (\S+)$/.exec(line);
      if (m) onListening(m[1]);
      // After the start: the simulator's line per call (and its stop lines, up to the demo's own "stopped").
      if (ready && !line.startsWith(" ")) print(`pbx  ${line}`);
    },
  });
  const pbxUrl = await new Promise<string>((resolve, reject) => {
    onListening = resolve;
    void pbx.exited.then((info) => {
      const reason = `the PBX simulator exited (${describeExit(info)})\n${pbxOutput.slice(-20).join("\n")}`;
      reject(new Error(reason));
      if (!stopping) reportFailure(reason);
    });
  });
  const pbxStartMs = Date.now() - tPbx;

  // Node-RED from the dev dependencies.
  const tNodeRed = Date.now();
  const port = await choosePort(options.port, 1880);
  print(`PBX simulator on ${pbxUrl}; starting Node-RED on port ${port} ...`);
  const settingsFile = writeSettings(userDir, port);
  writeEditorSettings(userDir);
  const nodeRedLog = path.join(dir, "node-red.log");
  const log = fs.createWriteStream(nodeRedLog, { flags: "w" });
  const logTail: string[] = [];
  const nodeRed = startNodeRedProcess({
    nodeBinary: process.execPath,
    entry: require.resolve("node-red/red.js", { paths: [ROOT] }),
    userDir,
    settingsFile,
    keepOutput: false,
    onLine: (line) => {
      log.write(`${line}\n`);
      logTail.push(line);
      if (logTail.length > 50) logTail.shift();
      if (ready && !stopping && /\[error\]/.test(line)) print(`node-red  ${line}`);
    },
  });
  void nodeRed.exited.then((info) => {
    if (!stopping) reportFailure(`Node-RED exited (${describeExit(info)}); see ${nodeRedLog}\n${logTail.slice(-20).join("\n")}`);
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping = true;
    stopped ??= (async () => {
      // Node-RED first, so its subscribe nodes do not report the simulator going away.
      await nodeRed.stop(15_000);
      await pbx.stop(5_000);
      await new Promise<void>((resolve) => log.end(resolve));
    })();
    return stopped;
  };

  try {
    const editorUrl = `http://127.0.0.1:${port}/`;
    await nodeRed.waitForHttp(editorUrl, 60_000);
    const nodeRedStartMs = Date.now() - tNodeRed;

    print("Deploying the example flows ...");
    const tDeploy = Date.now();
    const flows = demoFlows(path.join(installed, "examples"), pbxUrl, DEMO_API_KEY, dashboard);
    const res = await fetch(`${editorUrl}flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 204 && res.status !== 200) throw new Error(`deploying the example flows failed: HTTP ${res.status} ${await res.text()}`);
    const deployMs = Date.now() - tDeploy;

    const boardUrl = dashboard ? `http://127.0.0.1:${port}/dashboard/calls` : undefined;
    if (boardUrl) await nodeRed.waitForHttp(boardUrl, 30_000);
    ready = true;
    return {
      editorUrl,
      boardUrl,
      pbxUrl,
      apiKey: DEMO_API_KEY,
      extensions: formatExtensionRanges(extensions),
      userDir,
      nodeRedLog,
      pids: { nodeRed: nodeRed.pid ?? -1, pbx: pbx.pid ?? -1 },
      timings: { packMs, installMs, pbxStartMs, nodeRedStartMs, deployMs, totalMs: Date.now() - t0 },
      failed,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ------------------------------------------------------------------ command line

function usage(message: string): never {
  process.stderr.write(`npm start: ${message}\nOptions: --port <n> --pbx-port <n> --calls-per-minute <n> --talk-seconds <a-b> --seed <text> --dir <path> --no-dashboard\n`);
  process.exit(2);
}

function parseCommandLine(argv: string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        "pbx-port": { type: "string" },
        "calls-per-minute": { type: "string" },
        "talk-seconds": { type: "string" },
        seed: { type: "string" },
        dir: { type: "string" },
        "no-dashboard": { type: "boolean" },
      },
    }));
  } catch (err) {
    usage((err as Error).message.split("\n")[0]);
  }
  const port = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) > 65535) usage(`${name}: "${text}" is not a port number`);
    return Number(text);
  };
  const rate = values["calls-per-minute"];
  if (rate !== undefined && !/^\d+(\.\d+)?$/.test(rate)) usage(`--calls-per-minute: "${rate}" is not a number`);
  const talk = values["talk-seconds"];
  if (talk !== undefined) {
    try {
      parseSecondsRange("--talk-seconds", talk);
    } catch (err) {
      usage((err as Error).message);
    }
  }
  return {
    port: port("--port", values.port),
    pbxPort: port("--pbx-port", values["pbx-port"]),
    callsPerMinute: rate === undefined ? undefined : Number(rate),
    talkSeconds: talk,
    seed: values.seed,
    dir: values.dir,
    dashboard: !values["no-dashboard"],
  };
}

async function main(): Promise<void> {
  const options = parseCommandLine(process.argv.slice(2));
  let demo: Demo | undefined;
  let interrupted = false;
  const onSignal = (reason: string): void => {
    if (interrupted) return;
    interrupted = true;
    if (!demo) {
      // Still starting: end whatever runs (npm, the simulator, Node-RED) and leave.
      process.stdout.write(`\n${reason}: stopping the demo while it starts\n`);
      killAllChildren();
      process.exit(130);
    }
    process.stdout.write(`\n${reason}: stopping Node-RED and the PBX simulator ...\n`);
    void demo.stop().then(() => {
      process.stdout.write("Demo stopped.\n");
      process.exit(0);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  // `npm start` runs this through a shell that does not pass on a SIGTERM sent to npm alone: when the parent goes
  // away, stop as on Ctrl-C rather than leave Node-RED and the simulator running.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onSignal("parent process gone");
  }, 500).unref();

  try {
    demo = await startDemo(options);
  } catch (err) {
    process.stderr.write(`npm start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const t = demo.timings;
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const lines = [
    "",
    "Noojee demo running:",
    `  Node-RED editor  ${demo.editorUrl}   (the Debug sidebar shows the tab in view: calls appear within seconds)`,
    demo.boardUrl ? `  Live board       ${demo.boardUrl}` : "  Live board       not available (Dashboard 2 is not installed)",
    `  PBX simulator    ${demo.pbxUrl}   API key "${demo.apiKey}", extensions ${demo.extensions}`,
    `  Node-RED log     ${path.relative(process.cwd(), demo.nodeRedLog) || demo.nodeRedLog}`,
    `  Ready in ${s(t.totalMs)} s after the build (pack ${s(t.packMs)} s, install ${s(t.installMs)} s, Node-RED ${s(t.nodeRedStartMs)} s, deploy ${s(t.deployMs)} s)`,
    "Each call the simulator finishes is shown below. Ctrl-C stops everything.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
  const reason = await demo.failed;
  if (interrupted) return;
  process.stderr.write(`npm start: ${reason}\n`);
  await demo.stop();
  process.exit(1);
}

if (require.main === module) void main();
