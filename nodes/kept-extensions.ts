/**
 * "Keep extensions changed by msg across redeploys" for the nodes that take msg.action (subscribe, presence).
 * Node-RED wipes a node's in-memory context when it restarts, so the process keeps its own copy by node id; the node
 * context gets one too, which a persistent context store carries across Node-RED restarts.
 */
import type { Node } from "node-red";
import { parseExtensionInput } from "./lib/input/extensions";

const CONTEXT_KEY = "noojee-extensions";
const changedLists = new Map<string, string[]>();

export class KeptExtensions {
  constructor(private readonly node: Node, private readonly persist: boolean) {
    // Turned off: forget any list kept before, so that turning it on again never brings back a stale one.
    if (!persist) {
      changedLists.delete(node.id);
      node.context().set(CONTEXT_KEY, undefined);
    }
  }

  /** The list kept for this node, else `configured`; `onBad` when the kept one cannot be read. */
  restore(configured: string[], onBad: () => void): string[] {
    if (!this.persist) return configured;
    const saved: unknown = changedLists.get(this.node.id) ?? this.node.context().get(CONTEXT_KEY);
    if (!Array.isArray(saved)) return configured;
    try {
      return saved.length === 0 ? [] : parseExtensionInput(saved);
    } catch {
      onBad();
      return configured;
    }
  }

  /** A msg changed the list. */
  keep(extensions: string[]): void {
    if (!this.persist) return;
    changedLists.set(this.node.id, extensions);
    this.node.context().set(CONTEXT_KEY, extensions);
  }

  /** The node is closing; deleted, its list goes with it. */
  close(removed: boolean): void {
    if (removed) changedLists.delete(this.node.id);
  }
}
