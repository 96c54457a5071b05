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

/** Marks an error of the CONNECT itself (the proxy, its own TLS session included), not of the tunnelled exchange. */
const AT_PROXY = Symbol("atProxy");

/**
 * Whether `err` (or what it wraps) came from reaching the proxy, before the tunnel stood: for an https:// proxy, a TLS
 * failure there is the proxy's certificate or port, not the PBX's.
 */
export function failedAtProxy(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 3; depth++) {
    if ((e as { [AT_PROXY]?: boolean })[AT_PROXY]) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** hpagent reports a refused CONNECT as `Bad response: <status>`; give it a type the client can recognise. */
function recognisingRefusals(callback: ConnectCallback | undefined): ConnectCallback {
  return (err, stream) => {
    const refused = err && /^Bad response: (\d{3})$/.exec(err.message);
    callback?.(refused ? new ProxyRefusedError(Number(refused[1])) : err, stream);
  };
}

/** Aborts when the request a connection is made for is given up: passed from addRequest to createConnection. */
const GIVEN_UP = Symbol("givenUp");
type TaggedOptions = http.ClientRequestArgs & { [GIVEN_UP]?: AbortSignal };
/** http.Agent's addRequest, which Node's typings leave out. */
type AddRequest = (req: http.ClientRequest, options: http.ClientRequestArgs) => void;

/**
 * The CONNECTs of one pair of agents: each ends when its request is given up (its deadline or caller aborted it,
 * closing it) before the proxy answered, or when the agents are destroyed. A proxy that never answers would
 * otherwise keep one connection open per request until close().
 */
/**
 * A request destroyed while it waits for its socket (axios on a deadline or an abort) emits nothing until the socket
 * comes: this signal tells the CONNECT opened for it at once.
 */
function givenUp(req: http.ClientRequest): AbortSignal {
  const controller = new AbortController();
  const destroy = req.destroy.bind(req);
  req.destroy = (err?: Error) => {
    controller.abort();
    return destroy(err);
  };
  return controller.signal;
}

class Connects {
  private closing = new AbortController();
  /** The signal of the CONNECT being opened; hpagent reads it through proxyRequestOptions while it builds it. */
  private opening: AbortSignal | undefined;
  readonly proxyRequestOptions = ((self: Connects) => ({
    get signal() {
      return self.opening ?? self.closing.signal;
    },
  }))(this) as unknown as NonNullable<ConstructorParameters<typeof HttpProxyAgent>[0]["proxyRequestOptions"]>;

  open(options: TaggedOptions, callback: ConnectCallback | undefined, connect: (callback: ConnectCallback) => Duplex | null | undefined): Duplex | null | undefined {
    const controller = new AbortController();
    const giveUp = (): void => controller.abort();
    const watched = [this.closing.signal, options[GIVEN_UP]].filter((signal) => signal !== undefined);
    for (const signal of watched) signal.addEventListener("abort", giveUp, { once: true });
    const settled: ConnectCallback = (err, stream) => {
      for (const signal of watched) signal.removeEventListener("abort", giveUp);
      if (err) Object.defineProperty(err, AT_PROXY, { value: true });
      recognisingRefusals(callback)(err, stream);
    };
    this.opening = controller.signal;
    try {
      return connect(settled);
    } finally {
      this.opening = undefined;
    }
  }

  /** Ends every CONNECT in progress; the agents stay usable (a parked connection is taken up by the next deploy). */
  close(): void {
    this.closing.abort();
    this.closing = new AbortController();
  }
}

class TunnelToHttp extends HttpProxyAgent {
  constructor(options: ConstructorParameters<typeof HttpProxyAgent>[0], private readonly connects: Connects) {
    super({ ...options, proxyRequestOptions: connects.proxyRequestOptions });
  }

  addRequest(req: http.ClientRequest, options: http.ClientRequestArgs): void {
    (Object.getPrototypeOf(TunnelToHttp.prototype) as { addRequest: AddRequest }).addRequest.call(this, req, { ...options, [GIVEN_UP]: givenUp(req) });
  }

  override createConnection(options: TaggedOptions, callback?: ConnectCallback): Duplex | null | undefined {
    return this.connects.open(options, callback, (settled) => super.createConnection(options, settled));
  }
}

class TunnelToHttps extends HttpsProxyAgent {
  constructor(options: ConstructorParameters<typeof HttpsProxyAgent>[0], private readonly connects: Connects) {
    super({ ...options, proxyRequestOptions: connects.proxyRequestOptions });
  }

  addRequest(req: http.ClientRequest, options: http.ClientRequestArgs): void {
    (Object.getPrototypeOf(TunnelToHttps.prototype) as { addRequest: AddRequest }).addRequest.call(this, req, { ...options, [GIVEN_UP]: givenUp(req) });
  }

  override createConnection(options: TaggedOptions, callback?: ConnectCallback): Duplex | null | undefined {
    return this.connects.open(options, callback, (settled) => super.createConnection(options, settled));
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
  // A CONNECT in progress belongs to no agent's socket list: Connects ends it when its request is given up, or on close.
  const connects = new Connects();
  const agents = {
    http: new TunnelToHttp({ keepAlive: true, proxy: choice.url }, connects),
    https: new TunnelToHttps({ keepAlive: true, rejectUnauthorized: verifyTls, proxy: choice.url }, connects),
  };
  return {
    ...agents,
    destroy: () => {
      connects.close();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
