/**
 * The part of a soak's trace (lines "<ms> <what>", in time order) that explains a lost change, printed when a soak
 * fails so that a CI log alone can be read: from 4 s before the change to 2 s after, the client's requests and the
 * PBX's answers, restarts, kills, deploys and watch changes, and the calls and msgs of the change's extension only.
 */
const KINDS = /^(REQ|ANS|RESTART|KILL|UP|DEPLOY|WATCH) /;
const MAX_LINES = 200;

export function traceAround(lines: readonly string[], lost: { exten: string; at: number }): string {
  const ofExten = new RegExp(`^(EVT e\\d+ seq=\\d+|MSG \\S+) ${lost.exten} `);
  const picked = lines.filter((line) => {
    const space = line.indexOf(" ");
    const at = Number(line.slice(0, space));
    const what = line.slice(space + 1);
    return at >= lost.at - 4000 && at <= lost.at + 2000 && (KINDS.test(what) || ofExten.test(what));
  });
  const shown = picked.length > MAX_LINES ? [...picked.slice(0, MAX_LINES / 2), "…", ...picked.slice(-MAX_LINES / 2)] : picked;
  return [`trace around the first lost change (${lost.exten} at ${lost.at}; the whole run: --trace FILE):`, ...shown].join("\n");
}
