/**
 * A fingerprint of a phonebook held in a context variable, to tell a real change from none. Knows nothing of
 * Node-RED.
 *
 * Identity says nothing either way: a change node setting `global.phonebook["0355501234"]` edits the stored object
 * in place (same object, new content), and a context store without a cache gives a new object at every read (new
 * object, same content). So the content is hashed, every key and every value down to a few levels, with two 32-bit
 * hashes (FNV-1a and a multiplicative one): a few milliseconds of work per 100,000 entries, done in slices, against
 * the seconds re-indexing costs. Nesting deeper than MAX_DEPTH is not looked at (a contact's fields are flat; it
 * also stops a cyclic value).
 */

const MAX_DEPTH = 6;
const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Keys or elements hashed between two looks at the clock. */
const STEP = 512;

class Hash {
  a = 0x811c9dc5 | 0;
  b = 0x2545f491 | 0;

  code(c: number): void {
    this.a = Math.imul(this.a ^ c, 16777619);
    this.b = Math.imul(this.b + c, 0x5bd1e995) ^ (this.b >>> 15);
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.code(s.charCodeAt(i));
    this.code(0x10000 + s.length);
  }

  value(v: unknown, depth: number): void {
    if (typeof v === "string") {
      this.code(0x20001);
      this.text(v);
    } else if (v === null || typeof v !== "object") {
      this.code(0x20002);
      this.text(String(v));
    } else if (depth >= MAX_DEPTH) {
      this.code(0x20003);
    } else if (Array.isArray(v)) {
      this.code(0x20004 + v.length);
      for (const item of v) this.value(item, depth + 1);
    } else if (v instanceof Date) {
      this.code(0x20005);
      this.text(String(v.getTime()));
    } else {
      this.code(0x20006);
      for (const key of Object.keys(v)) {
        this.text(key);
        this.value((v as Record<string, unknown>)[key], depth + 1);
      }
    }
  }

  toString(): string {
    return `${(this.a >>> 0).toString(16)}${(this.b >>> 0).toString(16).padStart(8, "0")}`;
  }
}

/** A fingerprint, and the key list of an object it hashed (to index the same keys without listing them again). */
export interface Fingerprinted {
  print: string;
  keys?: readonly string[];
}

/**
 * The fingerprint of `value`; `due` (phonebook.ts's slicer) gives the event loop a turn when a slice of work is over.
 * An object's key list is taken in one step (Object.keys: no API lists keys piecemeal; 10 to 20 ms for 100,000
 * keys), once per check: it is handed back for the re-index.
 */
export async function fingerprint(value: unknown, due: () => Promise<void> | undefined): Promise<Fingerprinted> {
  const hash = new Hash();
  if (Array.isArray(value)) {
    hash.code(0x30001);
    for (let i = 0; i < value.length; i++) {
      hash.value(value[i], 1);
      if (i % STEP === STEP - 1) await due();
    }
    hash.code(0x10000 + value.length);
  } else if (value !== null && typeof value === "object") {
    hash.code(0x30002);
    const record = value as Record<string, unknown>;
    // Listing the keys is the longest step that cannot be cut (15 to 17 ms for 100,000 keys on this project's
    // machine): a turn of the event loop before and after it, so nothing else adds to that pause.
    await yieldNow();
    const keys = Object.keys(record);
    await yieldNow();
    for (let i = 0; i < keys.length; i++) {
      hash.text(keys[i]);
      hash.value(record[keys[i]], 1);
      if (i % STEP === STEP - 1) await due();
    }
    hash.code(0x10000 + keys.length);
    return { print: hash.toString(), keys };
  } else {
    hash.value(value, 0);
  }
  return { print: hash.toString() };
}

/** The fingerprint of a value that is no array or object (an unset variable), at once. */
export function fingerprintNow(value: undefined | string | number | boolean | null): string {
  const hash = new Hash();
  hash.value(value, 0);
  return hash.toString();
}
