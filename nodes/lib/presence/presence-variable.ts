/**
 * The flow or global context variable of presence nodes: an object from extension to payload. Knows nothing of
 * Node-RED: it is given a get and a set of one context (asynchronous, so any store works).
 *
 * - Per extension: each write sets `key["410"]` only (a nested property, as Node-RED's context API allows), so nodes
 *   that share the variable (the editor's default name) never overwrite each other's extensions, and an event writes
 *   only the extension it changed.
 * - Unknown is not idle: before its first answer an extension is written as unknown only when the variable holds
 *   nothing for it; a state stored before (a persistent store across a restart) stays until the answer.
 * - An extension no node of this variable watches any longer (removed by msg, the node deleted, or no longer in its
 *   list after a redeploy) is removed from it. A node closed to be started again (a redeploy) keeps its claim until
 *   its next instance takes it over: that one removes what it no longer watches. One that does not come back within
 *   RESTART_WAIT_MS (flows stopped, then the node deleted) gives its claim up.
 * - Claims live in memory only: after a restart a persistent store still holds what the last process wrote, such as an
 *   extension added by msg then. Once the start is over (`settle`: the hub's start gate, which waits for the nodes still
 *   reading their kept lists), the extensions no node of the variable claims are removed from it.
 */

/** How long the claim of a node closed to be started again waits for its next instance. */
export const RESTART_WAIT_MS = 60_000;

export interface ContextAccess {
  get(key: string, callback: (err: Error | undefined, value: unknown) => void): void;
  set(key: string, value: unknown, callback: (err?: Error) => void): void;
}

/** Which node writes which extensions, per variable (`where`: scope, flow, store and key): one process, many nodes. */
const writers = new Map<string, Map<string, ReadonlySet<string>>>();

/** `key["410"]`: the extension's property of the variable (extensions are digits: no quoting needed). */
export function extensionPath(key: string, extension: string): string {
  return `${key}[${JSON.stringify(extension)}]`;
}

/** Nodes closed to be started again (a redeploy), by node id: their next instance takes their claim over. */
const restarting = new Map<string, PresenceVariable>();

/** The open instances of each variable, and the variables whose start is over but not yet cleaned (see settle). */
const instances = new Map<string, Set<PresenceVariable>>();
const cleanDue = new Set<string>();

/** What a presence node writes for an extension: its payload, naming the extension and its state. */
function isPresenceEntry(key: string, value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as { extension?: unknown; state?: unknown };
  return entry.extension === key && typeof entry.state === "string";
}

export class PresenceVariable {
  /**
   * A node starts with this variable (`where`), or with none: what it left in another variable before a redeploy (its
   * variable renamed, moved or turned off) is removed there. The constructor calls it; a node without one must too.
   */
  static started(nodeId: string, where: string | undefined): void {
    const before = restarting.get(nodeId);
    restarting.delete(nodeId);
    if (before) clearTimeout(before.giveUp);
    if (before && before.where !== where) before.release();
  }

  /** Extensions this node has written a known state for (an unknown one read meanwhile must not replace it). */
  private readonly known = new Set<string>();
  private mine = new Set<string>();
  private closed = false;
  private giveUp: ReturnType<typeof setTimeout> | undefined;
  /** watch() not called yet: the claim a previous instance of this node left (a redeploy) is still to take over. */
  private first = true;
  /** Its hub's start is over: it no longer holds the cleaning up back, even if its kept list never came. */
  private settled = false;

  constructor(
    private readonly context: ContextAccess,
    private readonly key: string,
    private readonly where: string,
    private readonly nodeId: string,
    private readonly onError: (err: Error) => void,
  ) {
    PresenceVariable.started(nodeId, where);
    let open = instances.get(where);
    if (!open) instances.set(where, (open = new Set()));
    open.add(this);
  }

