/**
 * A real Redis for the tests: Debian's redis-server, run unprivileged in the foreground on a free loopback port, no
 * persistence, optionally with a password. Missing redis-server fails the tests when NOOJEE_REQUIRE_REDIS=1 (CI) and
 * skips them, with a visible message, otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { freePort } from "../proxy/tinyproxy";

export const REDIS_SERVER = "redis-server";

/** Call from a `before` hook: skips the suite (or fails it, in CI) when redis-server is not installed. */
export function requireRedisServer(context: Mocha.Context): void {
  if (spawnSync(REDIS_SERVER, ["--version"], { stdio: "ignore" }).error === undefined) return;
  const message = "redis-server is not installed (apt-get install -y redis-server)";
  if (process.env.NOOJEE_REQUIRE_REDIS === "1") throw new Error(`${message}; NOOJEE_REQUIRE_REDIS=1 requires it`);
  console.log(`    SKIPPED: ${message}: these tests did not run`);
  context.skip();
}

export interface TestRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (no password in it). */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts redis-server (with `requirepass` when a password is given) and resolves once it accepts connections. */
export async function startTestRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (options.password !== undefined) args.push("--requirepass", options.password);
  const child: ChildProcess = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${String(code)}: ${output}`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A loopback port that accepts connections and never answers (a firewall that black-holes, a hung server). */
export async function startSilentPort(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
