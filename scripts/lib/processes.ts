/**
 * Child processes for `npm start` (scripts/demo.ts) and the tests' harness (test/harness/node-red-process.ts): run a
 * command to its end, start a long-running one and keep its output, wait for it to answer HTTP, stop it politely and
 * then firmly. Every child is tracked, and a synchronous "exit" handler SIGKILLs any still running, so neither a
 * crashed demo nor a crashed test run leaves a process behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.once("error", () => children.delete(child));
  return child;
}

/** SIGKILLs every tracked child still running (synchronous: for "exit" handlers and Ctrl-C during a start). */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

process.on("exit", killAllChildren);

/** Runs a command to completion; rejects with its output on a non-zero exit or after `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] }));
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const what = `${command} ${args.join(" ")}`;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what}: no exit within ${opts.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${err.message}`, { cause: err }));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${what} failed (${signal ?? `exit code ${code}`})\n${stdout}\n${stderr}`.trim()));
    });
  });
}

/** A free TCP port on 127.0.0.1 (asked from the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** NO_PROXY / no_proxy with loopback added: a process that talks only to local fakes never goes through a proxy. */
export function loopbackNoProxyEnv(): NodeJS.ProcessEnv {
  const add = (existing: string | undefined): string =>
    [existing, "127.0.0.1", "localhost"].filter((v) => v !== undefined && v !== "").join(",");
  return { NO_PROXY: add(process.env.NO_PROXY), no_proxy: add(process.env.no_proxy) };
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopResult extends ExitInfo {
  /** True when the process ignored SIGINT/SIGTERM and had to be SIGKILLed. */
  forced: boolean;
}

export function describeExit(info: ExitInfo | undefined): string {
  if (!info) return "still running";
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}

/** A long-running child whose output is kept (all of it, or handed line by line to `onLine`). */
export class LongRunning {
  readonly child: ChildProcess;
  /** Resolves once the process has exited and its output is drained. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly output: string[] = [];
  private stopping: Promise<StopResult> | undefined;

  constructor(
    command: string,
    args: string[],
    opts: { cwd: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; keepOutput?: boolean },
  ) {
    this.child = track(spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] }));
    const keep = opts.keepOutput ?? true;
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = "";
      stream?.setEncoding("utf8").on("data", (chunk: string) => {
        if (keep) this.output.push(chunk);
        if (!opts.onLine) return;
        rest += chunk;
        let nl;
        while ((nl = rest.indexOf("\n")) >= 0) {
          opts.onLine(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once("error", (err) => {
        this.output.push(`[spawn failed: ${err.message}]\n`);
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
      // "close": the process has exited and its stdio is drained, so log() is complete.
      this.child.once("close", (code, signal) => {
        this.exitInfo ??= { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Everything the process wrote to stdout and stderr so far, interleaved in arrival order. */
  log(): string {
    return this.output.join("");
  }

  /** Adds a line of our own to log(), e.g. a note that the process ignored a signal. */
  note(line: string): void {
    this.output.push(`${line}\n`);
  }

  /**
   * Polls `url` until it answers 2xx; fails at once when the process exits, and after `timeoutMs`. `headers` for
   * the request (e.g. Accept).
   */
  async waitForHttp(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<void> {
    const end = Date.now() + timeoutMs;
    let lastError = "no attempt yet";
    while (Date.now() < end) {
      if (!this.running) throw new Error(`exited before ${url} answered (${describeExit(this.exitInfo)})\n${this.log()}`);
      try {
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) return;
        lastError = `HTTP ${res.status}`;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise<void>((resolve) => {
        // Wake at once when the process exits instead of sleeping out the interval.
        const timer = setTimeout(resolve, 150);
        void this.exited.then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    throw new Error(`${url} did not answer within ${timeoutMs} ms (last: ${lastError})\n${this.log()}`);
  }

  /** SIGINT, then SIGTERM after `graceMs`, then SIGKILL after as long again. Safe to call more than once. */
  stop(graceMs: number): Promise<StopResult> {
    this.stopping ??= (async () => {
      let forced = false;
      for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
        if (!this.running) break;
        this.child.kill(signal);
        if (signal === "SIGKILL") forced = true;
        const exitedInTime = await Promise.race([
          this.exited.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
        ]);
        if (exitedInTime) break;
        this.note(`[still running ${graceMs} ms after ${signal}]`);
      }
      return { ...(await this.exited), forced };
    })();
    return this.stopping;
  }

  /** SIGKILL at once, as a crash or a power cut would end it; resolves when it has exited. */
  async kill(): Promise<StopResult> {
    if (this.running) this.child.kill("SIGKILL");
    const result: StopResult = { ...(await this.exited), forced: true };
    this.stopping ??= Promise.resolve(result);
    return result;
  }
}

/** Node-RED's command line: `node [nodeArgs] red.js -u <userDir> -s <settings>`, never through a proxy. */
export function startNodeRedProcess(spec: {
  nodeBinary: string;
  entry: string;
  userDir: string;
  settingsFile: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  onLine?: (line: string) => void;
  keepOutput?: boolean;
}): LongRunning {
  return new LongRunning(spec.nodeBinary, [...(spec.nodeArgs ?? []), spec.entry, "-u", spec.userDir, "-s", spec.settingsFile], {
    cwd: spec.userDir,
    env: { ...process.env, ...loopbackNoProxyEnv(), ...spec.env },
    onLine: spec.onLine,
    keepOutput: spec.keepOutput,
  });
}

/**
 * The settings both start Node-RED with: loopback only, a fixed credential secret, no telemetry, no tours or first-run
 * overlays, no online palette catalogue, info logging. `extra` is shallow-merged over them.
 */
export function nodeRedSettings(port: number, credentialSecret: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uiHost: "127.0.0.1",
    uiPort: port,
    flowFile: "flows.json",
    credentialSecret,
    telemetry: { enabled: false },
    editorTheme: { tours: false, palette: { catalogues: [] } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    ...extra,
  };
}
