/**
 * A real HTTP proxy for the proxy tests: Debian's tinyproxy, run unprivileged in the foreground on 127.0.0.1 with its
 * own config and log file. Missing tinyproxy fails the tests when NOOJEE_REQUIRE_PROXY=1 (CI) and skips them, with a
 * visible message, otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const TINYPROXY = "tinyproxy";

/** Call from a `before` hook: skips the suite (or fails it, in CI) when tinyproxy is not installed. */
export function requireTinyproxy(context: Mocha.Context): void {
  if (spawnSync(TINYPROXY, ["-v"], { stdio: "ignore" }).error === undefined) return;
  const message = "tinyproxy is not installed (apt-get install -y tinyproxy)";
  if (process.env.NOOJEE_REQUIRE_PROXY === "1") throw new Error(`${message}; NOOJEE_REQUIRE_PROXY=1 requires it`);
  console.log(`    SKIPPED: ${message}: these tests did not run`);
  context.skip();
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

export class Tinyproxy {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-tinyproxy-"));
  readonly logFile = path.join(this.dir, "tinyproxy.log");
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts tinyproxy (on `port`, or a free one the first time) and resolves once it accepts connections. */
  async start(port?: number): Promise<void> {
    this.port = port ?? (this.port || (await freePort()));
    const conf = path.join(this.dir, "tinyproxy.conf");
    // No ConnectPort line: CONNECT is allowed to any port (the fake PBXs listen on random ones).
    fs.writeFileSync(
      conf,
      [`Port ${this.port}`, "Listen 127.0.0.1", "Allow 127.0.0.1", "Timeout 600", "MaxClients 50",
        `LogFile "${this.logFile}"`, "LogLevel Connect", ""].join("\n"),
    );
    const child = spawn(TINYPROXY, ["-d", "-c", conf], { stdio: "ignore" });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const end = Date.now() + 5000;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null || Date.now() > end) throw new Error(`tinyproxy did not start; log:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ends the proxy at once (SIGKILL: no goodbye to open connections beyond the kernel's). */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** The targets of the CONNECT requests tinyproxy received, e.g. `127.0.0.1:41234`. */
  connects(): string[] {
    return [...this.log().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => m[1]);
  }
}
