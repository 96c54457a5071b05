/**
 * The TLS failures users meet, told as what they mean and what fixes them, instead of OpenSSL's text.
 * The remedies name only what exists: the config node's "Verify TLS certificate", the Host field, and Node.js's own
 * NODE_EXTRA_CA_CERTS (the client's agents set no `ca` of their own, so the extra certificates are trusted).
 */

export interface TlsFailure {
  /** For the log, the Debug sidebar, Catch and Test connection: what happened and what to do. */
  message: string;
  /** For a status (25 characters at most, so that ", retry in 30s" still fits in 40). */
  short: string;
}

/**
 * Whose TLS session failed: the PBX's (end to end, through any proxy) or an https:// proxy's own. Verify TLS certificate
 * applies to the PBX only, and the proxy is written in https_proxy, not in Host: the remedies differ.
 */
export type TlsSide = "PBX" | "proxy";

const TRUST_CA = "have Node-RED trust its CA (NODE_EXTRA_CA_CERTS=ca.pem in Node-RED's environment)";

function trustIt(side: TlsSide): string {
  return side === "PBX" ? `${TRUST_CA}, or untick Verify TLS certificate on a network you trust` : TRUST_CA;
}

/** Where the address that failed is written. */
function addressField(side: TlsSide): string {
  return side === "PBX" ? "Host" : "the proxy setting (https_proxy)";
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } };
}

function layers(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 3; depth++) {
    out.push(e as ErrorLike);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** The Host an https origin's plain-HTTP port is written as: the same host and port, with http:// (443 kept). */
function plainOrigin(origin: string): string {
  const url = new URL(origin);
  return `http://${url.hostname}:${url.port || "443"}`;
}

/** The names a certificate is for, as the PBX sent it (`DNS:pbx.example.com, IP Address:10.0.0.5`), briefly. */
function certNames(errors: ErrorLike[]): string | undefined {
  for (const e of errors) {
    const names = e.cert?.subjectaltname ?? e.cert?.subject?.CN;
    if (typeof names === "string" && names !== "") return names.length > 120 ? `${names.slice(0, 119)}…` : names;
  }
  return undefined;
}

/** The reason OpenSSL gives (`tlsv1 alert protocol version`), without its function names, file and line. */
function opensslReason(texts: string[]): string | undefined {
  for (const t of texts) {
    const found = /SSL routines:[^:]*:([^:]+):/.exec(t);
    if (found) return found[1].trim();
  }
  return undefined;
}

/**
 * What a failed https request's error means, when it is a TLS failure; else undefined. `origin` is the address of
 * `side` (the PBX's Host, or the proxy's scheme, host and port).
 */
export function describeTlsFailure(origin: string, err: unknown, side: TlsSide = "PBX"): TlsFailure | undefined {
  const found = describe(origin, err, side);
  if (!found || side === "PBX") return found;
  // The proxy's own: the status names it, in the same 25 characters.
  const short = found.short.startsWith("proxy") ? found.short : /certificate/.test(found.short) ? "proxy's certificate" : found.short.length <= 18 ? `proxy: ${found.short}` : "proxy TLS failed";
  return { message: found.message, short };
}

function describe(origin: string, err: unknown, side: TlsSide): TlsFailure | undefined {
  const errors = layers(err);
  const codes = new Set(errors.map((e) => e.code).filter((c): c is string => typeof c === "string"));
  const texts = errors.map((e) => (typeof e.message === "string" ? e.message : ""));
  const has = (...wanted: string[]): string | undefined => wanted.find((c) => codes.has(c));

  // An https request answered in plain HTTP: OpenSSL reads "HTTP/1.1 400" as a record of an unknown TLS version.
  if (origin.startsWith("https:") && (codes.has("ERR_SSL_WRONG_VERSION_NUMBER") || texts.some((t) => /wrong version number/i.test(t)))) {
    const plain = plainOrigin(origin);
    if (side === "proxy") {
      return { message: `the proxy answered plain HTTP, not HTTPS: write ${plain} as the proxy (https_proxy)`, short: "proxy is plain HTTP" };
    }
    return {
      message: `the PBX answered plain HTTP, not HTTPS: write ${plain} as the Host (the key then travels unencrypted: only on your own machine or network), or use the PBX's HTTPS port`,
      short: "plain HTTP: use http://",
    };
  }
  const selfSigned = has("DEPTH_ZERO_SELF_SIGNED_CERT");
  if (selfSigned) {
    return { message: `the ${side}'s certificate is self-signed, so not trusted (${selfSigned}): ${trustIt(side)}`, short: "self-signed certificate" };
  }
  const privateCa = has("SELF_SIGNED_CERT_IN_CHAIN");
  if (privateCa) {
    return {
      message: `the ${side}'s certificate comes from a CA this machine does not trust (${privateCa}): ${trustIt(side)}`,
      short: "untrusted certificate",
    };
  }
  const noIssuer = has("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  if (noIssuer) {
    return {
      message: `the ${side}'s certificate cannot be traced to a trusted CA (${noIssuer}): if it is from a public CA, install its intermediate certificates on the ${side}; otherwise ${trustIt(side)}`,
      short: "untrusted certificate",
    };
  }
  const expired = has("CERT_HAS_EXPIRED");
  if (expired) {
    return {
      message: `the ${side}'s certificate has expired (${expired}): renew it on the ${side}, and check this machine's date${side === "PBX" ? "; meanwhile, on a network you trust, untick Verify TLS certificate" : ""}`,
      short: "certificate expired",
    };
  }
  const early = has("CERT_NOT_YET_VALID");
  if (early) {
    return {
      message: `the ${side}'s certificate is not valid yet (${early}): check the date of this machine and of the ${side}`,
      short: "certificate not yet valid",
    };
  }
  const otherName = has("ERR_TLS_CERT_ALTNAME_INVALID");
  if (otherName) {
    const names = certNames(errors);
    const host = new URL(origin).hostname;
    return {
      message: `the ${side}'s certificate is not for ${host}${names ? ` but for ${names}` : ""} (${otherName}): write in ${addressField(side)} a name the certificate lists`,
      short: "name not in certificate",
    };
  }
  const reason = opensslReason(texts);
  if (/alert protocol version|unsupported protocol|no protocols available/i.test(reason ?? texts.join(" "))) {
    return {
      message: `the ${side} offers only an old TLS version (TLS 1.0 or 1.1), which Node.js refuses: enable TLS 1.2 or later on the ${side}`,
      short: "old TLS version",
    };
  }
  if (/alert (handshake failure|certificate required)/i.test(reason ?? "")) {
    return {
      message: `the ${side} refused the TLS handshake (${reason}): it may require a client certificate, which these nodes cannot send, or share no cipher with Node.js: check the ${side}'s HTTPS settings`,
      short: "TLS handshake refused",
    };
  }
  // Any other TLS failure: OpenSSL's reason kept for whoever investigates, its codes and file names left out.
  if (reason || codes.has("EPROTO") || [...codes].some((c) => c.startsWith("ERR_SSL_") || c.startsWith("ERR_TLS_"))) {
    const detail = reason ?? [...codes].find((c) => c.startsWith("ERR_")) ?? "EPROTO";
    return { message: `the TLS handshake with the ${side} failed (${detail}): check the ${side}'s HTTPS settings`, short: "TLS handshake failed" };
  }
  return undefined;
}
