/**
 * The HTTP(S) side of the simulator's server: listening, the open sockets, reading a request's path and query
 * (recording every request), answering 404 and 405 like the servlet container, and handing each POST to an API
 * method (or the PBX clock) to the PbxServer.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { NOT_FOUND_PAGE, htmlErrorPage, sendHtml } from "./http-replies";
import type { ApiMethod, RecordedRequest } from "./pbx-types";
import { parseServletQuery } from "./servlet-query";

export const API_BASE = "/servicemanager/rest/CallManagementAPI/";
export const TIME_PATH = "/servicemanager/rest/Time";

const API_METHODS: ReadonlyMap<string, ApiMethod> = new Map(
  (["subscribe", "answer", "hangup", "dial", "start", "stop"] as const).map((m) => [m, m]),
);

/** A request as read off the wire, before the server adds its lifetime and counter. */
export type ArrivedRequest = Omit<RecordedRequest, "epoch" | "seqAtArrival">;

export interface ApiHandlers {
  /** Every request, routed or not. */
  arrived(request: ArrivedRequest): void;
  /** A POST to an API method or to the clock. */
  routed(method: ApiMethod, req: http.IncomingMessage, res: http.ServerResponse, query: Record<string, string>): void;
}

/** "127.0.0.1:8089", "[::1]:8089"; a wildcard bind address is shown as the loopback address. */
function formatHostPort(host: string, port: number): string {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return shown.includes(":") ? `[${shown}]:${port}` : `${shown}:${port}`;
}

export class ApiHttpServer {
  private server: http.Server | https.Server | undefined;
  private listenPort = 0;
  private listenHost = "127.0.0.1";
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly tls: { key: string | Buffer; cert: string | Buffer } | undefined,
    private readonly handlers: ApiHandlers,
  ) {}

  /** Listens on `host` and `port` (0: any free port). */
  start(port: number, host: string): Promise<void> {
    if (this.server) return Promise.reject(new Error("PbxServer already started"));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    const server = this.tls ? https.createServer({ key: this.tls.key, cert: this.tls.cert }, handler) : http.createServer(handler);
    // The raw TCP socket, also for https: destroying it tears down TLS too.
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(err);
      };
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        const address = server.address() as AddressInfo;
        this.listenPort = address.port;
        this.listenHost = host;
        resolve();
      });
    });
  }

  /**
   * Stops taking requests at once and returns what finishes the stop (dropping every connection, then waiting for
   * the server to close); undefined when it was not listening.
   */
  beginStop(): (() => Promise<void>) | undefined {
    const server = this.server;
    if (!server) return undefined;
    this.server = undefined;
    return () => {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    };
  }

  get port(): number {
    return this.listenPort;
  }

  get hostPort(): string {
    return formatHostPort(this.listenHost, this.listenPort);
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://${this.hostPort}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume(); // the API uses empty bodies; drain whatever comes so keep-alive works
    const target = req.url ?? "/";
    const qi = target.indexOf("?");
    const pathname = qi < 0 ? target : target.slice(0, qi);
    const rawQuery = qi < 0 ? "" : target.slice(qi + 1);
    const query = parseServletQuery(rawQuery);
    this.handlers.arrived({ method: req.method ?? "", path: pathname, rawQuery, query, headers: req.headers, at: Date.now() });

    let method: ApiMethod | undefined;
    if (pathname === TIME_PATH) method = "Time";
    else if (pathname.startsWith(API_BASE)) method = API_METHODS.get(pathname.slice(API_BASE.length));
    if (method === undefined) {
      sendHtml(res, 404, NOT_FOUND_PAGE);
      return;
    }
    if (req.method !== "POST") {
      const page = htmlErrorPage(405, "Method Not Allowed", "The method received is not supported by the target resource.");
      sendHtml(res, 405, page, { Allow: "POST" });
      return;
    }
    this.handlers.routed(method, req, res, query);
  }
}
