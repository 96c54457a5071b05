/**
 * noojee-subscribe: one msg per call-state change on the watched extensions (or per finished call, or both).
 * The long poll itself lives in the config node's SubscriptionHub, shared with every other subscribe node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { CallTracker, KIND_OUTPUTS, kindOf } from "./lib/poll/call-tracker";
import { changeExtensions, problemValues } from "./lib/input/extensions";
import type { CallEvent } from "./lib/poll/poll-loop";
import type { HubStatus } from "./lib/poll/subscription-hub";
import { MAX_TIMEOUT, MIN_TIMEOUT, toMessage, toSummaryMessage } from "./messages";
import { standbyText, statusOf, ThrottledStatus } from "./status";
import { PROPERTY_DEFAULTS } from "./property-defaults";
import { openWatch, PollFailures, WatchStart } from "./watch-node";

/** events: 1 output; byKind: one per kind (KIND_OUTPUTS); summaries: 1 output; both: events then summaries. */
type OutputMode = "events" | "byKind" | "summaries" | "both";

interface SubscribeDef extends NodeDef {
  server: string;
  extensions: string;
  timeout: number | string;
  outputMode?: OutputMode;
  persistChanges?: boolean;
}

const DEFAULT_TIMEOUT = PROPERTY_DEFAULTS["noojee-subscribe"].timeout;
export = function (RED: NodeAPI): void {
  function NoojeeSubscribe(this: Node, config: SubscribeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-subscribe.${key}`, values);
    const mode: OutputMode = ["byKind", "summaries", "both"].includes(config.outputMode ?? "") ? config.outputMode! : "events";

    const fail = (statusKey: string, message: string): void => {
      node.status(statusOf.failing(t(`status.${statusKey}`)));
      node.error(message);
    };

    const rawTimeout = config.timeout === undefined || config.timeout === "" ? DEFAULT_TIMEOUT : Number(config.timeout);
    const timeoutOk = (): boolean => {
      if (Number.isInteger(rawTimeout) && rawTimeout >= MIN_TIMEOUT && rawTimeout <= MAX_TIMEOUT) return true;
      fail("invalidConfig", t("error.invalidTimeout", { value: String(config.timeout) }));
      return false;
    };
    const setup = openWatch(RED, node, config, t, fail, timeoutOk);
    if (!setup) return;
    const { kept, connection } = setup;
    let extensions: string[] = [];
    const hub = connection.hub;
    // Looked up through the connection at each msg: after a deploy it is the config node's new phonebook.
    const callers = (callerId: unknown, extension?: string) => connection.callerInfo(callerId, extension);

    const status = new ThrottledStatus(node);
    // While the config node's phonebook file gives no names, the green status says so.
    const stopNote = connection.phonebookNote.watch((note) => status.setNote(note));
    // The status text is built only when shown (at most every 500 ms), not for every event.
    let lastEvent: { extension: string; status: string } | undefined;
    const lastEventText = (): string | undefined => lastEvent && t("status.event", lastEvent);
    const showLastEvent = (): NodeStatus => statusOf.ok(lastEventText() ?? t("status.listening"));

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

    const failures = new PollFailures(node, t, () => extensions.join(","));
    const onStatus = (loop: HubStatus): void => {
      if (loop.state === "reading") return status.show(statusOf.connecting(t("status.reading")));
      // Replicas: another copy of the flows polls; this one sends nothing (nodes/lib/replicas).
      if (loop.state === "standby") return status.show(statusOf.idle(standbyText(t, loop)));
      if (loop.state === "coordinationLost") return status.show(statusOf.failing(t("status.coordinationLost", { reason: loop.reason })));
      failures.update(loop);
      if (loop.state === "connecting") status.show(statusOf.connecting(t("status.connecting")));
      else if (loop.state === "listening") status.show(showLastEvent);
      else status.show(statusOf.failing(failures.failure ?? ""));
    };

    // The summaries collected so far go with the saved position, and come back after a restart or a redeploy.
    const saveState = () => tracker.saveState();
    const restoreState = (state: unknown): void => {
      try {
        tracker.restore(state);
      } catch (err) {
        node.warn(t("error.badSavedSummaries", { reason: (err as Error).message }));
      }
    };
    // After a restart a kept list may still be on its way from the context store: the node registers once it is in.
    const started = new WatchStart(setup.extensions, (list) => {
      extensions = list;
      hub.register(node.id, { extensions, timeoutSec: rawTimeout, onStatus, onEvent, saveState, restoreState });
      if (extensions.length === 0) status.show(statusOf.connecting(t("status.noExtensions")));
    });
    if (started.pending) status.show(statusOf.connecting(t("status.readingList")));

    // msg.action add / remove / replace with msg.extensions: change what this node watches, without a redeploy.
    const onInput = (msg: NodeMessageInFlow, done: (err?: Error) => void): void => {
      const action = (msg as { action?: unknown }).action;
      const change = changeExtensions(extensions, action, (msg as { extensions?: unknown }).extensions);
      if (!change.ok) {
        const values: Record<string, string> = change.problem === "badAction"
          ? { value: change.value }
          : { reason: t(`validation.${change.detail.key}`, problemValues(change.detail)) };
        return done(new Error(t(`error.${change.problem}`, values)));
      }
      extensions = change.extensions;
      hub.updateExtensions(node.id, extensions);
      kept.keep(extensions);
      if (extensions.length === 0) status.show(statusOf.connecting(t("status.noExtensions")));
      done();
    };
    node.on("input", (msg: NodeMessageInFlow, _send, done) => started.whenStarted(() => onInput(msg, done), () => done()));

    node.on("close", (removed: boolean, done: () => void) => {
      started.close();
      stopNote();
      status.clear();
      failures.close();
      kept.close(removed);
      // Leaves first: the hub keeps the tracker's state for the node that comes back after a deploy.
      const left = hub.deregister(node.id);
      tracker.close();
      left.catch((err: unknown) => node.warn(String(err))).finally(() => done());
    });
  }

  RED.nodes.registerType("noojee-subscribe", NoojeeSubscribe);
};
