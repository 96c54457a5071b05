/**
 * When a soak may stop and count: once every watched extension has been polled past the last change the PBX made.
 * One extension's answer says nothing of another's (a restarted Node-RED resumes cursor groups one after another), and
 * a current-state read says nothing of the polls after it (one resuming from a saved cursor reads first, then asks
 * for the changes since that cursor): only a poll answer whose seq reaches the last change covers an extension.
 */
import type { RecordedAnswer } from "../../sim/pbx-types";
import { sleep } from "./common";

/** The watched extensions no poll answer of `epoch` has covered up to `lastSeq` yet (empty: drained). */
export function undrained(answers: readonly RecordedAnswer[], epoch: number, lastSeq: number, watched: Iterable<string>): string[] {
  const covered = new Set<string>();
  for (const a of answers) {
    if (a.epoch !== epoch || a.snapshot || a.seq < lastSeq || a.seq < a.last) continue;
    for (const exten of a.exten.split(",")) covered.add(exten);
  }
  return [...new Set(watched)].filter((exten) => !covered.has(exten)).sort();
}

/** Waits (up to `timeoutMs`) until `undrained` is empty, reading the PBX's answers anew each time; says in `log` which extensions it gave up on. */
export async function drain(
  answers: () => readonly RecordedAnswer[], epoch: number, lastSeq: number, watched: readonly string[], log: (line: string) => void, timeoutMs = 40_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let waitingFor = undrained(answers(), epoch, lastSeq, watched);
  while (waitingFor.length > 0 && Date.now() < end) {
    await sleep(100);
    waitingFor = undrained(answers(), epoch, lastSeq, watched);
  }
  if (waitingFor.length > 0) log(`drain: ${waitingFor.join(",")} not polled past seq ${lastSeq} after ${timeoutMs / 1000} s`);
}
