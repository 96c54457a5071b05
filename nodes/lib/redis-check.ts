/**
 * "Test connection" for the Replicas settings: connect to the Redis URL, sign in, PING, with a short deadline, and
 * say which problem stood in the way. Knows nothing of Node-RED; the result never carries the password.
 */
import * as net from "node:net";
import Redis from "ioredis";
import { maskRedisUrl, parseRedisUrl, redactRedisText, type RedisUrlProblem } from "./redis-url";
import { notRedis, TLS_CODE } from "./replicas/redis-errors";

export type RedisCheck =
  | { ok: true; status: "connected" }
  /**
   * refused, authFailed (wrong password), authRequired (none given), plainPort (rediss:// to a port without TLS),
   * notRedis (another kind of server answers there: an HTTP port, say).
   */
  | { ok: false; status: "refused" | "authFailed" | "authRequired" | "plainPort" | "notRedis" }
  /** tls, unreachable, error (the server's error answer): reason says more. */
  | { ok: false; status: "tls" | "unreachable" | "error"; reason: string }
  | { ok: false; status: "timeout"; seconds: number }
  | { ok: false; status: "invalidUrl"; reason: RedisUrlProblem };

/** Long enough for a Redis across a WAN, short enough for a dialog. */
export const REDIS_CHECK_TIMEOUT_MS = 3000;

export async function checkRedis(url: string, password: string | undefined, timeoutMs = REDIS_CHECK_TIMEOUT_MS): Promise<RedisCheck> {
  const parts = parseRedisUrl(url);
  if (typeof parts === "string") return { ok: false, status: "invalidUrl", reason: parts };
  const secrets = [password, parts.password];
  const client = new Redis(url.trim(), {
    ...(password !== undefined ? { password } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // One try: the dialog wants an answer, not a client that keeps reconnecting.
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // ioredis throws "Connection is closed." at the caller and reports the cause as an "error" event.
  let cause: (Error & { code?: string }) | undefined;
  client.on("error", (err: Error) => {
    cause ??= err;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs + 500);
  });
  try {
    const answer = await Promise.race([client.connect().then(() => client.ping()), deadline]);
    if (answer === "late") return { ok: false, status: "timeout", seconds: timeoutMs / 1000 };
    return { ok: true, status: "connected" };
  } catch (err) {
    const failure = (cause ?? err) as Error & { code?: string };
    return judge(failure, parts.tls, url, timeoutMs, (text) => redactRedisText(text, secrets));
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

async function judge(
  err: Error & { code?: string },
  tls: boolean,
  url: string,
  timeoutMs: number,
  redact: (text: string) => string,
): Promise<RedisCheck> {
  const message = String(err.message ?? err);
  if (/^WRONGPASS|^ERR invalid password|^ERR AUTH/i.test(message)) return { ok: false, status: "authFailed" };
  if (/^NOAUTH/i.test(message)) return { ok: false, status: "authRequired" };
  if (err.name === "ReplyError") return { ok: false, status: "error", reason: redact(message.split("\n")[0].slice(0, 200)) };
  if (err.code === "ECONNREFUSED") return { ok: false, status: "refused" };
  if (notRedis(err)) return { ok: false, status: "notRedis" };
  if (err.code !== undefined && TLS_CODE.test(err.code)) return { ok: false, status: "tls", reason: redact(`${message} (${err.code})`) };
  const timedOut = err.code === "ETIMEDOUT" || /timed out/i.test(message);
  // A plain Redis reads a TLS ClientHello as the start of a command and waits for the rest: the handshake times out.
  if (timedOut && tls && (await answersPlainRedis(url, timeoutMs))) return { ok: false, status: "plainPort" };
  if (timedOut) return { ok: false, status: "timeout", seconds: timeoutMs / 1000 };
  if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return { ok: false, status: "unreachable", reason: `host not found (${err.code})` };
  return { ok: false, status: "unreachable", reason: redact(err.code ? `${message} (${err.code})` : message) };
}

/** Whether the URL's host and port answer an unencrypted PING as Redis does (`+PONG`, or `-NOAUTH ...`). */
function answersPlainRedis(url: string, timeoutMs: number): Promise<boolean> {
  // Only the host and port are used: nothing secret is sent, just "PING".
  const { hostname, port } = new URL(maskRedisUrl(url.trim()).replace(/^rediss:/i, "http:"));
  return new Promise((resolve) => {
    const socket = net.connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ""));
    const done = (plain: boolean): void => {
      socket.destroy();
      resolve(plain);
    };
    socket.setTimeout(Math.min(timeoutMs, 1000), () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data: Buffer) => done(/^[+-]/.test(data.toString("latin1"))));
  });
}
