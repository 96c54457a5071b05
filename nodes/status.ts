/** Node status helpers: the dot colours our nodes use, and a throttle so a busy PBX cannot flood the editor. */
import type { Node, NodeStatus } from "node-red";
import { monotonicNow } from "./lib/monotonic";

/** Status texts stay short in the editor. */
export function shortText(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const statusOf = {
  connecting: (text: string): NodeStatus => ({ fill: "yellow", shape: "ring", text }),
  busy: (text: string): NodeStatus => ({ fill: "blue", shape: "dot", text }),
  ok: (text: string): NodeStatus => ({ fill: "green", shape: "dot", text: shortText(text) }),
  failing: (text: string): NodeStatus => ({ fill: "red", shape: "ring", text: shortText(text) }),
  /** Nothing done yet, nothing wrong (an action node at start). */
  idle: (text: string): NodeStatus => ({ fill: "grey", shape: "ring", text: shortText(text) }),
  /** A result that is no longer news: said with the time it happened. */
  past: (text: string): NodeStatus => ({ fill: "grey", shape: "dot", text: shortText(text) }),
};

/** A replica on standby: who polls instead, when known, or that it waits out its own former lease. */
export function standbyText(
  t: (key: string, values?: Record<string, string>) => string,
  standby: { holder: string | undefined; ownFormer?: true },
): string {
  if (standby.ownFormer) return t("status.standbyOwnFormer");
  return standby.holder === undefined ? t("status.standbyUnknown") : t("status.standby", { holder: standby.holder });
}

/** A green status with a note (e.g. the phonebook file not found): yellow, the note after the text, both in 40 characters. */
export function withNote(status: NodeStatus, note: string | undefined): NodeStatus {
  if (note === undefined || status.fill !== "green") return status;
  const text = String(status.text ?? "");
  return { fill: "yellow", shape: "dot", text: text === "" ? shortText(note) : `${shortText(text, Math.max(10, 37 - note.length))} · ${note}` };
}

/**
 * Shows a status at once, or at most every `intervalMs` when updates come faster: the last one always wins.
 * A status may be given as a function, called only when it is shown: at thousands of events a second, translating a
 * status text per event costs more than the rest of the node's work. `clear()` must be called on close.
 */
export class ThrottledStatus {
  private pending: NodeStatus | (() => NodeStatus) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  // -Infinity, not 0: the monotonic clock starts near 0 with the process, and the first status must show at once.
  private lastShown = -Infinity;
  /** The last status given, shown again with a new note; and the note green statuses carry. */
  private last: NodeStatus | (() => NodeStatus) | undefined;
  private note: string | undefined;

  constructor(
    private readonly node: Pick<Node, "status">,
    private readonly intervalMs = 500,
    // Monotonic: after the wall clock steps back, Date.now() - lastShown stays negative and the status would freeze.
    private readonly now: () => number = monotonicNow,
  ) {}

  show(status: NodeStatus | (() => NodeStatus)): void {
    this.last = status;
    const now = this.now();
    if (this.timer === undefined && now - this.lastShown >= this.intervalMs) {
      this.lastShown = now;
      this.node.status(this.noted(status));
      return;
    }
    this.pending = status;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.lastShown = this.now();
      const pending = this.pending;
      if (pending) this.node.status(this.noted(pending));
      this.pending = undefined;
    }, Math.max(0, this.intervalMs - (now - this.lastShown)));
  }

  /** Sets the note green statuses carry (undefined: none), showing the last status again with it. */
  setNote(note: string | undefined): void {
    if (note === this.note) return;
    this.note = note;
    if (this.last !== undefined) this.show(this.last);
  }

  private noted(status: NodeStatus | (() => NodeStatus)): NodeStatus {
    return withNote(typeof status === "function" ? status() : status, this.note);
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
