/**
 * A CONNECT proxy on 127.0.0.1 that names the replica behind it: each Node-RED replica gets its own (its http_proxy),
 * so the requests the fake PBX receives can be told apart by who sent them, although every replica runs the same
 * flows with the same PBX host. The client tunnels plain HTTP (proxy.ts uses CONNECT for http too), so the proxy reads
 * the request lines going through and records each with its arrival time. Test-only: it keeps the request paths,
 * API key included.
 */
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";

export interface TaggedRequest {
  replica: string;
  /** Date.now() when the request line went through. */
  wall: number;
  method: string;
  /** The path without its query, e.g. /servicemanager/rest/CallManagementAPI/subscribe. */
  path: string;
}

const REQUEST_LINE = /(GET|POST|PUT|DELETE|HEAD|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/g;

export class TaggingProxy {
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly replica: string, private readonly record: (request: TaggedRequest) => void) {
    this.server = http.createServer((_req, res) => {
      res.writeHead(405).end(); // only tunnels
    });
    this.server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => this.tunnel(req, client, head));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
  }

  /** The value for the replica's http_proxy. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined); // a reset on either side ends the tunnel, nothing more
    }
    upstream.once("connect", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      let pending = "";
      const scan = (chunk: Buffer): void => {
        // Request lines only: the PBX API's requests have no body; keep a short tail for a line cut between chunks.
        pending += chunk.toString("latin1");
        let match: RegExpExecArray | null;
        let end = 0;
        REQUEST_LINE.lastIndex = 0;
        while ((match = REQUEST_LINE.exec(pending)) !== null) {
          this.record({ replica: this.replica, wall: Date.now(), method: match[1], path: match[2].split("?")[0] });
          end = REQUEST_LINE.lastIndex;
        }
        pending = pending.slice(Math.max(end, pending.length - 4096));
      };
      if (head.length > 0) scan(head);
      client.on("data", scan);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once("error", () => client.destroy());
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  }
}
