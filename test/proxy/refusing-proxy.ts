/**
 * A stub proxy that refuses every CONNECT (and any plain request) with one status, the way a proxy does that wants
 * credentials (407), forbids the destination (403) or cannot reach it (502). tinyproxy cannot easily be made to
 * answer all three.
 */
import * as http from "node:http";
import type * as net from "node:net";

export class RefusingProxy {
  private readonly server: http.Server;
  /** Arrival time and Proxy-Authorization header of each request. */
  readonly requests: Array<{ at: number; target: string; authorization: string | undefined }> = [];

  constructor(readonly status: 407 | 403 | 502) {
    this.server = http.createServer((req, res) => {
      this.requests.push({ at: Date.now(), target: req.url ?? "", authorization: req.headers["proxy-authorization"] });
      res.writeHead(status, this.headers()).end(this.page());
    });
    this.server.on("connect", (req: http.IncomingMessage, socket: net.Socket) => {
      this.requests.push({ at: Date.now(), target: req.url ?? "", authorization: req.headers["proxy-authorization"] });
      const head = Object.entries(this.headers()).map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${head}\r\n${this.page()}`);
    });
  }

  private page(): string {
    return `<html><body><h1>${this.status} ${http.STATUS_CODES[this.status]}</h1></body></html>`;
  }

  private headers(): Record<string, string> {
    const extra: Record<string, string> = this.status === 407 ? { "Proxy-Authenticate": 'Basic realm="proxy"' } : {};
    return { ...extra, "Content-Type": "text/html", "Content-Length": String(Buffer.byteLength(this.page())), Connection: "close" };
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