  /**
   * The start (or a deploy) is over for this node's hub: the extensions no node of the variable claims are removed,
   * once every node of the variable knows its extensions (one still reading its kept list holds it back, unless its
   * own hub's start is over: the gate gave up on it).
   */
  settle(): void {
    if (this.closed) return;
    this.settled = true;
    cleanDue.add(this.where);
    PresenceVariable.clean(this.where);
  }

  private static clean(where: string): void {
    const open = [...(instances.get(where) ?? [])];
    if (!cleanDue.has(where) || open.length === 0 || open.some((one) => one.first && !one.settled)) return;
    cleanDue.delete(where);
    const reader = open[0];
    reader.context.get(reader.key, (err, value) => {
      if (err) return reader.onError(err);
      if (typeof value !== "object" || value === null || Array.isArray(value)) return;
      // Only entries a presence node wrote: another node's variable may be nested here (`noojee` and
      // `noojee.presence`), and a flow may keep its own keys beside the extensions.
      const entries = value as Record<string, unknown>;
      reader.removeUnclaimed(Object.keys(entries).filter((key) => isPresenceEntry(key, entries[key])));
    });
  }

  /** The extension's known state. */
  write(extension: string, payload: Record<string, unknown>): void {
    if (this.closed) return;
    this.known.add(extension);
    this.set(extension, payload);
  }

  /** Not read yet: written (as unknown) only when the variable holds nothing for it. */
  unknown(extension: string, payload: Record<string, unknown>): void {
    if (this.closed) return;
    this.known.delete(extension);
    this.context.get(extensionPath(this.key, extension), (err, value) => {
      if (err) return this.onError(err);
      if (this.closed || this.known.has(extension) || !this.mine.has(extension)) return;
      if (value === undefined || value === null) this.set(extension, payload);
    });
  }

  /** This node watches these extensions now: those it no longer watches, and no other node does, are removed. */
  watch(extensions: readonly string[]): void {
    const next = new Set(extensions);
    if (this.first) this.mine = new Set(this.claims().get(this.nodeId) ?? []); // what this node watched before a redeploy
    this.first = false;
    const dropped = [...this.mine].filter((extension) => !next.has(extension));
    this.mine = next;
    this.claims().set(this.nodeId, next);
    for (const extension of dropped) this.known.delete(extension);
    this.removeUnclaimed(dropped);
    PresenceVariable.clean(this.where); // a cleaning up that waited for this node's extensions
  }

  /** The node closes: `removed` (deleted, or its flow disabled) takes its extensions out of the variable. */
  close(removed: boolean): void {
    this.closed = true;
    const open = instances.get(this.where);
    open?.delete(this);
    if (open?.size === 0) {
      instances.delete(this.where);
      cleanDue.delete(this.where);
    } else PresenceVariable.clean(this.where);
    if (!removed) {
      restarting.set(this.nodeId, this); // started again soon: the next instance takes the claim over (watch)
      this.giveUp = setTimeout(() => {
        if (restarting.get(this.nodeId) !== this) return;
        restarting.delete(this.nodeId);
        this.release();
      }, RESTART_WAIT_MS);
      this.giveUp.unref?.();
      return;
    }
    this.release();
  }

  /** Its extensions leave the variable, but those another node writing there watches. */
  private release(): void {
    const claims = this.claims();
    if (claims.get(this.nodeId) === this.mine) claims.delete(this.nodeId);
    if (claims.size === 0) writers.delete(this.where);
    this.removeUnclaimed([...this.mine]);
  }

  private claims(): Map<string, ReadonlySet<string>> {
    let claims = writers.get(this.where);
    if (!claims) writers.set(this.where, (claims = new Map()));
    return claims;
  }

  private removeUnclaimed(extensions: readonly string[]): void {
    const claimed = (extension: string) => [...(writers.get(this.where)?.values() ?? [])].some((set) => set.has(extension));
    for (const extension of extensions) if (!claimed(extension)) this.set(extension, undefined);
  }

  private set(extension: string, value: unknown): void {
    this.context.set(extensionPath(this.key, extension), value, (err?: Error) => {
      if (err) this.onError(err);
    });
  }
}
