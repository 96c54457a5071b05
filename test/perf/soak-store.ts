/**
 * `--store NAME` of the soak: the config node keeps its position in a context store outside the user directory, and
 * every Node-RED kill also deletes the user directory's files as a container restart does (only the flows,
 * credentials, settings and packages stay). NAME is one of:
 *
 * - `durable`: the store written for the kill tests (test/resume/durable-store.ts), which fsyncs every write, as a
 *   persistent store such as FlowFuse's or a database does;
 * - `localfilesystem`: Node-RED's own, at its default flushInterval (30 s), as most installs run it: a kill may find
 *   the position on disk up to that old, and the restarted flow may be sent again what it got since.
 *
 * The kill accounting reads the position from the store's files once the process is dead, as it reads the resume
 * file otherwise: re-sends are allowed back to that position, no further (soak-accounting.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { POSITION_KEY } from "../../nodes/lib/poll/context-position";

export const SOAK_STORES = ["durable", "localfilesystem"] as const;
export type SoakStoreName = (typeof SOAK_STORES)[number];

export class SoakStore {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-soak-store-"));

  constructor(readonly name: SoakStoreName) {}

  /** Parses `--store`; undefined when not given. */
  static fromArg(value: string | boolean | undefined): SoakStore | undefined {
    if (value === undefined) return undefined;
    const name = String(value);
    if (!(SOAK_STORES as readonly string[]).includes(name)) throw new Error(`--store: "${name}" is not one of ${SOAK_STORES.join(", ")}`);
    return new SoakStore(name as SoakStoreName);
  }

  /** settings.js code configuring the store (its name in settings.js is NAME). */
  get settingsCode(): string {
    const module = this.name === "durable"
      ? `require(${JSON.stringify(path.join(__dirname, "..", "resume", "durable-store.js"))})`
      : JSON.stringify("localfilesystem");
    // localfilesystem: no flushInterval, so Node-RED's default applies.
    const config = { dir: this.dir };
    return `module.exports.contextStorage = { default: { module: "memory" }, ${this.name}: { module: ${module}, config: ${JSON.stringify(config)} } };`;
  }

  /** The config node's position as the store holds it on disk now (undefined: none yet). */
  savedPosition(configId = "cfg"): unknown {
    return storedPosition(this.name, this.dir, configId);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The position of config node `configId` as store `name`, kept in `dir`, holds it on disk now (undefined: none yet). */
export function storedPosition(name: SoakStoreName, dir: string, configId = "cfg"): unknown {
  // The durable store: a file per scope; localfilesystem: a config node's scope (no flow) is stored like a flow's.
  const file = name === "durable" ? path.join(dir, `${configId}.json`) : path.join(dir, "context", configId, "flow.json");
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>)[POSITION_KEY];
  } catch {
    return undefined;
  }
}
