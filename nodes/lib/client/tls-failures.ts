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

const TRUST_IT =
  "have Node-RED trust its CA (NODE_EXTRA_CA_CERTS=ca.pem in Node-RED's environment), or untick Verify TLS certificate on a network you trust";

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

/** What a failed https request's error means, when it is one of the TLS failures users meet; else undefined. */
export function describeTlsFailure(origin: string, err: unknown): TlsFailure | undefined {
  const errors = layers(err);
  const codes = new Set(errors.map((e) => e.code).filter((c): c is string => typeof c === "string"));
  const texts = errors.map((e) => (typeof e.message === "string" ? e.message : ""));
  const has = (...wanted: string[]): string | undefined => wanted.find((c) => codes.has(c));

  // An https request answered in plain HTTP: OpenSSL reads "HTTP/1.1 400" as a record of an unknown TLS version.
  if (origin.startsWith("https:") && (codes.has("ERR_SSL_WRONG_VERSION_NUMBER") || texts.some((t) => /wrong version number/i.test(t)))) {
    const plain = plainOrigin(origin);
    return {
      message: `the PBX answered plain HTTP, not HTTPS: write ${plain} as the Host (the key then travels unencrypted: only on your own machine or network), or use the PBX's HTTPS port`,
      short: "plain HTTP: use http://",
    };
  }
  const selfSigned = has("DEPTH_ZERO_SELF_SIGNED_CERT");
  if (selfSigned) {
    return { message: `the PBX's certificate is self-signed, so not trusted (${selfSigned}): ${TRUST_IT}`, short: "self-signed certificate" };
  }
  const privateCa = has("SELF_SIGNED_CERT_IN_CHAIN");
  if (privateCa) {
    return {
      message: `the PBX's certificate comes from a CA this machine does not trust (${privateCa}): ${TRUST_IT}`,
      short: "untrusted certificate",
    };
  }
  const noIssuer = has("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  if (noIssuer) {
    return {
      message: `the PBX's certificate cannot be traced to a trusted CA (${noIssuer}): if it is from a public CA, install its intermediate certificates on the PBX; otherwise ${TRUST_IT}`,
      short: "untrusted certificate",
    };
  }
  const expired = has("CERT_HAS_EXPIRED");
  if (expired) {
    return {
      message: `the PBX's certificate has expired (${expired}): renew it on the PBX, and check this machine's date; meanwhile, on a network you trust, untick Verify TLS certificate`,
      short: "certificate expired",
    };
  }
  const early = has("CERT_NOT_YET_VALID");
  if (early) {
    return {
      message: `the PBX's certificate is not valid yet (${early}): check the date of this machine and of the PBX`,
      short: "certificate not yet valid",
    };
  }
  const otherName = has("ERR_TLS_CERT_ALTNAME_INVALID");
  if (otherName) {
    const names = certNames(errors);
    const host = new URL(origin).hostname;
    return {
      message: `the PBX's certificate is not for ${host}${names ? ` but for ${names}` : ""} (${otherName}): write in Host a name the certificate lists`,
      short: "name not in certificate",
    };
  }
  return undefined;
}
