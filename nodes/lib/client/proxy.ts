/**
 * The outbound proxy to the PBX, if any, and the HTTP agents that reach the PBX through it. Knows nothing of Node-RED.
 *
 * The choice follows Node-RED's own http request node: `http_proxy` / `https_proxy` (then `all_proxy`) by the PBX's
 * scheme and `no_proxy` (host names, `.suffix` / `*.suffix` domains, `host:port`, IP addresses, `*`), lower case before
 * upper case. proxy-from-env, which Node-RED's proxy helper was copied from and axios uses, applies those rules.
 * The environment is read when a client is created, so each config node deploy sees the current values.
 *
 * The PBX is reached through a CONNECT tunnel for http and https alike (hpagent, the agent Node-RED's http request node
 * uses): the proxy sees only `host:port`, never the query string with the key; for https the TLS session runs end to
 * end inside the tunnel, so the certificate checked (or not, with Verify TLS off) is the PBX's.
 */
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import { HttpProxyAgent, HttpsProxyAgent } from "hpagent";
import { getProxyForUrl } from "proxy-from-env";

export type ProxyChoice =
  | { kind: "direct" }
  /** `label` is the proxy's scheme, host and port, without credentials: safe to show. */
  | { kind: "proxy"; url: URL; label: string; secrets: string[] }
  /** A proxy variable applies but cannot be used: every request fails with `reason` rather than bypass the proxy. */
  | { kind: "invalid"; reason: string };

/** Same lookup as proxy-from-env's: lower case first, then upper case. */
function envValue(name: string): string {
  return process.env[name.toLowerCase()] || process.env[name.toUpperCase()] || "";
}

/** The proxy for requests to `origin` (e.g. `https://pbx.example.com:8443`), from the environment as it is now. */
export function proxyFor(origin: string): ProxyChoice {
  const found = getProxyForUrl(origin);
  if (!found) return { kind: "direct" };
  // proxy-from-env gives a scheme-less value the PBX's scheme; like curl and most tools we take it as an http proxy
  // (a TLS handshake with an ordinary proxy port can only fail).
  const scheme = new URL(origin).protocol.replace(":", "");
  const raw = envValue(`${scheme}_proxy`) || envValue("all_proxy");
  const value = raw.includes("://") ? found : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { kind: "invalid", reason: "the proxy setting is not a valid URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { kind: "invalid", reason: `unsupported proxy type ${url.protocol.replace(":", "")} (http and https only)` };
  }
  const secrets = url.password ? [url.password, safeDecode(url.password)] : [];
  return { kind: "proxy", url, label: `${url.protocol}//${url.host}`, secrets };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The proxy answered the CONNECT with something other than 200. */
export class ProxyRefusedError extends Error {
  constructor(readonly status: number) {
    super(`proxy refused: ${status} (${http.STATUS_CODES[status] ?? "unknown status"})`);
    this.name = "ProxyRefusedError";
  }
}

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

/** hpagent reports a refused CONNECT as `Bad response: <status>`; give it a type the client can recognise. */
function recognisingRefusals(callback: ConnectCallback | undefined): ConnectCallback {
  return (err, stream) => {
    const refused = err && /^Bad response: (\d{3})$/.exec(err.message);
    callback?.(refused ? new ProxyRefusedError(Number(refused[1])) : err, stream);
  };
}

class TunnelToHttp extends HttpProxyAgent {
  override createConnection(options: http.ClientRequestArgs, callback?: ConnectCallback): Duplex | null | undefined {
    return super.createConnection(options, recognisingRefusals(callback));
  }
}

class TunnelToHttps extends HttpsProxyAgent {
  override createConnection(options: http.ClientRequestArgs, callback?: ConnectCallback): Duplex | null | undefined {
    return super.createConnection(options, recognisingRefusals(callback));
  }
}

export interface PbxAgents {
  http: http.Agent;
  https: https.Agent;
  /** Destroys kept-alive sockets and any CONNECT still waiting for the proxy's answer. */
  destroy(): void;
}

/** Keep-alive agents for the PBX, through `choice`'s proxy when there is one. `verifyTls` is for the PBX's certificate. */
export function createAgents(choice: ProxyChoice, verifyTls: boolean): PbxAgents {
  if (choice.kind !== "proxy") {
    const plain = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true, rejectUnauthorized: verifyTls }) };
    return { ...plain, destroy: () => (plain.http.destroy(), plain.https.destroy()) };
  }
  // A CONNECT in progress belongs to no agent's socket list: this signal ends it on close. The agents stay usable
  // after close (a parked connection is taken up again by the next deploy), so each close arms a fresh signal;
  // hpagent copies these options for every CONNECT, which reads the getter then.
  let pending = new AbortController();
  const proxyRequestOptions = {
    get signal() {
      return pending.signal;
    },
  } as unknown as NonNullable<ConstructorParameters<typeof HttpProxyAgent>[0]["proxyRequestOptions"]>;
  const agents = {
    http: new TunnelToHttp({ keepAlive: true, proxy: choice.url, proxyRequestOptions }),
    https: new TunnelToHttps({ keepAlive: true, rejectUnauthorized: verifyTls, proxy: choice.url, proxyRequestOptions }),
  };
  return {
    ...agents,
    destroy: () => {
      pending.abort();
      pending = new AbortController();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
