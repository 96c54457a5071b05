/**
 * The request-and-report cycle shared by the call-control nodes (answer, dial, hangup, record): one API request per msg,
 * blue while it is on its way, green when the PBX accepted it (the msg goes on with the envelope as its payload),
 * red and an error for Catch otherwise. Requests still open when the node closes are cancelled silently.
 *
 * Each node's message catalogue must have `status.failed`, `status.notConfigured`, `error.rejected`
 * (__message__, __code__) and `error.requestFailed` (__reason__).
 */
import type { Node, NodeMessage } from "node-red";
import type { NoojeeClient } from "./lib/client/api-client";
import { isNoojeeError } from "./lib/client/errors";
import type { Envelope } from "./lib/client/types";
import type { NoojeeConfigNode } from "./node-types";
import { statusOf } from "./status";

export type Translate = (key: string, values?: Record<string, string | number>) => string;

export class RequestRunner {
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly node: Node,
    private readonly server: NoojeeConfigNode,
    private readonly t: Translate,
  ) {
    node.on("close", () => {
      for (const controller of this.inFlight) controller.abort();
      this.inFlight.clear();
    });
  }

  /** Sends one request for `msg`; `busy`/`ok` are the status texts while it runs and after success. */
  run(
    msg: NodeMessage,
    send: (msg: NodeMessage) => void,
    done: (err?: Error) => void,
    texts: { busy: string; ok: string },
    request: (client: NoojeeClient, signal: AbortSignal) => Promise<Envelope>,
  ): void {
    const { node, t } = this;
    let client: NoojeeClient;
    try {
      client = this.server.connection().client;
    } catch (err) {
      node.status(statusOf.failing(t("status.notConfigured")));
      return done(err as Error);
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    node.status(statusOf.busy(texts.busy));
    request(client, controller.signal)
      .then((envelope) => {
        msg.payload = envelope;
        node.status(statusOf.ok(texts.ok));
        send(msg);
        done();
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return done();
        const message =
          isNoojeeError(err) && (err.kind === "api" || err.kind === "auth")
            ? t("error.rejected", { message: err.detail ?? err.message, code: err.code ?? "" })
            : t("error.requestFailed", { reason: isNoojeeError(err) ? err.message : client.redact(String(err)) });
        node.status(statusOf.failing(isNoojeeError(err) ? `${t("status.failed")}: ${err.short ?? err.message}` : t("status.failed")));
        done(new Error(message));
      })
      .finally(() => this.inFlight.delete(controller));
  }
}
