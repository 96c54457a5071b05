/**
 * A reverse proxy with an idle limit, as nginx (proxy_read_timeout, 60 s by default), an AWS ALB (idle timeout, 60 s)
 * or HAProxy (timeout server) put in front of a PBX: for the tests and the soak.
 *
 *   const proxy = await startIdleLimitProxy({ target: pbx.url, idleLimitMs: 300 });
 *   // point the config node's Host at proxy.url; proxy.cuts counts the requests it cut
 *
 * It forwards every request to `target` (method, path and query string byte for byte, headers, body) and streams the
 * answer back. When the upstream has sent nothing for `idleLimitMs` (counted from the request, then from each chunk
 * of the answer, like nginx's read timeout) it drops the upstream request and, if no answer has started yet:
 * - "504": answers nginx's HTML "504 Gateway Time-out" page (nginx, ALB and HAProxy all answer 504 here);
 * - "502": the same with a 502 Bad Gateway page (what some load balancers answer instead);
 * - "reset": resets the client's connection (TCP RST), as a proxy or firewall that drops idle flows does;
 * - "close": closes the client's connection without a byte (the client reads "socket hang up");
 * - "silent": never answers the client at all, leaving its request open (a NAT, firewall or proxy that drops an idle
 *   flow without a word): the client gives up at its own deadline.
 * An answer already started is cut by destroying the connection (a truncated answer), whatever the mode.
 * An empty `200` was considered and left out: a proxy that gives up before the upstream answered has no status line to
 * forward, and none of the common ones invents a 200; an empty 200 is the PBX's own doing (FakePbx's "empty200").
 *
 * An upstream that cannot be reached gives an immediate 502 page, as nginx does: a fast failure, not an idle cut.
 * It never logs anything: the query string holds the API key.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type IdleCutMode = "504" | "502" | "reset" | "close" | "silent";

export interface IdleLimitProxyOptions {
  /** Origin of the upstream, e.g. `http://127.0.0.1:40123` (plain HTTP). */
  target: string;
  idleLimitMs: number;
  /** What a cut looks like to the client. Default "504". */
  mode?: IdleCutMode;
}

export interface IdleLimitProxy {
  /** `http://127.0.0.1:<port>`: the Host to give the client. */
  readonly url: string;
  readonly port: number;
  /** Requests cut at the idle limit so far (live). */
  readonly cuts: number;
  /** Applies to requests arriving from now on. */
  setIdleLimit(ms: number): void;
  close(): Promise<void>;
}

/** nginx's own pages, byte for byte (CRLF line ends), so clients see what they would see in the field. */
function nginxPage(status: number, title: string): string {
  return (
    `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n` +
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
  );
}

const PAGES: Record<"502" | "504", { status: number; body: string }> = {
  "504": { status: 504, body: nginxPage(504, "Gateway Time-out") },
  "502": { status: 502, body: nginxPage(502, "Bad Gateway") },
};

function sendPage(res: http.ServerResponse, page: { status: number; body: string }): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(page.status, {
    Server: "nginx",
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(page.body),
  });
  res.end(page.body);
}

export async function startIdleLimitProxy(options: IdleLimitProxyOptions): Promise<IdleLimitProxy> {
  const target = new URL(options.target);
  if (target.protocol !== "http:") throw new Error("startIdleLimitProxy: the target must be plain http");
  const mode = options.mode ?? "504";
  let idleLimitMs = options.idleLimitMs;
  let cuts = 0;
  const upstreamAgent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const limit = idleLimitMs;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const upstream = http.request({
      agent: upstreamAgent,
      host: target.hostname,
      port: target.port || 80,
      method: req.method,
      path: req.url, // path and query exactly as received
      headers: { ...req.headers, host: target.host },
    });
    const cut = (): void => {
      if (finished) return;
      finished = true;
      cuts += 1;
      upstream.destroy();
      if (res.headersSent) {
        req.socket.destroy();
      } else if (mode === "reset") {
        req.socket.resetAndDestroy();
      } else if (mode === "close") {
        req.socket.destroy();
      } else if (mode !== "silent") {
        sendPage(res, PAGES[mode]);
      }
    };
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(cut, limit);
    };
    const settle = (): void => {
      finished = true;
      if (timer) clearTimeout(timer);
    };
    arm();
    upstream.on("response", (answer) => {
      if (finished) return;
      arm();
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
      answer.on("data", (chunk: Buffer) => {
        if (finished) return;
        arm();
        res.write(chunk);
      });
      answer.on("end", () => {
        if (finished) return;
        settle();
        res.end();
      });
      answer.on("error", () => {
        if (finished) return;
        settle();
        req.socket.destroy();
      });
    });
    upstream.on("error", () => {
      if (finished) return;
      settle();
      if (res.headersSent) req.socket.destroy();
      else sendPage(res, PAGES["502"]); // refused or reset upstream: nginx answers at once
    });
    // The client gave up (the poll loop aborts a held poll when its extensions change): drop the upstream request too.
    res.on("close", () => {
      if (!finished) {
        settle();
        upstream.destroy();
      }
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get cuts() {
      return cuts;
    },
    setIdleLimit(ms: number) {
      idleLimitMs = ms;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        upstreamAgent.destroy();
      });
    },
  };
}
