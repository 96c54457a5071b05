/**
 * "Keep extensions changed by msg across redeploys" for the nodes that take msg.action (subscribe, presence).
 * Node-RED wipes a node's in-memory context when it restarts, so the process keeps its own copy by node id; the node
 * context gets one too, which a persistent context store carries across Node-RED restarts.
 *
 * Only through the asynchronous context API: a default store may answer only that way (localfilesystem with
 * `cache: false`, Redis). So after a restart the kept list comes later than the node's constructor (see watch-node.ts).
 */
import type { Node } from "node-red";
import { parseExtensionInput } from "./lib/input/extensions";
import { reasonOf } from "./lib/poll/position-writer";
import { READ_FOR_MS, retriedRead } from "./lib/poll/retried-read";

const CONTEXT_KEY = "noojee-extensions";
/** By node id: the list this process knows is kept (null: read, and none was). */
const changedLists = new Map<string, string[] | null>();

/** The node context's get/set with callbacks (on its default store). */
interface AsyncContext {
  get(key: string, callback: (err: Error | null | undefined, value?: unknown) => void): void;
  set(key: string, value: unknown, callback: (err?: Error | null) => void): void;
}

/** The catalogue keys of the node's warnings about its kept list (each node's catalogue has them). */
export type KeptWarning = "error.badSavedExtensions" | "error.keptUnreadable" | "error.keepFailed";

export class KeptExtensions {
  constructor(
    private readonly node: Node,
    private readonly persist: boolean,
    private readonly warn: (key: KeptWarning, values?: Record<string, string>) => void,
    /** How long a start tries to read the kept list (as long as the position, by default). */
    private readonly readForMs = READ_FOR_MS,
  ) {
    // Turned off: forget any list kept before, so that turning it on again never brings back a stale one.
    if (!persist) {
      changedLists.delete(node.id);
      this.write(undefined, () => undefined);
    }
  }

  /**
   * The list to watch: the one kept for this node, else `configured`. Known at once when none is kept or this process
   * knows it (a redeploy); read from the node's context (a promise) after a restart.
   */
  restore(configured: string[]): string[] | Promise<string[]> {
    if (!this.persist) return configured;
    const known = changedLists.get(this.node.id);
    if (known !== undefined) return known === null ? configured : this.check(known, configured);
    // Tried as long as the hub's position is (retried-read.ts): a default store slow after a restart must not cost the list.
    return retriedRead((callback) => this.context().get(CONTEXT_KEY, callback), { forMs: this.readForMs }).then((outcome) => {
      if ("gaveUp" in outcome) {
        this.warn("error.keptUnreadable", { reason: outcome.problem || `no answer in ${outcome.triedMs / 1000} s` });
        return configured;
      }
      if (!changedLists.has(this.node.id)) changedLists.set(this.node.id, Array.isArray(outcome.value) ? (outcome.value as string[]) : null);
      return this.check(outcome.value, configured);
    });
  }

  /** A msg changed the list. */
  keep(extensions: string[]): void {
    if (!this.persist) return;
    changedLists.set(this.node.id, extensions);
    this.write(extensions, (reason) => this.warn("error.keepFailed", { reason }));
  }

  /** The node is closing; deleted, its list goes with it. */
  close(removed: boolean): void {
    if (removed) changedLists.delete(this.node.id);
  }

  private check(saved: unknown, configured: string[]): string[] {
    if (!Array.isArray(saved)) return configured;
    try {
      return saved.length === 0 ? [] : parseExtensionInput(saved);
    } catch {
      this.warn("error.badSavedExtensions");
      return configured;
    }
  }

  private write(value: string[] | undefined, onError: (reason: string) => void): void {
    try {
      this.context().set(CONTEXT_KEY, value, (err) => err && onError(reasonOf(err)));
    } catch (err) {
      onError(reasonOf(err));
    }
  }

  private context(): AsyncContext {
    return this.node.context() as unknown as AsyncContext;
  }
}
