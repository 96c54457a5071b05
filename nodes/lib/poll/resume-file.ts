/**
 * The resume file of one config node: where its polls stood and the last state sent for each call leg, so that a
 * restarted Node-RED carries on from the PBX's `seq` (getting the calls that changed while it was down) instead of
 * reading the current state. Knows nothing of Node-RED. What is saved, and when it may be used, is position-format.ts;
 * the throttle is position-writer.ts.
 *
 * Written atomically and durably: a temp file beside it, fsync, rename (then the folder is fsynced, best effort).
 * Hand-written rather than write-file-atomic: its current release needs Node 22.22 or later.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkSavedText, type LoadResult } from "./position-format";
import { PositionWriter, type PositionWriterOptions, reasonOf } from "./position-writer";

export { MAX_CLOCK_AHEAD_MS, parseContent, type LoadResult } from "./position-format";

export interface ResumeFileOptions extends PositionWriterOptions {
  file: string;
}

export class ResumeFile extends PositionWriter {
  constructor(protected override readonly options: ResumeFileOptions) {
    super(options);
  }

  get path(): string {
    return this.options.file;
  }

  get where(): string {
    return `the resume file ${this.options.file}`;
  }

  /** Reads the saved position; only one of the same host saved less than `maxAgeMs` ago is returned. */
  load(maxAgeMs: number): LoadResult {
    let text: string;
    try {
      text = fs.readFileSync(this.options.file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return checkSavedText(undefined, this.options, maxAgeMs, this.now());
      return { position: undefined, reason: "unreadable", detail: reasonOf(err) };
    }
    return checkSavedText(text, this.options, maxAgeMs, this.now());
  }

  protected async persist(text: string): Promise<void> {
    const file = this.options.file;
    const dir = path.dirname(file);
    const temp = `${file}.tmp`;
    await fs.promises.mkdir(dir, { recursive: true });
    const handle = await fs.promises.open(temp, "w", 0o600);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, file);
    // The rename itself survives a power cut only once the folder is synced; not every file system allows it.
    try {
      const folder = await fs.promises.open(dir, "r");
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    } catch {
      // best effort
    }
  }

  protected erase(): Promise<void> {
    return deleteResumeFile(this.options.file, this.options.onWarning);
  }
}

/** The config node's "resume within" bound, in minutes: 1 to a week; anything else (or nothing) is 60. */
export const RESUME_MAX_AGE_MINUTES = { default: 60, min: 1, max: 7 * 24 * 60 } as const;

export function resumeMaxAgeMs(minutes: unknown): number {
  const value = typeof minutes === "string" && minutes.trim() !== "" ? Number(minutes) : minutes;
  const ok = typeof value === "number" && Number.isInteger(value) &&
    value >= RESUME_MAX_AGE_MINUTES.min && value <= RESUME_MAX_AGE_MINUTES.max;
  return (ok ? value : RESUME_MAX_AGE_MINUTES.default) * 60_000;
}

/** Deletes a resume file and its temp file, if there; a failure is a warning. */
export async function deleteResumeFile(file: string, onWarning: (message: string) => void): Promise<void> {
  for (const name of [file, `${file}.tmp`]) {
    try {
      await fs.promises.rm(name, { force: true });
    } catch (err) {
      onWarning(`could not delete ${name}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}

/** The resume file of a config node in a Node-RED user directory. */
export function resumeFilePath(userDir: string, nodeId: string): string {
  return path.join(userDir, "noojee-resume", `${nodeId.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);
}
