/**
 * noojee-subscribe: one msg per call-state change on the watched extensions (or per finished call, or both).
 * The long poll itself lives in the config node's SubscriptionHub, shared with every other subscribe node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { CallTracker, KIND_OUTPUTS, kindOf } from "./lib/poll/call-tracker";
import { changeExtensions, parseExtensionList } from "./lib/input/extensions";
import { KeptExtensions } from "./kept-extensions";
import type { CallEvent, LoopStatus } from "./lib/poll/poll-loop";
import { MAX_TIMEOUT, MIN_TIMEOUT, toMessage, toSummaryMessage } from "./messages";
import type { NoojeeConfigNode } from "./node-types";
import { statusOf, ThrottledStatus } from "./status";

/** events: 1 output; byKind: one per kind (KIND_OUTPUTS); summaries: 1 output; both: events then summaries. */
type OutputMode = "events" | "byKind" | "summaries" | "both";

interface SubscribeDef extends NodeDef {
  server: string;
  extensions: string;
  timeout: number | string;
  outputMode?: OutputMode;
  persistChanges?: boolean;
}

const DEFAULT_TIMEOUT = 30;
export = function (RED: NodeAPI): void {
  function NoojeeSubscribe(this: Node, config: SubscribeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-subscribe.${key}`, values);
    const mode: OutputMode = ["byKind", "summaries", "both"].includes(config.outputMode ?? "") ? config.outputMode! : "events";
    const persist = config.persistChanges === true;

    const fail = (statusKey: string, message: string): void => {
      node.status(statusOf.failing(t(`status.${statusKey}`)));
      node.error(message);
    };

    let extensions: string[];
    try {
      extensions = parseExtensionList(config.extensions);
    } catch (err) {
      return fail("invalidConfig", t("error.invalidExtensions", { reason: (err as Error).message }));
    }
    // Changes made by msg survive a redeploy only when the user asked for it.
    const kept = new KeptExtensions(node, persist);
    extensions = kept.restore(extensions, () => node.warn(t("error.badSavedExtensions")));
    const rawTimeout = config.timeout === undefined || config.timeout === "" ? DEFAULT_TIMEOUT : Number(config.timeout);
    if (!Number.isInteger(rawTimeout) || rawTimeout < MIN_TIMEOUT || rawTimeout > MAX_TIMEOUT) {
      return fail("invalidConfig", t("error.invalidTimeout", { value: String(config.timeout) }));
    }
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    if (!server) return fail("notConfigured", t("error.noServer"));
    let hub;
    let callers;
    try {
      const connection = server.connection();
      hub = connection.hub;
      // Looked up through the connection at each msg: after a deploy it is the config node's new phonebook.
      callers = (callerId: unknown, extension?: string) => connection.callerInfo(callerId, extension);
    } catch (err) {
      return fail("notConfigured", (err as Error).message);
    }

    const status = new ThrottledStatus(node);
    // The status text is built only when shown (at most every 500 ms), not for every event.
    let lastEvent: { extension: string; status: string } | undefined;
    const lastEventText = (): string | undefined => lastEvent && t("status.event", lastEvent);
    const showLastEvent = (): NodeStatus => statusOf.ok(lastEventText() ?? t("status.listening"));
    let lastFailure: string | undefined;

    /** Puts a msg on the right output for the mode (`summary` selects the summaries output). */
    const emit = (msg: NodeMessage, output: number): void => {
      const width = mode === "byKind" ? KIND_OUTPUTS.length : mode === "both" ? 2 : 1;
      if (width === 1) return node.send(msg);
      const outputs: Array<NodeMessage | null> = new Array<NodeMessage | null>(width).fill(null);
      outputs[output] = msg;
      node.send(outputs);
    };

    const tracker = new CallTracker({
      onSummary: (summary) => {
        if (mode === "summaries") emit(toSummaryMessage(summary, callers), 0);
        else if (mode === "both") emit(toSummaryMessage(summary, callers), 1);
      },
    });

    const onEvent = (event: CallEvent): void => {
      const missed = tracker.observe(event);
      if (mode === "events" || mode === "both") emit(toMessage(event, missed, callers), 0);
      else if (mode === "byKind") emit(toMessage(event, missed, callers), KIND_OUTPUTS.indexOf(kindOf(event.data.status)));
      lastEvent = { extension: event.extension, status: event.data.status };
      status.show(showLastEvent);
    };

    const onStatus = (loop: LoopStatus): void => {
      if (loop.state === "connecting") {
        status.show(statusOf.connecting(t("status.connecting")));
      } else if (loop.state === "listening") {
        if (lastFailure !== undefined) node.log(t("log.recovered"));
        lastFailure = undefined;
        status.show(showLastEvent);
      } else {
        // The status stays short: the detail in brackets goes to the log and the Catch node only.
        const reason = loop.error.kind === "auth" ? t("status.authFailed") : loop.error.message.replace(/\s*\(.*\)$/, "");
        const seconds = Math.max(1, Math.round(loop.retryInMs / 1000));
        status.show(statusOf.failing(t("status.retrying", { reason, seconds })));
        // One error per failure streak (or change of reason): a Catch node hears it, the log is not flooded.
        if (loop.error.message !== lastFailure) {
          lastFailure = loop.error.message;
          const message = t("error.pollFailed", { reason: loop.error.message });
          node.error(message, { topic: extensions.join(","), payload: { error: loop.error.message, kind: loop.error.kind } });
        }
      }
    };

    hub.register(node.id, { extensions, timeoutSec: rawTimeout, onStatus, onEvent });
    if (extensions.length === 0) status.show(statusOf.connecting(t("status.noExtensions")));

    // msg.action add / remove / replace with msg.extensions: change what this node watches, without a redeploy.
    node.on("input", (msg: NodeMessageInFlow, _send, done) => {
      const action = (msg as { action?: unknown }).action;
      const change = changeExtensions(extensions, action, (msg as { extensions?: unknown }).extensions);
      if (!change.ok) {
        const values: Record<string, string> = change.problem === "badAction" ? { value: change.value } : { reason: change.reason };
        return done(new Error(t(`error.${change.problem}`, values)));
      }
      extensions = change.extensions;
      hub.updateExtensions(node.id, extensions);
      kept.keep(extensions);
      if (extensions.length === 0) status.show(statusOf.connecting(t("status.noExtensions")));
      done();
    });

    node.on("close", (removed: boolean, done: () => void) => {
      status.clear();
      tracker.close();
      kept.close(removed);
      hub
        .deregister(node.id)
        .catch((err: unknown) => node.warn(String(err)))
        .finally(() => done());
    });
  }

  RED.nodes.registerType("noojee-subscribe", NoojeeSubscribe);
};
