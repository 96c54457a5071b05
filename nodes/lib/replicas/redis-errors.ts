/**
 * What a Redis failure is called in a status or a log line: short, and never the URL's password. ioredis errors may
 * carry the address (`connect ECONNREFUSED 127.0.0.1:6379`), and a URL given back in a message could carry the
 * password: any `user:password@` is masked, and so is every secret passed in. Knows nothing of Node-RED.
 */

/** A short reason: the errno code when there is one (ECONNREFUSED), else the message, masked and cut. */
export function redisReason(err: unknown, secrets: readonly string[] = []): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  // ioredis fails a command while it cannot connect with this (the cause goes to its error event).
  if (err instanceof Error && err.name === "MaxRetriesPerRequestError") return "Redis not reachable";
  const message = err instanceof Error ? err.message : String(err);
  return redactRedis(message, secrets).slice(0, 80);
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
