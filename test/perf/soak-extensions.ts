/**
 * The soak's msg-driven extension changes: the flow's http-in path that hands a msg with `action` and `extensions`
 * to one subscribe node, the random changes the driver sends through it (removes, adds, replaces, emptying a node and
 * adding some back), and the model of what each subscribe node watches, which the accounting follows.
 *
 * The model must be exact, so the soak keeps it so: a msg change applies to the node it names; a deploy leaves every
 * subscribe node with its configured list (a node whose definition would be unchanged while its list differs from its
 * configured one gets a new name, so that every deploy type restarts it); a Node-RED restart brings back the last
 * deployed lists (the nodes do not keep msg changes across redeploys). Changes keep the nodes' lists disjoint: each
 * extension is watched by at most one node at a time, so each change has at most one node to reach.
 */
import type { FlowNode } from "../harness/node-red-process";

export const EXT_PATH = "/soak/ext";

/** The union of watched extensions changed for `exten` at `at` (Date.now()). */
export interface WatchTransition {
  at: number;
  exten: string;
  watched: boolean;
  cause: "msg" | "deploy" | "restart";
  /** For a msg change: the node it changed, and whether that node had been empty. */
  node?: string;
  refill?: boolean;
}

/**
 * From `at` on (Date.now()), `node` watches `extensions`; for a msg change, `done` is when the flow answered it, by
 * which time the node had certainly taken it (the change applies somewhere in between).
 */
export interface NodeWatch {
  at: number;
  done?: number;
  node: string;
  extensions: string[];
}

export interface ExtChange {
  node: string;
  action: "add" | "remove" | "replace";
  /** What the msg carries: a text, an array or a single number, as a flow might send it. */
  extensions: string | Array<string | number> | number;
  /** The node's list after the change. */
  after: string[];
  /** This change empties the node / adds to a node that was empty. */
  empties: boolean;
  refills: boolean;
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

export class WatchModel {
  readonly transitions: WatchTransition[] = [];
  readonly history: NodeWatch[] = [];
  private current = new Map<string, string[]>();
  private deployed = new Map<string, { extensions: string; name: string }>();
  private deploys = 0;

  constructor(private readonly all: readonly string[]) {}

  lists(): Map<string, string[]> {
    return new Map([...this.current].map(([id, list]) => [id, [...list]]));
  }

  unwatched(): string[] {
    const watched = new Set([...this.current.values()].flat());
    return this.all.filter((x) => !watched.has(x));
  }

  /** Names for the subscribe nodes of the next deploy: "" unless a node would otherwise keep a msg-changed list. */
  namesFor(parts: string[][]): string[] {
    this.deploys += 1;
    return parts.map((exts, i) => {
      const id = `sub-${i}`;
      const before = this.deployed.get(id);
      const unchanged = before !== undefined && before.extensions === exts.join(",") && before.name === "";
      const differs = !same(this.current.get(id) ?? [], exts);
      return unchanged && differs ? `forced restart ${this.deploys}` : "";
    });
  }

  /** A deploy of `parts` (with `names`) sent at `at`; `done` once it answered. */
  deployStarted(parts: string[][], names: string[], at: number): void {
    this.deployed = new Map(parts.map((exts, i) => [`sub-${i}`, { extensions: exts.join(","), name: names[i] }]));
    // While it runs, the old nodes may still send and the new ones already do: each node watches both lists.
    const merged = new Map(this.current);
    parts.forEach((exts, i) => merged.set(`sub-${i}`, [...new Set([...(merged.get(`sub-${i}`) ?? []), ...exts])]));
    this.replace(merged, at, "deploy");
  }

  deployDone(at: number): void {
    this.replace(this.configured(), at, "deploy");
  }

  /** Node-RED started again (after a kill) at `at`: the last deployed lists. */
  restarted(at: number): void {
    this.replace(this.configured(), at, "restart");
  }

  /** A msg change sent at `at`. */
  apply(change: ExtChange, at: number): void {
    const next = new Map(this.current);
    next.set(change.node, [...change.after]);
    this.replace(next, at, "msg", change);
  }

  /** The flow answered the msg change applied last at `at`: the node has taken it. */
  applied(done: number): void {
    const last = this.history.at(-1);
    if (last) for (const h of this.history) if (h.at === last.at && h.done === undefined) h.done = done;
  }

