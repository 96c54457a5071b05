/**
 * Where a config node keeps its position for a restart: the resume file in the user directory (the default), or a
 * context store named in settings.js (`contextStorage`), for installs whose user directory is lost at a restart
 * (FlowFuse, a container without a volume). Chooses the place, forgets any position left in the other places (so that
 * switching back never starts from a stale one), and reads the saved position with the catalogue's log lines.
 */
import type { Node, NodeAPI } from "node-red";
import { ContextPosition, POSITION_KEY, READ_FOR_MS, type ContextAccess } from "./lib/poll/context-position";
import { MAX_CLOCK_AHEAD_MS, type LoadResult } from "./lib/poll/position-format";
import type { PositionWriter } from "./lib/poll/position-writer";
import { deleteResumeFile, ResumeFile, resumeFilePath } from "./lib/poll/resume-file";
import { ResumeSource } from "./lib/poll/resume-points";
import type { HubPosition } from "./lib/poll/subscription-hub";
import { isObject } from "./lib/json-checks";
import type { NoojeeConfigDef } from "./node-types";

export type Place = { kind: "off" } | { kind: "file"; file: string } | { kind: "context"; store: string };

/** settings.js `contextStorage` (empty when not set). */
function configuredStores(settings: unknown): Record<string, unknown> {
  const stores = (settings as { contextStorage?: unknown } | undefined)?.contextStorage;
  return isObject(stores) ? stores : {};
}

/** The store a name stands for: `default` may be another store's name (an alias). */
function resolveStore(settings: unknown, name: string): string {
  const entry = configuredStores(settings)[name];
  return typeof entry === "string" ? entry : name;
}

/** The module of a store configured in settings.js (through an alias), or undefined if none. */
export function storeModule(settings: unknown, name: string): string | undefined {
  const entry = configuredStores(settings)[resolveStore(settings, name)];
  if (!isObject(entry) || entry.module === undefined) return undefined;
  return typeof entry.module === "string" ? entry.module : "custom";
}

/** The context stores configured in settings.js, each once (an alias is its store). */
function storeNames(settings: unknown): string[] {
  const names = Object.keys(configuredStores(settings)).filter((name) => storeModule(settings, name) !== undefined);
  return [...new Set(names.map((name) => resolveStore(settings, name)))];
}

/** The stores that may hold a position of an earlier setting: all but the one in use (and memory-only ones). */
export function storesToClear(settings: unknown, place: Place): string[] {
  const inUse = place.kind === "context" ? resolveStore(settings, place.store) : undefined;
  return storeNames(settings).filter((store) => store !== inUse && storeModule(settings, store) !== "memory");
}

/**
 * The Node-RED runtimes (each load of the module's RED) in which "no saved position" was said: on a first start every
 * config node has none, and a line from each (19 in a big install) says nothing more than the first one.
 */
const saidNoPosition = new WeakSet<object>();

export class PositionPlace {
  readonly place: Place;
  private readonly t: (key: string, values?: Record<string, string | number>) => string;

  constructor(private readonly RED: NodeAPI, private readonly node: Node, config: NoojeeConfigDef) {
    this.t = (key, values) => RED._(`noojee-config.${key}`, values);
    const userDir = (RED.settings as { userDir?: unknown }).userDir;
    const file = typeof userDir === "string" && userDir !== "" ? resumeFilePath(userDir, node.id) : undefined;
    const fileOrOff: Place = file ? { kind: "file", file } : { kind: "off" };
    const store = typeof config.resumeStore === "string" ? config.resumeStore.trim() : "";
    // On unless turned off: flows saved before the option existed have no such property.
    if (config.resumeAfterRestart === false) this.place = { kind: "off" };
    else if (store === "") this.place = fileOrOff;
    else {
      const module = storeModule(RED.settings, store);
      // Node-RED would quietly use its default store (often memory) for a name it does not know.
      if (module === undefined) node.warn(this.t("resume.unknownStore", { store }));
      else if (module === "memory") node.warn(this.t("resume.memoryStore", { store }));
      this.place = module === undefined || module === "memory" ? fileOrOff : { kind: "context", store };
    }
    void this.forgetElsewhere(file);
  }

