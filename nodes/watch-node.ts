/**
 * What the nodes on the shared poll (subscribe, presence) have in common: reading their extension list and config
 * node at start, and reporting the poll's failures (a short red status, one error per failure streak for Catch nodes,
 * a log line on recovery). Each node keeps its own locale keys: `status.retrying`, `status.authFailed`,
 * `status.readingList`, `error.pollFailed`, `log.recovered`, `error.invalidExtensions`, `error.badSavedExtensions`,
 * `error.keptUnreadable`, `error.keepFailed`, `error.noServer`.
 */
import type { Node, NodeAPI } from "node-red";
import { InvalidExtensionsError, parseExtensionList, problemValues } from "./lib/input/extensions";
import type { LoopStatus } from "./lib/poll/poll-loop";
import { KeptExtensions } from "./kept-extensions";
import type { NoojeeConfigNode, NoojeeConnection } from "./node-types";

type Translate = (key: string, values?: Record<string, string | number>) => string;

export interface WatchSetup {
  /** The configured list, or the one kept from msg changes: a promise while that is read from the context store. */
  extensions: string[] | Promise<string[]>;
  kept: KeptExtensions;
  connection: NoojeeConnection;
}

/**
 * The node's extensions and its connection; undefined after `fail(statusKey, message)` was called with what is wrong.
 * `validate` checks the node's other settings (calling `fail` and returning false when one is wrong) before the
 * config node is asked for its connection. A kept list still to be read is announced to the hub, whose start then
 * waits for the node (so that the list's extensions carry on from the saved position too).
 */
export function openWatch(
  RED: NodeAPI,
  node: Node,
  config: { server: string; extensions: string; persistChanges?: boolean },
  t: Translate,
  fail: (statusKey: string, message: string) => void,
  validate: () => boolean = () => true,
): WatchSetup | undefined {
  let extensions: string[];
  try {
    extensions = parseExtensionList(config.extensions);
  } catch (err) {
    const problem = (err as InvalidExtensionsError).problem;
    fail("invalidConfig", t("error.invalidExtensions", { reason: t(`validation.${problem.key}`, problemValues(problem)) }));
    return undefined;
  }
  // Changes made by msg survive a redeploy only when the user asked for it.
  const kept = new KeptExtensions(node, config.persistChanges === true, (key, values) => node.warn(t(key, values)));
  if (!validate()) return undefined;
  const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
  if (!server) {
    fail("notConfigured", t("error.noServer"));
    return undefined;
  }
  let connection: NoojeeConnection;
  try {
    connection = server.connection();
  } catch (err) {
    fail("notConfigured", (err as Error).message);
    return undefined;
  }
  const restored = kept.restore(extensions);
  if (!Array.isArray(restored)) connection.hub.expect(node.id);
  return { extensions: restored, kept, connection };
}

/**
 * Starts a node once its extensions are known: at once, or once its kept list has been read. Msgs that come before
 * are handled after the start, in order; `close()` (the node closing first) means no start.
 */
export class WatchStart {
  private waiting: Promise<void> | undefined;
  private closed = false;

  constructor(extensions: string[] | Promise<string[]>, start: (extensions: string[]) => void) {
    if (Array.isArray(extensions)) {
      start(extensions);
      return;
    }
    this.waiting = extensions.then((list) => {
      this.waiting = undefined;
      if (!this.closed) start(list);
    });
  }

  /** Whether the node still waits for its list. */
  get pending(): boolean {
    return this.waiting !== undefined;
  }

  /** Runs `handle` (a msg's handling) now, or after the start; `skip` instead when the node closed meanwhile. */
  whenStarted(handle: () => void, skip: () => void): void {
    if (!this.waiting) return handle();
    void this.waiting.then(() => (this.closed ? skip() : handle()));
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * How long the poll must work before a failure streak is over. A failure back sooner continues the streak: a poll that
 * fails, works, fails again (a proxy cutting every held poll) gives one error and one "restored" line, not one a flap.
 */
export const STREAK_WINDOW_MS = 60_000;

/**
 * Follows the poll's status for one node: what to show while it fails, and the errors and logs that go with it.
 * close() must be called when the node closes.
 */
export class PollFailures {
  /** The reason (kind and text without numbers) of the current failure streak, if any. */
  private failedWith: string | undefined;
  private shown: string | undefined;
  /** Ends the streak once the poll has worked for STREAK_WINDOW_MS. */
  private ending: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly node: Node, private readonly t: Translate, private readonly topic: () => string) {}

  /** The short failing text to show now, or undefined while not failing. */
  get failure(): string | undefined {
    return this.shown;
  }

  update(loop: LoopStatus): void {
    if (loop.state !== "failing") {
      if (loop.state !== "listening") return; // connecting: a failure shown stays until the poll works again
      this.shown = undefined;
      if (this.failedWith === undefined || this.ending !== undefined) return;
      this.ending = setTimeout(() => {
        this.ending = undefined;
        this.failedWith = undefined;
        this.node.log(this.t("log.recovered"));
      }, STREAK_WINDOW_MS);
      return;
    }
    this.stopEnding();
    // The status stays short: the detail in brackets goes to the log and the Catch node only.
    const reason =
      loop.error.kind === "auth" ? this.t("status.authFailed") : (loop.error.short ?? loop.error.message.replace(/\s*\(.*\)$/, ""));
    this.shown = this.t("status.retrying", { reason, seconds: Math.max(1, Math.round(loop.retryInMs / 1000)) });
    // One error per failure streak (or change of reason): a Catch node hears it, the log is not flooded. The reason is
    // its kind and text without numbers: a poll's limit and a quick check's ("within 15 s", "within 10 s") are one.
    const reasonKey = `${loop.error.kind}:${loop.error.message.replace(/\d+(\.\d+)?/g, "#")}`;
    if (reasonKey === this.failedWith) return;
    this.failedWith = reasonKey;
    this.node.error(this.t("error.pollFailed", { reason: loop.error.message }), {
      topic: this.topic(),
      payload: { error: loop.error.message, kind: loop.error.kind },
    });
  }

  close(): void {
    this.stopEnding();
  }

  private stopEnding(): void {
    if (this.ending !== undefined) clearTimeout(this.ending);
    this.ending = undefined;
  }
}