  /** A random change for one of the nodes, or undefined when none makes sense now. */
  pick(random: () => number): ExtChange | undefined {
    const ids = [...this.current.keys()];
    if (ids.length === 0) return undefined;
    const pool = this.unwatched();
    const some = (from: readonly string[], max: number): string[] => {
      const copy = [...from];
      const out: string[] = [];
      const n = Math.min(copy.length, 1 + Math.floor(random() * max));
      while (out.length < n) out.push(copy.splice(Math.floor(random() * copy.length), 1)[0]);
      return out;
    };
    const empty = ids.filter((id) => (this.current.get(id) ?? []).length === 0);
    const node = empty.length > 0 && random() < 0.7 ? empty[0] : ids[Math.floor(random() * ids.length)];
    const list = this.current.get(node) ?? [];
    const r = random();
    let action: ExtChange["action"];
    let items: string[];
    let after: string[];
    // With extensions free: 40 % add, 15 % empty the node, 25 % remove some, 20 % replace; else remove only.
    if (list.length === 0 || (pool.length > 0 && r < 0.4)) {
      if (pool.length === 0) return undefined;
      action = "add";
      items = some(pool, 3);
      after = [...list, ...items];
    } else if (r < 0.55) {
      action = "remove"; // all of them: the node is left with nothing to watch
      items = [...list];
      after = [];
    } else if (r < 0.8 || pool.length === 0) {
      action = "remove";
      items = some(list, Math.min(2, list.length));
      after = list.filter((x) => !items.includes(x));
    } else {
      action = "replace";
      items = some([...list, ...pool], 4);
      after = items;
    }
    // The forms a flow may send: "400, 410", ["400", 410], 410.
    const form = random();
    const extensions =
      items.length === 1 && form < 0.3 ? Number(items[0]) : form < 0.6 ? items.join(", ") : items.map((x, i) => (i % 2 ? Number(x) : x));
    return { node, action, extensions, after, empties: list.length > 0 && after.length === 0, refills: list.length === 0 && after.length > 0 };
  }

  private configured(): Map<string, string[]> {
    return new Map([...this.deployed].map(([id, d]) => [id, d.extensions === "" ? [] : d.extensions.split(",")]));
  }

  private replace(next: Map<string, string[]>, at: number, cause: WatchTransition["cause"], change?: ExtChange): void {
    const before = new Set([...this.current.values()].flat());
    for (const id of new Set([...this.current.keys(), ...next.keys()])) {
      const a = this.current.get(id) ?? [];
      const b = next.get(id) ?? [];
      if (!same(a, b) || !this.history.some((h) => h.node === id)) this.history.push({ at, node: id, extensions: [...b] });
    }
    this.current = new Map([...next].filter(([, list]) => list !== undefined));
    const after = new Set([...this.current.values()].flat());
    for (const exten of this.all) {
      if (before.has(exten) === after.has(exten)) continue;
      this.transitions.push({ at, exten, watched: after.has(exten), cause, ...(change && { node: change.node, refill: change.refills }) });
    }
  }
}

/** http in (POST EXT_PATH, JSON {node: index, action, extensions}) -> a function that hands the msg to that node. */
export function extensionInputNodes(z: string, nodes: number): FlowNode[] {
  const func =
    `const p = msg.payload; const out = new Array(${nodes + 1}).fill(null);\n` +
    "out[p.node] = { action: p.action, extensions: p.extensions };\n" +
    `msg.payload = "ok"; out[${nodes}] = msg; return out;`;
  return [
    { id: "soak-ext-in", type: "http in", z, name: "", url: EXT_PATH, method: "post", upload: false, swaggerDoc: "", x: 100, y: 400, wires: [["soak-ext-fn"]] },
    {
      id: "soak-ext-fn", type: "function", z, name: "to a subscribe node", outputs: nodes + 1, noerr: 0, initialize: "", finalize: "",
      libs: [], func, x: 300, y: 400, wires: [...Array.from({ length: nodes }, (_, i) => [`sub-${i}`]), ["soak-ext-res"]],
    },
    { id: "soak-ext-res", type: "http response", z, name: "", statusCode: "", headers: {}, x: 500, y: 400, wires: [] },
  ];
}
