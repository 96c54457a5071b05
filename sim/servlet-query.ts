/** Query-string decoding as the PBX's Java servlet container does it (getParameter()). */

/** Decodes one application/x-www-form-urlencoded component; undefined when malformed (Tomcat drops such params). */
export function decodeFormComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** Parses a query string the way a Java servlet's getParameter() sees it. */
export function parseServletQuery(raw: string): Record<string, string> {
  // A plain object (tests deep-compare it); "__proto__" is dropped rather than touching the prototype.
  const out: Record<string, string> = {};
  if (raw === "") return out;
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeFormComponent(eq < 0 ? "" : pair.slice(eq + 1));
    if (name === undefined || value === undefined || name === "" || name === "__proto__") continue;
    if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = value;
  }
  return out;
}