  /** What the hub is given: the writer for this place, and the saved position (read from a store asynchronously). */
  open(host: string, authMode: string, maxAgeMs: number, onWarning: (message: string) => void):
    { writer: PositionWriter | undefined; position: HubPosition | Promise<HubPosition | undefined> | undefined } {
    const place = this.place;
    if (place.kind === "off") return { writer: undefined, position: undefined };
    if (place.kind === "file") {
      const writer = new ResumeFile({ file: place.file, host, authMode, onWarning });
      return { writer, position: this.report(writer.load(maxAgeMs), writer.where, maxAgeMs) };
    }
    const writer = new ContextPosition({ context: this.context(), store: place.store, host, authMode, onWarning });
    // Said once: the status of the nodes shows the wait meanwhile, and the outcome gets its own line.
    const onRetry = (reason: string, attempt: number): void => {
      if (attempt === 1) this.node.warn(this.t("resume.retrying", { where: writer.where, reason, minutes: READ_FOR_MS / 60_000 }));
    };
    const loading = writer.load(maxAgeMs, onRetry);
    return { writer, position: loading.then((loaded) => this.report(loaded, writer.where, maxAgeMs)) };
  }

  /** The config node was deleted with no connection open: its saved position goes with it. */
  async forget(): Promise<void> {
    const place = this.place;
    const warn = (message: string): void => this.node.warn(message);
    if (place.kind === "file") await deleteResumeFile(place.file, warn);
    else if (place.kind === "context") await this.erase(place.store);
  }

  private context(): ContextAccess {
    return this.node.context() as unknown as ContextAccess;
  }

  /** A position left in a place not used now (the setting changed, or resuming was turned off) is forgotten. */
  private async forgetElsewhere(file: string | undefined): Promise<void> {
    const place = this.place;
    const warn = (message: string): void => this.node.warn(message);
    if (file && place.kind !== "file") await deleteResumeFile(file, warn);
    for (const store of storesToClear(this.RED.settings, place)) await this.erase(store).catch(() => undefined);
  }

  /** Removes the position from a store, if it holds one (a read first: most stores hold none). */
  private erase(store: string): Promise<void> {
    const context = this.context();
    return new Promise<void>((resolve) => {
      context.get(POSITION_KEY, store, (err, value) => {
        if (err || value === undefined) return resolve();
        context.set(POSITION_KEY, undefined, store, () => resolve());
      });
    });
  }

  /** The saved position to carry on from, if usable, with a log line saying which; otherwise undefined. */
  private report(loaded: LoadResult, where: string, maxAgeMs: number): HubPosition | undefined {
    if (loaded.position) {
      // No poll at a seq above 0: nothing would carry on, every extension gets a current-state read.
      if (new ResumeSource(loaded.position.polls).size === 0) {
        this.node.log(this.t("resume.nothingToResume", { where }));
        return undefined;
      }
      // A negative age is the saving clock running ahead of this one: a little is skew, more is this clock behind.
      const seconds = Math.round(Math.abs(loaded.ageMs) / 1000);
      const minutes = Math.max(1, Math.round(-loaded.ageMs / 60_000));
      if (loaded.ageMs < -MAX_CLOCK_AHEAD_MS) this.node.log(this.t("resume.clockBehind", { minutes, where }));
      else this.node.log(this.t(loaded.ageMs < 0 ? "resume.resumingAhead" : "resume.resuming", { seconds, where }));
      return loaded.position;
    }
    const values = { where, reason: loaded.detail };
    if (loaded.reason === "corrupt" || loaded.reason === "unreadable") this.node.warn(this.t("resume.badFile", values));
    else if (loaded.reason === "otherHost") this.node.warn(this.t("resume.otherHost", values));
    else if (loaded.reason === "gaveUp") {
      this.node.warn(this.t("resume.gaveUp", { ...values, minutes: Math.round(loaded.triedMs / 60_000) }));
    } else if (loaded.reason === "tooOld") {
      const minutes = Math.max(1, Math.round(Math.abs(loaded.ageMs) / 60_000));
      this.node.log(this.t("resume.tooOld", { minutes, max: Math.round(maxAgeMs / 60_000) }));
    } else if (loaded.reason === "missing" && saidNoPosition.has(this.RED)) {
      this.node.debug(this.t("resume.notResuming", values));
    } else if (loaded.reason === "missing") {
      saidNoPosition.add(this.RED);
      this.node.log(this.t("resume.noPosition", values));
    } else this.node.log(this.t("resume.notResuming", values));
    return undefined;
  }
}
