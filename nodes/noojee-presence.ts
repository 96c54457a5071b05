/**
 * noojee-presence: the state of each watched extension (idle, ringing, dialing, on a call), one msg per change, on the
 * config node's shared poll. The rules live in lib/presence/presence-table.ts; this file wires them to Node-RED.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { changeExtensions } from "./lib/input/extensions";
import type { CallEvent } from "./lib/poll/poll-loop";
import type { HubStatus } from "./lib/poll/subscription-hub";
import { Presence, PresenceChange, PresenceState, PresenceTable } from "./lib/presence/presence-table";
import { PresenceVariable } from "./lib/presence/presence-variable";
import { CallCallers, toPresenceMessage, toPresencePayload } from "./presence-messages";
import { statusOf, ThrottledStatus } from "./status";
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

/** The hub's poll timeout for this node: the house default, so that it never shortens a subscribe node's polls. */
const TIMEOUT_SEC = 30;
const SWEEP_MS = 60_000;
const STATE_KEYS: Record<PresenceState, string> = { idle: "idle", ringing: "ringing", dialing: "dialing", "on a call": "onCall" };

export = function (RED: NodeAPI): void {
  function NoojeePresence(this: Node, config: PresenceDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-presence.${key}`, values);
    const queryAll = config.queryOutput === "all";
    const fail = (statusKey: string, message: string): void => {
      node.status(statusOf.failing(t(`status.${statusKey}`)));
      node.error(message);
    };

    const scope = config.contextScope === "flow" || config.contextScope === "global" ? config.contextScope : undefined;
    const contextKey = (config.contextKey ?? "").trim();
    const store = config.contextStore ? config.contextStore : undefined;
    const contextOk = (): boolean => {
      if (!scope || contextKey !== "") return true;
      fail("invalidConfig", t("error.noContextKey"));
      return false;
    };
    const setup = openWatch(RED, node, config, t, fail, contextOk);
    if (!setup) return;
    const { kept, connection } = setup;
    let extensions: string[] = [];
    const hub = connection.hub;
    // Each call as subscribe describes it, caller names and normalised numbers included.
    // Each call looked up once (presence-messages.ts), not at every event.
    const callers = new CallCallers((callerId: unknown, extension?: string) => connection.callerInfo(callerId, extension));

    const table = new PresenceTable(extensions);
    const status = new ThrottledStatus(node);
    const failures = new PollFailures(node, t, () => extensions.join(","));

    const presenceStatus = () => {
      const failure = failures.failure;
      if (failure !== undefined) return statusOf.failing(failure);
      const all = table.all();
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

    // Per extension (presence-variable.ts): nodes sharing the variable merge, and an event writes only what changed.
    const variable = scope
      ? new PresenceVariable(
        {
          get: (key, callback) => node.context()[scope].get(key, store as string, callback),
          set: (key, value, callback) => node.context()[scope].set(key, value, store as string, callback),
        },
        contextKey,
        `${scope}\u0000${scope === "flow" ? node.z : ""}\u0000${store ?? ""}\u0000${contextKey}`,
        node.id,
        (err) => node.warn(t("error.contextFailed", { reason: err.message })),
      )
      : undefined;
    const writeExtension = (presence: Presence): void => {
      if (!variable) return;
      if (presence.unknown) variable.unknown(presence.extension, toPresencePayload(presence, false, callers));
      else variable.write(presence.extension, toPresencePayload(presence, false, callers));
    };
    /** The watched list changed: new extensions written (unknown until read), dropped ones removed. */
    const writeWatched = (): void => {
      variable?.watch(extensions);
      for (const presence of table.all()) if (presence.unknown) writeExtension(presence);
    };

    const handle = (change: PresenceChange | undefined): void => {
      if (!change) return;
      callers.retain(change.presence.extension, change.presence.calls);
      if (change.stateChanged) node.send(toPresenceMessage(change.presence, change.initial, callers));
      writeExtension(change.presence);
      status.show(presenceStatus);
    };

    const onStatus = (loop: HubStatus): void => {
      if (loop.state === "reading") return status.show(statusOf.connecting(t("status.reading")));
      failures.update(loop);
      const connecting = loop.state === "connecting" && failures.failure === undefined;
      status.show(connecting ? statusOf.connecting(t("status.connecting")) : presenceStatus);
    };

    // After a restart a kept list may still be on its way from the context store: the node registers once it is in.
    const started = new WatchStart(setup.extensions, (list) => {
      extensions = list;
      table.watch(extensions);
      hub.register(node.id, {
        extensions,
        timeoutSec: TIMEOUT_SEC,
        onStatus,
        onEvent: (event: CallEvent) => handle(table.observe(event)),
        onCurrentState: (extension: string, calls: CallEvent[]) => handle(table.setCurrent(extension, calls)),
      });
      if (extensions.length === 0) status.show(presenceStatus);
      writeWatched();
    });
    if (started.pending) status.show(statusOf.connecting(t("status.readingList")));

    // A leg whose end never came (lost, with no read since) does not keep an extension busy for ever.
    const sweep = setInterval(() => table.expire().forEach(handle), SWEEP_MS);
    sweep.unref?.();

    const answer = (msg: NodeMessageInFlow, send: (msg: NodeMessage) => void, done: (err?: Error) => void): void => {
      const asked = (msg as { extension?: unknown }).extension;
      if (asked !== undefined && asked !== null && asked !== "") {
        const presence = table.get(String(asked).trim());
        if (!presence) return done(new Error(t("error.notWatched", { extension: String(asked) })));
        send({ ...msg, ...toPresenceMessage(presence, false, callers) });
        return done();
      }
      if (queryAll) {
        const payload: Record<string, unknown> = {};
        for (const presence of table.all()) payload[presence.extension] = toPresencePayload(presence, false, callers);
        send({ ...msg, topic: extensions.join(","), payload });
      } else {
        for (const presence of table.all()) send({ ...msg, ...toPresenceMessage(presence, false, callers) });
      }
      done();
    };

    // No msg.action: the states now, from what the node knows. add / remove / replace with msg.extensions: as subscribe.
    const onInput = (msg: NodeMessageInFlow, send: (msg: NodeMessage) => void, done: (err?: Error) => void): void => {
      const action = (msg as { action?: unknown }).action;
      if (action === undefined || action === null || action === "") return answer(msg, send, done);
      const change = changeExtensions(extensions, action, (msg as { extensions?: unknown }).extensions);
      if (!change.ok) {
        const values: Record<string, string> = change.problem === "badAction" ? { value: change.value } : { reason: change.reason };
        return done(new Error(t(`error.${change.problem}`, values)));
      }
      extensions = change.extensions;
      table.watch(extensions);
      hub.updateExtensions(node.id, extensions);
      kept.keep(extensions);
      writeWatched();
      status.show(presenceStatus);
      done();
    };
    node.on("input", (msg: NodeMessageInFlow, send, done) => started.whenStarted(() => onInput(msg, send, done), () => done()));

    node.on("close", (removed: boolean, done: () => void) => {
      started.close();
      status.clear();
      failures.close();
      clearInterval(sweep);
      kept.close(removed);
      variable?.close(removed);
      hub
        .deregister(node.id)
        .catch((err: unknown) => node.warn(String(err)))
        .finally(() => done());
    });
  }

  RED.nodes.registerType("noojee-presence", NoojeePresence);
};
