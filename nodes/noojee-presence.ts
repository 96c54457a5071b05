/**
 * noojee-presence: the state of each watched extension (idle, ringing, dialing, on a call), one msg per change, on the
 * config node's shared poll. The rules live in lib/presence/presence-table.ts; this file wires them to Node-RED.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { changeExtensions, parseExtensionList } from "./lib/input/extensions";
import { KeptExtensions } from "./kept-extensions";
import type { CallEvent, LoopStatus } from "./lib/poll/poll-loop";
import { PresenceChange, PresenceState, PresenceTable } from "./lib/presence/presence-table";
import type { CallerInfoLookup } from "./messages";
import { toPresenceMessage, toPresencePayload } from "./presence-messages";
import type { NoojeeConfigNode } from "./node-types";
import { statusOf, ThrottledStatus } from "./status";

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

    let extensions: string[];
    try {
      extensions = parseExtensionList(config.extensions);
    } catch (err) {
      return fail("invalidConfig", t("error.invalidExtensions", { reason: (err as Error).message }));
    }
    // Changes made by msg survive a redeploy only when the user asked for it (as for subscribe).
    const kept = new KeptExtensions(node, config.persistChanges === true);
    extensions = kept.restore(extensions, () => node.warn(t("error.badSavedExtensions")));
    const scope = config.contextScope === "flow" || config.contextScope === "global" ? config.contextScope : undefined;
    const contextKey = (config.contextKey ?? "").trim();
    if (scope && contextKey === "") return fail("invalidConfig", t("error.noContextKey"));
    const store = config.contextStore ? config.contextStore : undefined;
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    if (!server) return fail("notConfigured", t("error.noServer"));
    let hub;
    let callers: CallerInfoLookup;
    try {
      const connection = server.connection();
      hub = connection.hub;
      // Each call as subscribe describes it, caller names and normalised numbers included.
      callers = (callerId: unknown, extension?: string) => connection.callerInfo(callerId, extension);
    } catch (err) {
      return fail("notConfigured", (err as Error).message);
    }

    const table = new PresenceTable(extensions);
    const status = new ThrottledStatus(node);
    /** The failing status shown, and the error message it was for (one node.error per streak or change of reason). */
    let failure: string | undefined;
    let failedWith: string | undefined;

    const presenceStatus = () => {
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

    const writeContext = (): void => {
      if (!scope) return;
      const value: Record<string, unknown> = {};
      for (const presence of table.all()) value[presence.extension] = toPresencePayload(presence, false, callers);
      node.context()[scope].set(contextKey, value, store, (err?: Error) => {
        if (err) node.warn(t("error.contextFailed", { reason: err.message }));
      });
    };

    const handle = (change: PresenceChange | undefined): void => {
      if (!change) return;
      if (change.stateChanged) node.send(toPresenceMessage(change.presence, change.initial, callers));
      writeContext();
      status.show(presenceStatus);
    };

    const onStatus = (loop: LoopStatus): void => {
      if (loop.state !== "failing") {
        if (failure !== undefined && loop.state === "listening") node.log(t("log.recovered"));
        if (loop.state === "listening") failure = failedWith = undefined;
        status.show(loop.state === "connecting" && failure === undefined ? statusOf.connecting(t("status.connecting")) : presenceStatus);
        return;
      }
      const reason = loop.error.kind === "auth" ? t("status.authFailed") : loop.error.message.replace(/\s*\(.*\)$/, "");
      const text = t("status.retrying", { reason, seconds: Math.max(1, Math.round(loop.retryInMs / 1000)) });
      // One error per failure streak (or change of reason): a Catch node hears it, the log is not flooded.
      if (loop.error.message !== failedWith) {
        failedWith = loop.error.message;
        node.error(t("error.pollFailed", { reason: loop.error.message }), { topic: extensions.join(","), payload: { error: loop.error.message, kind: loop.error.kind } });
      }
      failure = text;
      status.show(presenceStatus);
    };

    hub.register(node.id, {
      extensions,
      timeoutSec: TIMEOUT_SEC,
      onStatus,
      onEvent: (event: CallEvent) => handle(table.observe(event)),
      onCurrentState: (extension: string, calls: CallEvent[]) => handle(table.setCurrent(extension, calls)),
    });
    if (extensions.length === 0) status.show(presenceStatus);
    writeContext();

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
    node.on("input", (msg: NodeMessageInFlow, send, done) => {
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
      writeContext();
      status.show(presenceStatus);
      done();
    });

    node.on("close", (removed: boolean, done: () => void) => {
      status.clear();
      clearInterval(sweep);
      kept.close(removed);
      hub
        .deregister(node.id)
        .catch((err: unknown) => node.warn(String(err)))
        .finally(() => done());
    });
  }

  RED.nodes.registerType("noojee-presence", NoojeePresence);
};
