/** How the PBX writes call values: its timestamps, extensions with a technology prefix, and the statuses that end a leg. */

/** "yyyy/MM/dd HH:mm:ss" in local time, the PBX's callStartTime format. */
export function pbxTimestamp(d: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** Removes a technology prefix: "SIP/410" -> "410", "PJSIP/410" -> "410", "410" -> "410". */
export function stripTech(exten: string): string {
  const slash = exten.indexOf("/");
  return slash < 0 ? exten : exten.slice(slash + 1);
}

/** Statuses after which a leg is no longer part of the current state. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["Hungup", "Busy", "No Answer"]);
