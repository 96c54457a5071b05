/**
 * The one extension syntax of every node, at run time and in the editor. This module has no imports on purpose: the
 * build (scripts/copy-assets.js) wraps its compiled form as resources/noojee-extensions.js, which the edit dialogs
 * load, so that the dialogs' validation is this very code.
 *
 * An item is an extension number (1 to 15 digits), optionally after a technology (`SIP/400`), or a range of them
 * (`400-410`, `SIP/400-410`). Nodes that watch extensions (subscribe, presence) take a list of items and watch by
 * number, so `SIP/400` there means extension 400. Nodes that act on one extension (answer, dial, hangup, record) take
 * one item without a range and keep its technology, which the PBX uses.
 */

/** A bare extension number, as the API's subscribe wants it. */
export const BARE_EXTENSION = /^\d{1,15}$/;
/** One extension with an optional technology prefix (`101`, `SIP/101`), as answer, dial, hangup and record take it. */
export const DIALABLE_EXTENSION = /^(?:[A-Za-z][A-Za-z0-9]*\/)?\d{1,15}$/;
/** One item of a list: an extension or a range, each optionally after a technology. */
const LIST_ITEM = /^(?:[A-Za-z][A-Za-z0-9]*\/)?(\d{1,15})(?:\s*-\s*(\d{1,15}))?$/;
/** The most extensions one range may name (the simulator's own bound on its --extensions). */
export const MAX_RANGE = 1000;
/** The most extensions one list may hold once its ranges are expanded: far above any PBX, below a typo's millions. */
export const MAX_EXTENSIONS = 10000;

/** What is wrong with a list: a message key (in each list node's catalogue, under `validation.`) and its values. */
export interface ExtensionsProblem {
  key: "noExtension" | "emptyItem" | "badItem" | "backwardsRange" | "rangeTooLarge" | "tooMany";
  item?: string;
  max?: number;
}

const ENGLISH: Record<ExtensionsProblem["key"], string> = {
  noExtension: "no extension given",
  emptyItem: "empty item in the list",
  badItem: '"__item__" is not an extension number (1 to 15 digits, e.g. 400, SIP/400 or 400-410)',
  backwardsRange: "the range __item__ ends before it starts",
  rangeTooLarge: "the range __item__ names more than __max__ extensions",
  tooMany: "more than __max__ extensions",
};

/** The problem in English, for logs and tests; the nodes show their catalogue's text for `problem.key`. */
export function describeProblem(problem: ExtensionsProblem): string {
  const values = problemValues(problem);
  return ENGLISH[problem.key].replace(/__(\w+)__/g, (_m, name: string) => String(values[name]));
}

/** The values of a problem's message (`__item__`, `__max__`). */
export function problemValues(problem: ExtensionsProblem): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  if (problem.item !== undefined) values.item = problem.item;
  if (problem.max !== undefined) values.max = problem.max;
  return values;
}

export class InvalidExtensionsError extends Error {
  readonly reason: string;
  constructor(readonly problem: ExtensionsProblem) {
    super(describeProblem(problem));
    this.reason = this.message;
    this.name = "InvalidExtensionsError";
  }
}

/** The first problem in a list as typed, or null; `extensions` gets the numbers it names (no duplicates, in order). */
export function checkExtensionList(given: unknown, extensions: string[] = []): ExtensionsProblem | null {
  // A flow written by hand may give one extension as a JSON number (`"extensions": 400`).
  const input = typeof given === "number" && Number.isInteger(given) && given >= 0 ? String(given) : given;
  if (typeof input !== "string" || input.trim() === "") return { key: "noExtension" };
  const seen = new Set<string>(extensions);
  const add = (e: string): boolean => {
    if (!seen.has(e)) {
      seen.add(e);
      extensions.push(e);
    }
    return extensions.length <= MAX_EXTENSIONS;
  };
  for (const item of input.split(",").map((s) => s.trim())) {
    if (item === "") return { key: "emptyItem" };
    const m = LIST_ITEM.exec(item);
    if (!m) return { key: "badItem", item };
    if (m[2] === undefined) {
      if (!add(m[1])) return { key: "tooMany", max: MAX_EXTENSIONS };
      continue;
    }
    const first = Number(m[1]);
    const last = Number(m[2]);
    if (last < first) return { key: "backwardsRange", item };
    if (last - first + 1 > MAX_RANGE) return { key: "rangeTooLarge", item, max: MAX_RANGE };
    // Keep the width of the first number, so 0400-0402 stays 0400, 0401, 0402.
    for (let n = first; n <= last; n++) {
      if (!add(String(n).padStart(m[1].length, "0"))) return { key: "tooMany", max: MAX_EXTENSIONS };
    }
  }
  return null;
}

/**
 * Parses `"400, 410,400, SIP/420, 430-432"` into `["400", "410", "420", "430", "431", "432"]`: whitespace tolerated,
 * duplicates removed, order kept. Throws InvalidExtensionsError naming the first problem.
 */
export function parseExtensionList(input: unknown): string[] {
  const extensions: string[] = [];
  const problem = checkExtensionList(input, extensions);
  if (problem) throw new InvalidExtensionsError(problem);
  return extensions;
}

/** A list from a msg: `"400, 410-412"`, `["400", 410, "SIP/420"]` or a single number. */
export function parseExtensionInput(input: unknown): string[] {
  if (typeof input === "number" && Number.isInteger(input) && input >= 0) return parseExtensionList(String(input));
  if (Array.isArray(input)) {
    if (input.length === 0) throw new InvalidExtensionsError({ key: "noExtension" });
    const items = input.map((item) => {
      if (typeof item === "number" && Number.isInteger(item) && item >= 0) return String(item);
      if (typeof item === "string" && !item.includes(",")) return item;
      throw new InvalidExtensionsError({ key: "badItem", item: JSON.stringify(item) ?? String(item) });
    });
    return parseExtensionList(items.join(","));
  }
  return parseExtensionList(input);
}

/** Whether `text` (trimmed) is one extension the call methods take: `101` or `SIP/101`, not a range or a list. */
export function isDialableExtension(text: unknown): boolean {
  return typeof text === "string" && DIALABLE_EXTENSION.test(text.trim());
}

/** What msg.action / msg.extensions ask of a node's list, or the problem with them (a catalogue key and its values). */
export type ExtensionChange =
  | { ok: true; extensions: string[] }
  | { ok: false; problem: "badAction"; value: string }
  | { ok: false; problem: "invalidExtensions"; reason: string; detail: ExtensionsProblem };

/** msg.action `add`, `remove` or `replace` with msg.extensions, applied to `current` (subscribe and presence). */
export function changeExtensions(current: readonly string[], action: unknown, input: unknown): ExtensionChange {
  if (action !== "add" && action !== "remove" && action !== "replace") return { ok: false, problem: "badAction", value: String(action) };
  let list: string[];
  try {
    list = parseExtensionInput(input);
  } catch (err) {
    const problem = (err as InvalidExtensionsError).problem;
    return { ok: false, problem: "invalidExtensions", reason: describeProblem(problem), detail: problem };
  }
  if (action === "replace") return { ok: true, extensions: list };
  if (action === "add") {
    const merged = [...current, ...list.filter((e) => !current.includes(e))];
    if (merged.length > MAX_EXTENSIONS) {
      const problem: ExtensionsProblem = { key: "tooMany", max: MAX_EXTENSIONS };
      return { ok: false, problem: "invalidExtensions", reason: describeProblem(problem), detail: problem };
    }
    return { ok: true, extensions: merged };
  }
  return { ok: true, extensions: current.filter((e) => !list.includes(e)) };
}
