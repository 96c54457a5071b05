/**
 * The presence node without Node-RED: its table of extensions, each call's caller info, its context variable, its
 * place on the config node's hub, the msgs it sends on a change and its answers to a query. noojee-presence.ts adds
 * the status, the errors and the context API; the model-based test (test/model/presence.model.test.ts) drives this
 * same wiring with a model PBX and Node-RED's memory context store.
 */
import type { NodeMessage } from "node-red";
import type { CallerInfoLookup } from "./messages";
import type { CallEvent } from "./lib/poll/poll-loop";
import type { HubStatus, PollHub } from "./lib/poll/subscription-hub";
import { Presence, PresenceChange, PresenceTable } from "./lib/presence/presence-table";
import { ContextAccess, PresenceVariable } from "./lib/presence/presence-variable";
import { CallCallers, toPresenceMessage, toPresencePayload } from "./presence-messages";

/** The hub's poll timeout for presence: the house default, so that it never shortens a subscribe node's polls. */
export const PRESENCE_TIMEOUT_SEC = 30;
/** How often legs silent for too long are looked for (presence-table.ts, expire). */
const SWEEP_MS = 60_000;

export interface PresenceVariableSetup {
  context: ContextAccess;
  key: string;
  /** Which variable this is, across nodes of one process: scope, flow, store and key. */
  where: string;
  onError(err: Error): void;
}

export interface PresenceWatchOptions {
  id: string;
  hub: Pick<PollHub, "register" | "updateExtensions" | "deregister" | "onStarted">;
  callerInfo: CallerInfoLookup;
  /** The flow or global context variable, when the node keeps one. */
  variable?: PresenceVariableSetup;
  /** A query without msg.extension answers with one msg for all extensions (else one per extension). */
  queryAll: boolean;
  send(msg: NodeMessage): void;
  onStatus(status: HubStatus): void;
  /** A state or the watched list changed: what the status shows may have too. */
  changed(): void;
}

export class PresenceWatch {
  readonly table = new PresenceTable([]);
  private list: string[] = [];
  private readonly callers: CallCallers;
  private readonly variable: PresenceVariable | undefined;
  private sweep: ReturnType<typeof setInterval> | undefined;
  private readonly stopListening: () => void;

  constructor(private readonly options: PresenceWatchOptions) {
    // Each call looked up once (presence-messages.ts), not at every event.
    this.callers = new CallCallers(options.callerInfo);
    const v = options.variable;
    // Per extension (presence-variable.ts): nodes sharing the variable merge, and an event writes only what changed.
    this.variable = v && new PresenceVariable(v.context, v.key, v.where, options.id, (err) => v.onError(err));
    if (!v) PresenceVariable.started(options.id, undefined); // one it kept before a redeploy is left behind
    // Once the start is over, what a previous process left for extensions no node watches now leaves the variable.
    this.stopListening = options.hub.onStarted(() => this.variable?.settle());
  }

  get extensions(): readonly string[] {
    return this.list;
  }

  /** Registers with the hub once the node knows its extensions (a kept list may be read first). */
  start(extensions: readonly string[]): void {
    this.list = [...extensions];
    this.table.watch(this.list);
    // Claimed before registering: the hub's start may end at this register, and the variable cleans up then.
    this.writeWatched();
    this.options.hub.register(this.options.id, {
      extensions: this.list,
      timeoutSec: PRESENCE_TIMEOUT_SEC,
      mirror: true, // on a standby replica too, a query answers with the calls in progress
      onStatus: (status) => this.options.onStatus(status),
      onEvent: (event: CallEvent) => this.handle(this.table.observe(event)),
      onCurrentState: (extension: string, calls: CallEvent[]) => this.handle(this.table.setCurrent(extension, calls)),
    });
    // A leg whose end never came (lost, with no read since) does not keep an extension busy for ever.
    this.sweep = setInterval(() => this.table.expire().forEach((change) => this.handle(change)), SWEEP_MS);
    this.sweep.unref?.();
  }

  /** A msg changed the list (msg.action): added extensions are read, dropped ones leave the variable. */
  setExtensions(extensions: readonly string[]): void {
    this.list = [...extensions];
    this.table.watch(this.list);
    this.options.hub.updateExtensions(this.options.id, this.list);
    this.writeWatched();
    this.options.changed();
  }

  /** The answer to a query msg (no action): the msgs to send, or undefined when it asks for an extension not watched. */
  answer(msg: NodeMessage): NodeMessage[] | undefined {
    const asked = (msg as { extension?: unknown }).extension;
    if (asked !== undefined && asked !== null && asked !== "") {
      const presence = this.table.get(String(asked).trim());
      return presence && [{ ...msg, ...toPresenceMessage(presence, false, this.callers) }];
    }
    if (!this.options.queryAll) return this.table.all().map((presence) => ({ ...msg, ...toPresenceMessage(presence, false, this.callers) }));
    const payload: Record<string, unknown> = {};
    for (const presence of this.table.all()) payload[presence.extension] = toPresencePayload(presence, false, this.callers);
    return [{ ...msg, topic: this.list.join(","), payload }];
  }

  /** The node closes: `removed` (deleted, or its flow disabled) takes its extensions out of the variable. */
  async close(removed: boolean): Promise<void> {
    if (this.sweep !== undefined) clearInterval(this.sweep);
    this.stopListening();
    this.variable?.close(removed);
    await this.options.hub.deregister(this.options.id);
  }

  private handle(change: PresenceChange | undefined): void {
    if (!change) return;
    this.callers.retain(change.presence.extension, change.presence.calls);
    if (change.stateChanged) this.options.send(toPresenceMessage(change.presence, change.initial, this.callers));
    this.writeExtension(change.presence);
    this.options.changed();
  }

  private writeExtension(presence: Presence): void {
    if (!this.variable) return;
    if (presence.unknown) this.variable.unknown(presence.extension, toPresencePayload(presence, false, this.callers));
    else this.variable.write(presence.extension, toPresencePayload(presence, false, this.callers));
  }

  /** The watched list changed: new extensions written (unknown until read), dropped ones removed. */
  private writeWatched(): void {
    this.variable?.watch(this.list);
    for (const presence of this.table.all()) if (presence.unknown) this.writeExtension(presence);
  }
}
