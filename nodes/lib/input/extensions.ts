/** Parsing and validation of extension numbers and lists, shared by the nodes and the editor's rules. */

/** A bare extension number, as `subscribe` wants it. */
export const BARE_EXTENSION = /^\d{1,15}$/;
/** An extension with an optional technology prefix (`101`, `SIP/101`), as `answer` accepts it. */
export const DIALABLE_EXTENSION = /^(?:[A-Za-z][A-Za-z0-9]*\/)?\d{1,15}$/;

export class InvalidExtensionsError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "InvalidExtensionsError";
  }
}

/**
 * Parses `"400, 410,400"` into `["400", "410"]`: whitespace tolerated, duplicates removed, order kept.
 * Throws InvalidExtensionsError naming the first bad item.
 */
export function parseExtensionList(input: unknown): string[] {
  if (typeof input !== "string" || input.trim() === "") {
    throw new InvalidExtensionsError("no extension given");
  }
  const result: string[] = [];
  for (const item of input.split(",").map((s) => s.trim())) {
    if (item === "") throw new InvalidExtensionsError("empty item in the list");
    if (!BARE_EXTENSION.test(item)) throw new InvalidExtensionsError(`"${item}" is not an extension number`);
    if (!result.includes(item)) result.push(item);
  }
  return result;
}

/** A list from a msg: `"400, 410"`, `["400", 410]` or a single number. */
export function parseExtensionInput(input: unknown): string[] {
  if (typeof input === "number" && Number.isInteger(input) && input >= 0) return parseExtensionList(String(input));
  if (Array.isArray(input)) {
    if (input.length === 0) throw new InvalidExtensionsError("no extension given");
    const items = input.map((item) => {
      if (typeof item === "number" && Number.isInteger(item) && item >= 0) return String(item);
      if (typeof item === "string" && !item.includes(",")) return item;
      throw new InvalidExtensionsError(`${JSON.stringify(item) ?? String(item)} is not an extension number`);
    });
    return parseExtensionList(items.join(","));
  }
  return parseExtensionList(input);
}

/** What msg.action / msg.extensions ask of a node's list, or the problem with them (a catalogue key and its values). */
export type ExtensionChange =
  | { ok: true; extensions: string[] }
  | { ok: false; problem: "badAction"; value: string }
  | { ok: false; problem: "invalidExtensions"; reason: string };

/** msg.action `add`, `remove` or `replace` with msg.extensions, applied to `current` (subscribe and presence). */
export function changeExtensions(current: readonly string[], action: unknown, input: unknown): ExtensionChange {
  if (action !== "add" && action !== "remove" && action !== "replace") return { ok: false, problem: "badAction", value: String(action) };
  let list: string[];
  try {
    list = parseExtensionInput(input);
  } catch (err) {
    return { ok: false, problem: "invalidExtensions", reason: (err as Error).message };
  }
  if (action === "replace") return { ok: true, extensions: list };
  if (action === "add") return { ok: true, extensions: [...current, ...list.filter((e) => !current.includes(e))] };
  return { ok: true, extensions: current.filter((e) => !list.includes(e)) };
}
