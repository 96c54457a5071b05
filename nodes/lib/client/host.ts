/**
 * Turns what a user types in the config node's Host field into the API's base URL.
 * Accepts `pbx.example.com`, `pbx.example.com:8443`, `https://pbx.example.com`, `http://127.0.0.1:8080`;
 * no scheme means https, as the vendor requires TLS in production.
 */
export const API_PATH = "/servicemanager/rest/CallManagementAPI/";

export class InvalidHostError extends Error {
  /** The Host field as typed, with any user name and password masked. */
  readonly host: string;

  constructor(host: string, readonly reason: string) {
    const masked = maskUserinfo(host);
    super(`Invalid PBX host "${masked}": ${reason}`);
    this.host = masked;
    this.name = "InvalidHostError";
  }
}

/**
 * A Host field value fit to show: what stands before its last "@" (after the scheme), a user name and password typed
 * in as `user:password@`, becomes `***`. Whatever the rest holds, as the field may be malformed in any way (a password
 * with a "/" or a space in it ends the authority early for a URL parser, so the whole prefix goes).
 */
export function maskUserinfo(host: string): string {
  const at = host.lastIndexOf("@");
  if (at === -1) return host;
  const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(host)?.[0] ?? "";
  return `${scheme}***${host.slice(at)}`;
}

/** Returns the origin (`https://host:port`) for a Host field value, or throws InvalidHostError. */
export function parseHost(input: string): string {
  const raw = (input ?? "").trim();
  if (raw === "") throw new InvalidHostError(raw, "empty");
  if (/\s/.test(raw)) throw new InvalidHostError(raw, "contains a space");
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);
  let url: URL;
  try {
    url = new URL(hasScheme ? raw : `https://${raw}`);
  } catch {
    throw new InvalidHostError(raw, "not a host name or address");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InvalidHostError(raw, "only http:// and https:// are supported");
  }
  if (url.username || url.password) throw new InvalidHostError(raw, "must not contain a user name or password");
  if (url.pathname !== "/" && url.pathname !== "") throw new InvalidHostError(raw, "must not contain a path");
  if (url.search || url.hash || raw.includes("?") || raw.includes("#")) {
    throw new InvalidHostError(raw, "must not contain a query");
  }
  if (!url.hostname) throw new InvalidHostError(raw, "no host name");
  return url.origin;
}
