/**
 * noojee-presence: the state of each watched extension (idle, ringing, dialing, on a call), one msg per change, on the
 * config node's shared poll. The rules live in lib/presence/presence-table.ts; this file wires them to Node-RED.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { changeExtensions, problemValues } from "./lib/input/extensions";
import type { HubStatus } from "./lib/poll/subscription-hub";
import type { PresenceState } from "./lib/presence/presence-table";
import { PresenceWatch } from "./presence-watch";
import { PROPERTY_DEFAULTS } from "./property-defaults";
import { standbyText, statusOf, ThrottledStatus } from "./status";
import { openWatch, PollFailures, WatchStart } from "./watch-node";

interface PresenceDef extends NodeDef {
  server: string;
  extensions: string;
  /** An input msg without action answers with one msg per extension ("each") or one msg for all ("all"). */
  queryOutput?: string;
  /** "" (none), "flow" or "global". */
  contextScope?: string;
  contextKey?: string;
  contextStore?: string;
  persistChanges?: boolean;
}

const STATE_KEYS: Record<PresenceState, string> = { idle: "idle", ringing: "ringing", dialing: "dialing", "on a call": "onCall" };

export = function (RED: NodeAPI): void {
  function NoojeePresence(this: Node, config: PresenceDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-presence.${key}`, values);
    const fail = (statusKey: string, message: string): void => {
      node.status(statusOf.failing(t(`status.${statusKey}`)));
      node.error(message);
    };

    const scope = config.contextScope === "flow" || config.contextScope === "global" ? config.contextScope : undefined;
    // Missing (a flow written by hand or by hand-edited JSON): the variable the editor proposes.
    const contextKey = (config.contextKey ?? PROPERTY_DEFAULTS["noojee-presence"].contextKey).trim();
    const store = config.contextStore ? config.contextStore : undefined;
    const contextOk = (): boolean => {
      if (!scope || contextKey !== "") return true;
      fail("invalidConfig", t("error.noContextKey"));
      return false;
    };
    const setup = openWatch(RED, node, config, t, fail, contextOk);
    if (!setup) return;
    const { kept, connection } = setup;
    const hub = connection.hub;
    const status = new ThrottledStatus(node);
    // While the config node's phonebook file gives no names, the green status says so.
    const stopNote = connection.phonebookNote.watch((note) => status.setNote(note));
    const failures = new PollFailures(node, t, () => watch.extensions.join(","));

    const presenceStatus = () => {
      const failure = failures.failure;
      if (failure !== undefined) return statusOf.failing(failure);
      const all = watch.table.all();
      if (all.length === 0) return statusOf.connecting(t("status.noExtensions"));
      if (all.some((p) => p.unknown)) return statusOf.connecting(t("status.connecting"));
      const busy = all.filter((p) => p.state !== "idle");
      if (all.length === 1 || busy.length === 1) {
        const one = busy[0] ?? all[0];
        return statusOf.ok(t("status.one", { extension: one.extension, state: t(`state.${STATE_KEYS[one.state]}`) }));
      }
      if (busy.length === 0) return statusOf.ok(t("status.allIdle", { total: all.length }));
      return statusOf.ok(t("status.busy", { busy: busy.length, total: all.length }));
    };

    const onStatus = (loop: HubStatus): void => {
      if (loop.state === "reading") return status.show(statusOf.connecting(t("status.reading")));
      // Replicas: another copy of the flows polls; this one shows the shared state (nodes/lib/replicas).
      if (loop.state === "standby") return status.show(statusOf.idle(standbyText(t, loop)));
      if (loop.state === "coordinationLost") return status.show(statusOf.failing(t("status.coordinationLost", { reason: loop.reason })));
      failures.update(loop);
      const connecting = loop.state === "connecting" && failures.failure === undefined;
      status.show(connecting ? statusOf.connecting(t("status.connecting")) : presenceStatus);
    };

    // The table, the variable, the hub and the msgs: presence-watch.ts, which the model-based test drives too.
    const watch = new PresenceWatch({
      id: node.id,
      hub,
      callerInfo: (callerId: unknown, extension?: string) => connection.callerInfo(callerId, extension),
      variable: scope && {
        context: {
          get: (key, callback) => node.context()[scope].get(key, store as string, callback),
          set: (key, value, callback) => node.context()[scope].set(key, value, store as string, callback),
        },
        key: contextKey,
        where: `${scope}\u0000${scope === "flow" ? node.z : ""}\u0000${store ?? ""}\u0000${contextKey}`,
        onError: (err) => node.warn(t("error.contextFailed", { reason: err.message })),
      },
      queryAll: config.queryOutput === "all",
      send: (msg) => node.send(msg),
      onStatus,
      changed: () => status.show(presenceStatus),
    });

    // After a restart a kept list may still be on its way from the context store: the node registers once it is in.
    const started = new WatchStart(setup.extensions, (list) => {
      watch.start(list);
      if (list.length === 0) status.show(presenceStatus);
    });
    if (started.pending) status.show(statusOf.connecting(t("status.readingList")));

    // No msg.action: the states now, from what the node knows. add / remove / replace with msg.extensions: as subscribe.
    const onInput = (msg: NodeMessageInFlow, send: (msg: NodeMessage) => void, done: (err?: Error) => void): void => {
      const action = (msg as { action?: unknown }).action;
      if (action === undefined || action === null || action === "") {
        const answer = watch.answer(msg);
        if (!answer) return done(new Error(t("error.notWatched", { extension: String((msg as { extension?: unknown }).extension) })));
        answer.forEach((one) => send(one));
        return done();
      }
      const change = changeExtensions(watch.extensions, action, (msg as { extensions?: unknown }).extensions);
      if (!change.ok) {
        const values: Record<string, string> = change.problem === "badAction"
          ? { value: change.value }
          : { reason: t(`validation.${change.detail.key}`, problemValues(change.detail)) };
        return done(new Error(t(`error.${change.problem}`, values)));
      }
      watch.setExtensions(change.extensions);
      kept.keep(change.extensions);
      done();
    };
    node.on("input", (msg: NodeMessageInFlow, send, done) => started.whenStarted(() => onInput(msg, send, done), () => done()));

    node.on("close", (removed: boolean, done: () => void) => {
      started.close();
      stopNote();
      status.clear();
      failures.close();
      kept.close(removed);
      watch
        .close(removed)
        .catch((err: unknown) => node.warn(String(err)))
        .finally(() => done());
    });
  }

  RED.nodes.registerType("noojee-presence", NoojeePresence);
};
