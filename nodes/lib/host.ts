/**
 * Turns what a user types in the config node's Host field into the API's base URL.
 * Accepts `pbx.example.com`, `pbx.example.com:8443`, `https://pbx.example.com`, `http://127.0.0.1:8080`;
 * no scheme means https, as the vendor requires TLS in production.
 */
export const API_PATH = "/servicemanager/rest/CallManagementAPI/";

export class InvalidHostError extends Error {
  constructor(readonly host: string, readonly reason: string) {
    super(`Invalid PBX host "${host}": ${reason}`);
    this.name = "InvalidHostError";
  }
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
