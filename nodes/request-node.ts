/**
 * The request-and-report cycle shared by the call-control nodes (answer, dial, hangup, record): one API request per msg,
 * blue while it is on its way, green when the PBX accepted it (the msg goes on with the envelope as its payload),
 * red and an error for Catch otherwise. Requests still open when the node closes are cancelled silently.
 * The status says what is true now: a grey ring "ready" at start when the config node is usable, and a result turns
 * grey after RESULT_FADE_MS with the time it happened ("answered 14:02"): by then the call may long have ended.
 *
 * Each node's message catalogue must have `status.ready`, `status.failed`, `status.failedAt` (__time__),
 * `status.notConfigured`, `error.rejected` (__message__, __code__) and `error.requestFailed` (__reason__).
 */
import type { Node, NodeMessage, NodeStatus } from "node-red";
import type { NoojeeClient } from "./lib/client/api-client";
import { isNoojeeError } from "./lib/client/errors";
import type { Envelope } from "./lib/client/types";
import type { NoojeeConfigNode } from "./node-types";
import { shortText, statusOf } from "./status";

export type Translate = (key: string, values?: Record<string, string | number>) => string;

/** How long a result shows as it is before it turns grey with its time. */
export const RESULT_FADE_MS = 60_000;

/** The wall clock's hour and minute, as a status shows when something happened. */
export function timeOfDay(date = new Date()): string {
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

export interface RunTexts {
  busy: string;
  ok: string;
  /** The result once grey: `answered 14:02`. */
  okAt: (time: string) => string;
}

export class RequestRunner {
  private readonly inFlight = new Set<AbortController>();
  private fade: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly node: Node,
    private readonly server: NoojeeConfigNode,
    private readonly t: Translate,
  ) {
    node.on("close", () => {
      for (const controller of this.inFlight) controller.abort();
      this.inFlight.clear();
      this.show(undefined);
    });
  }

  /** At start, with the node's own settings fine: "ready" when the config node can connect, else what is wrong. */
  showReady(): void {
    const problem = this.server.problem();
    if (problem === undefined) return this.show(statusOf.idle(this.t("status.ready")));
    this.show(statusOf.failing(this.t("status.notConfigured")));
    this.node.error(problem);
  }

  /** A failure (`reason` for the status, if any), red, then grey with its time. */
  failed(reason?: string): void {
    const text = reason === undefined ? this.t("status.failed") : `${this.t("status.failed")}: ${reason}`;
    const time = timeOfDay();
    const later = this.t("status.failedAt", { time }) + (reason === undefined ? "" : `: ${reason}`);
    this.show(statusOf.failing(text), { fill: "grey", shape: "ring", text: shortText(later) });
  }

  /** Shows `now`, and `later` once RESULT_FADE_MS passed without another status. */
  private show(now: NodeStatus | undefined, later?: NodeStatus): void {
    if (this.fade !== undefined) clearTimeout(this.fade);
    this.fade = undefined;
    if (now === undefined) return;
    this.node.status(now);
    if (later === undefined) return;
    this.fade = setTimeout(() => {
      this.fade = undefined;
      // What is true now: a config node that cannot connect (no key, ...) is said again, not an old result.
      this.node.status(this.server.problem() === undefined ? later : statusOf.failing(this.t("status.notConfigured")));
    }, RESULT_FADE_MS);
  }

  /** Sends one request for `msg`; `busy`/`ok` are the status texts while it runs and after success. */
  run(
    msg: NodeMessage,
    send: (msg: NodeMessage) => void,
    done: (err?: Error) => void,
    texts: RunTexts,
    request: (client: NoojeeClient, signal: AbortSignal) => Promise<Envelope>,
  ): void {
    const { t } = this;
    let client: NoojeeClient;
    try {
      client = this.server.connection().client;
    } catch (err) {
      this.show(statusOf.failing(t("status.notConfigured")));
      return done(err as Error);
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    this.show(statusOf.busy(texts.busy));
    request(client, controller.signal)
      .then((envelope) => {
        msg.payload = envelope;
        this.show(statusOf.ok(texts.ok), statusOf.past(texts.okAt(timeOfDay())));
        send(msg);
        done();
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return done();
        const message =
          isNoojeeError(err) && (err.kind === "api" || err.kind === "auth")
            ? t("error.rejected", { message: err.detail ?? err.message, code: err.code ?? "" })
            : t("error.requestFailed", { reason: isNoojeeError(err) ? err.message : client.redact(String(err)) });
        this.failed(isNoojeeError(err) ? (err.short ?? err.message) : undefined);
        done(new Error(message));
      })
      .finally(() => this.inFlight.delete(controller));
  }
}
