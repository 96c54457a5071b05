/**
 * Answers and failures that mean the Host is written wrong, told with the address to write instead: a redirect, and
 * an HTTPS port spoken to in plain HTTP (nginx's 400 page, or Node's https server resetting the connection).
 */

/** Where a redirect points, as safe to show: no credentials, query or fragment (a key or token may hide there). */
export function shownLocation(location: string, origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(location, origin);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  return `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

/** The origin a redirect's Location gives, written as the Host takes it (scheme, host and port only). */
function originOf(location: string, origin: string): string | undefined {
  try {
    const url = new URL(location, origin);
    return `${url.protocol}//${url.host}`;
  } catch {
    return undefined;
  }
}

/** The message for a 3xx answer: where it points and what to write; undefined when it gives nowhere. */
export function describeRedirect(status: number, location: string | undefined, origin: string): string | undefined {
  const shown = location ? shownLocation(location, origin) : undefined;
  if (!location || !shown) return undefined;
  const target = originOf(location, origin);
  return target === origin
    ? `HTTP ${status}: the PBX redirects to ${shown}: check the PBX's API address (redirects are not followed)`
    : `HTTP ${status}: the PBX redirects to ${shown}: write ${target} as the Host`;
}

/** The https:// address of a plain http:// origin, same host and port (80 kept). */
function httpsOrigin(origin: string): string {
  const url = new URL(origin);
  return `https://${url.hostname}:${url.port || "80"}`;
}

/** An http:// origin whose port answered with nginx's (or a like) "plain HTTP request was sent to HTTPS port". */
export function plainToHttpsPort(origin: string, status: number, body: string): string | undefined {
  if (!origin.startsWith("http:") || status !== 400 || !/plain HTTP request was sent to HTTPS port/i.test(body)) return undefined;
  return `HTTP 400: the PBX speaks HTTPS on this port: write ${httpsOrigin(origin)} as the Host`;
}

/** For a reset at the first request to an http:// origin: it may be an HTTPS port. */
export function resetHint(origin: string): string {
  return `connection reset: the PBX may speak HTTPS on this port: write ${httpsOrigin(origin)} as the Host`;
}
