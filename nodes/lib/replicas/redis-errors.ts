/**
 * What a Redis failure is called in a status or a log line: short, and never the URL's password. ioredis errors may
 * carry the address (`connect ECONNREFUSED 127.0.0.1:6379`), and a URL given back in a message could carry the
 * password: any `user:password@` is masked, and so is every secret passed in. Knows nothing of Node-RED.
 */

/** The room a status leaves after "coordination lost: " (a status holds 40 characters). */
export const STATUS_ROOM = 21;

/** Codes of Node's TLS failures: a certificate not trusted, expired or for another name, a failed handshake. */
export const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|EPROTO$|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;

/**
 * ioredis's words for a reply that is not Redis's protocol: the URL names a port where another kind of server answers
 * (an HTTP server sends "HTTP/1.1 400 ..." back to a command, which is "Unknown RESP type 72 \"H\"").
 */
const NOT_REDIS = /^(Unknown RESP type|Protocol error)/i;

/** Whether the failure is a server answering at the URL's port, but not as Redis does. */
export function notRedis(err: unknown): boolean {
  return err instanceof Error && NOT_REDIS.test(err.message);
}

/** What a user is told when the URL's port does not answer as Redis (ioredis's own text asks to report a bug). */
export const NOT_REDIS_DETAIL = "the server at that address does not answer as Redis does: check the port (Redis's is 6379)";

/** The commonest certificate failures said in the room a status leaves after "coordination lost: " (21 characters). */
const TLS_SHORT: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS: self-signed cert",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS: self-signed cert",
  CERT_HAS_EXPIRED: "TLS: cert expired",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS: unknown CA",
  UNABLE_TO_GET_ISSUER_CERT: "TLS: unknown CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "TLS: unknown CA",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS: wrong host name",
};

/** A TLS failure's short reason for a status (the log line has it whole), undefined for any other failure. */
export function tlsReason(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !TLS_CODE.test(code)) return undefined;
  return TLS_SHORT[code] ?? "TLS failed";
}

/** A connection failure whole for a log line: its message and code (`self-signed certificate (DEPTH_ZERO_...)`), masked. */
export function failureDetail(err: unknown, secrets: readonly string[] = []): string {
  if (notRedis(err)) return NOT_REDIS_DETAIL;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  // Node's AggregateError (each address family tried) has an empty message, the code says it all.
  // A full stop at its end is dropped: the log line goes on after it.
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0].trim().replace(/\.+$/, "");
  const text = typeof code === "string" && code !== "" && !message.includes(code) ? (message ? `${message} (${code})` : code) : message;
  return redactRedis(text || "unknown failure", secrets).slice(0, 200);
}

/** The errno code (ECONNREFUSED), or "Redis not reachable" while ioredis cannot connect; undefined for other failures. */
function connectionReason(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  // ioredis fails a command while it cannot connect with this (the cause goes to its error event).
  if (err instanceof Error && err.name === "MaxRetriesPerRequestError") return "Redis not reachable";
  return undefined;
}

/** A short reason: the errno code when there is one (ECONNREFUSED), else the message, masked and cut. */
export function redisReason(err: unknown, secrets: readonly string[] = []): string {
  if (notRedis(err)) return NOT_REDIS_DETAIL;
  const message = err instanceof Error ? err.message : String(err);
  return connectionReason(err) ?? redactRedis(message, secrets).slice(0, 80);
}

/**
 * A Redis failure in the room a status leaves after "coordination lost: " (STATUS_ROOM): a TLS failure's own short
 * text, "not a Redis server", an errno code, "Redis not reachable", "Redis too slow" (a try not answered in time, lease.ts's LateAnswer),
 * or the first word of Redis's error reply (`Redis LOADING`, `Redis NOAUTH`).
 */
export function redisStatus(err: unknown): string {
  if (notRedis(err)) return "not a Redis server";
  const known = tlsReason(err) ?? connectionReason(err)?.slice(0, STATUS_ROOM);
  if (known !== undefined) return known;
  if (err instanceof Error && err.name === "LateAnswer") return "Redis too slow";
  const word = /^[A-Z][A-Z_]+(?=\s|$)/.exec(err instanceof Error ? err.message : "")?.[0];
  return word === undefined ? "Redis failed" : `Redis ${word}`.slice(0, STATUS_ROOM);
}

/**
 * `text` with the user info of any URL, and each secret, replaced by `***`. The user info runs to the last "@" before
 * white space: an unencoded password may hold "/", "?", "#" or "@" (redis-url.ts maskRedisUrl).
 */
export function redactRedis(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)\S*@/gi, "$1***@");
  for (const secret of secrets) {
    if (secret.length >= 1) out = out.split(secret).join("***");
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && encoded.length > 0) out = out.split(encoded).join("***");
  }
  return out;
}
