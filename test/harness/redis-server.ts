/**
 * A real Redis for the replica tests: Debian's redis-server, run unprivileged in the foreground on a free loopback
 * port, never saving to disk unless a test restarts it and must keep its data (`persistent`: append-only file in a
 * temp dir), with a password when one is given, with a TLS port as well when given a certificate. Stop, restart and
 * pause (SIGSTOP) it; stop() removes its dir. `startRedis()` starts one at once; `useRedisServer()` gives a suite one.
 * Missing redis-server fails the tests when NOOJEE_REQUIRE_REDIS=1 (CI) and skips them, with a visible message,
 * otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../proxy/tinyproxy";

export const REDIS_SERVER = "redis-server";

/** Call from a `before` hook: skips the suite (or fails it, in CI) when redis-server is not installed. */
export function requireRedis(context: Mocha.Context): void {
  if (spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore" }).error === undefined) return;
  const message = "redis-server is not installed (apt-get install -y redis-server)";
  if (process.env.NOOJEE_REQUIRE_REDIS === "1") throw new Error(`${message}; NOOJEE_REQUIRE_REDIS=1 requires it`);
  console.log(`    SKIPPED: ${message}: these tests did not run`);
  context.skip();
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Made at the first start (a suite filtered out never starts, nor stops, its server). */
  private dir = "";
  private output = "";
  port = 0;
  /** With `tls`: the port that speaks TLS only (`port` stays plain, for the tests' own commands). */
  tlsPort = 0;

  /**
   * `persistent`: an append-only file (fsync always), so that a restart keeps the keys; `password`: requirepass;
   * `tls`: the certificate and key of a second, TLS, port (clients are not asked for one).
   */
  constructor(private readonly persistent = false, private readonly password?: string, private readonly tls?: { key: Buffer; cert: Buffer }) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `rediss://127.0.0.1:${this.tlsPort}`;
  }

  /** Starts redis-server (on the same port after the first start) and resolves once it accepts connections. */
  async start(): Promise<void> {
    this.port ||= await freePort();
    this.dir ||= fs.mkdtempSync(path.join(os.tmpdir(), "noojee-redis-"));
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--daemonize", "no"];
    args.push(...(this.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
    if (this.password !== undefined) args.push("--requirepass", this.password);
    if (this.tls) {
      this.tlsPort ||= await freePort();
      fs.writeFileSync(path.join(this.dir, "tls.key"), this.tls.key);
      fs.writeFileSync(path.join(this.dir, "tls.pem"), this.tls.cert);
      args.push("--tls-port", String(this.tlsPort), "--tls-cert-file", path.join(this.dir, "tls.pem"),
        "--tls-key-file", path.join(this.dir, "tls.key"), "--tls-auth-clients", "no");
    }
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout?.on("data", (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    child.stderr?.on("data", (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const end = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null || Date.now() > end) throw new Error(`redis-server did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends the server (SIGKILL by default: no goodbye to its clients beyond the kernel's). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.signalCode === "SIGSTOP" || this.paused) child.kill("SIGCONT");
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await this.exited;
    this.child = undefined;
    this.paused = false;
  }

  /** Stopped, then started again on the same port (keeping its keys only when persistent). */
  async restart(): Promise<void> {
    await this.kill("SIGTERM");
    await this.start();
  }

  private paused = false;

  /** SIGSTOP: connections stay open and nothing answers, like a hung server or a lost network. */
  pause(): void {
    if (!this.child) throw new Error("redis-server is not running");
    this.child.kill("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.child?.kill("SIGCONT");
    this.paused = false;
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
    if (this.dir !== "") fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RedisOptions {
  password?: string;
  tls?: { key: Buffer; cert: Buffer };
}

/** A started RedisServer (no persistence; with `requirepass` when a password is given, a TLS port with `tls`). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const server = new RedisServer(false, options.password, options.tls);
  await server.start();
  return server;
}

/**
 * A suite's own redis-server, as Mocha hooks: checked for (requireRedis) and started in the `before` this registers,
 * stopped in its `after`. Call it first in the `describe` body, so that the suite's own hooks find it running.
 */
export function useRedisServer(options: RedisOptions = {}): RedisServer {
  const server = new RedisServer(false, options.password, options.tls);
  before(async function () {
    requireRedis(this);
    await server.start();
  });
  after(async () => server.stop());
  return server;
}
