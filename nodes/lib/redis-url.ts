/**
 * Redis URLs as the Replicas settings take them (`redis[s]://[[user]:password@]host[:port][/db]`): their parts, and
 * how one is shown (log, status, dialog) without its password. Knows nothing of Node-RED.
 */
/** What a key prefix may hold: short, and no character that means something in a Redis key pattern. */
export const KEY_PREFIX = /^[A-Za-z0-9:_.-]{1,64}$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/;
const HOST_PORT = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/;

/** Why a Redis URL cannot be used: a key under noojee-config.validation.redisReason. */
export type RedisUrlProblem = "empty" | "space" | "scheme" | "query" | "path" | "host" | "port" | "encoding";

export interface RedisUrlParts {
  tls: boolean;
  username: string;
  password: string;
}

/** The parts of a Redis URL (`redis[s]://[[user]:password@]host[:port][/db]`), or the reason it is not one. */
export function parseRedisUrl(value: string): RedisUrlParts | RedisUrlProblem {
  const raw = value.trim();
  if (raw === "") return "empty";
  if (/\s/.test(raw)) return "space";
  const scheme = SCHEME.exec(raw);
  if (!scheme || !/^rediss?$/i.test(scheme[1])) return "scheme";
  const rest = raw.slice(scheme[0].length);
  if (rest.includes("?") || rest.includes("#")) return "query";
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  // A database number, as ioredis reads the path; nothing else may follow the host.
  if (path !== "" && path !== "/" && !/^\/\d{1,5}$/.test(path)) return "path";
  const at = authority.lastIndexOf("@");
  const userinfo = at === -1 ? "" : authority.slice(0, at);
  const parts = HOST_PORT.exec(authority.slice(at + 1));
  if (!parts || parts[1] === "" || !(IPV6_LITERAL.test(parts[1]) || HOST_NAME.test(parts[1]))) return "host";
  if (parts[2] !== undefined && !(/^\d{1,5}$/.test(parts[2]) && Number(parts[2]) >= 1 && Number(parts[2]) <= 65535)) return "port";
  const colon = userinfo.indexOf(":");
  try {
    return {
      tls: scheme[1].toLowerCase() === "rediss",
      username: decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon)),
      password: colon === -1 ? "" : decodeURIComponent(userinfo.slice(colon + 1)),
    };
  } catch {
    return "encoding";
  }
}

/**
 * A Redis URL fit to show: `redis://:***@host:6379/0`, `redis://user:***@host`. A user-info without a colon is
 * masked whole (`***@`), as a password typed there by mistake would otherwise show. Whatever else the text holds, as
 * it may be malformed in any way: everything between the scheme and the LAST "@" goes. A password typed unencoded
 * may hold "/", "?", "#" or "@" (base64 passwords hold "/"), so nothing before that "@" can be taken for the end of
 * the authority; a Redis URL's path (a database number) holds no "@", and masking too much is harmless.
 */
export function maskRedisUrl(url: string): string {
  const scheme = SCHEME.exec(url.trim());
  const start = scheme ? url.indexOf(scheme[0]) + scheme[0].length : 0;
  const at = url.lastIndexOf("@");
  if (at < start) return url;
  const userinfo = url.slice(start, at);
  const colon = userinfo.indexOf(":");
  // A user name holds none of these (URL rules): with one before the colon, the colon is in the password.
  const masked = colon === -1 || /[/?#@]/.test(userinfo.slice(0, colon)) ? "***" : `${userinfo.slice(0, colon)}:***`;
  return url.slice(0, start) + masked + url.slice(at);
}

/**
 * Text that may carry a Redis URL or password (a client library's error message) fit to show: each URL in it
 * masked (up to the next white space, so a password's "/", quote or "@" cannot end it early), and the given secrets,
 * as they are and percent-encoded, replaced by `***` wherever they appear.
 */
export function redactRedisText(text: string, secrets: Array<string | undefined>): string {
  let out = text.replace(/rediss?:\/\/\S*/gi, (url) => maskRedisUrl(url));
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join("***");
  }
  return out;
}
