/**
 * The plain reference of the model-based presence test, and its checks. The reference is computed from the model
 * PBX's own state alone (which calls each extension has now, and each one's latest status), with the rules the node's
 * help text states: `Ringing` rings, `Dialing Out` dials, `Connected` and `Unlinked` are connected, `Hungup`, `Busy`
 * and `No Answer` have ended; any other status is connected when the call has connected (it then has a
 * `callStartTime`), else ringing inbound and dialing outbound; an extension is on a call > ringing > dialing > idle.
 * Nothing the code under test stored is looked at to decide what is right.
 *
 * Checked once the world has settled (every watched extension polled, nothing failing, nothing waiting), for each
 * node: each watched extension's state and calls (each call's latest CallData, its caller name), the last msg sent
 * for it, the answers to a query (by msg.extension, and for all: one msg each or one for all), and that a query for an
 * extension it does not watch is refused; for each context variable: exactly the extensions its live nodes watch,
 * each with the reference's state and calls (never "unknown" once read).
 */
import type { Leg } from "./model-pbx";
import { PHONEBOOK, type PresenceWorld } from "./presence-world";

type State = "idle" | "ringing" | "dialing" | "on a call";

const ENDED = new Set(["Hungup", "Busy", "No Answer"]);

export interface Expected {
  state: State;
  /** The calls in progress: each leg's latest state. */
  legs: Leg[];
}

function roleOf(leg: Leg): "connected" | "ringing" | "dialing" | undefined {
  const data = leg.history[leg.history.length - 1];
  if (ENDED.has(data.status)) return undefined;
  if (data.status === "Ringing") return "ringing";
  if (data.status === "Dialing Out") return "dialing";
  if (data.status === "Connected" || data.status === "Unlinked") return "connected";
  if (leg.history.some((d) => d.status === "Connected") || data.callStartTime) return "connected";
  return data.inbound ? "ringing" : "dialing";
}

/** What the PBX says of `extension` now. */
export function expected(world: PresenceWorld, extension: string): Expected {
  const legs = world.pbx.activeLegs(extension).filter((leg) => roleOf(leg) !== undefined);
  const roles = new Set(legs.map(roleOf));
  const state: State = roles.has("connected") ? "on a call" : roles.has("ringing") ? "ringing" : roles.has("dialing") ? "dialing" : "idle";
  return { state, legs };
}

/** What is wrong with one payload (a msg's, a query answer's, the variable's) for `extension`, if anything. */
function wrongPayload(payload: unknown, want: Expected, extension: string): string | undefined {
  if (typeof payload !== "object" || payload === null) return `no payload (${JSON.stringify(payload)})`;
  const p = payload as Record<string, unknown>;
  if (p.extension !== extension) return `extension ${String(p.extension)}`;
  if (p.state !== want.state) return `state ${String(p.state)}${p.unknown ? " (unknown)" : ""}, the PBX's calls make it ${want.state}`;
  if (p.unknown !== undefined) return "still flagged unknown";
  const calls = Array.isArray(p.calls) ? (p.calls as Array<Record<string, unknown>>) : [];
  if (p.count !== want.legs.length || calls.length !== want.legs.length) {
    return `${String(p.count)} call(s) [${calls.map((c) => `${String(c.uniqueCallId)} ${String(c.status)}`).join(", ")}], the PBX has ${want.legs.length}`;
  }
  for (const leg of want.legs) {
    const call = calls.find((c) => c.uniqueCallId === leg.id);
    if (!call) return `call ${leg.id} missing`;
    const latest = leg.history[leg.history.length - 1];
    for (const [key, value] of Object.entries(latest)) {
      if (call[key] !== value) return `call ${leg.id}: ${key} ${JSON.stringify(call[key])}, the PBX has ${JSON.stringify(value)}`;
    }
    const name = latest.callerId === undefined ? undefined : PHONEBOOK[latest.callerId];
    if (call.callerName !== name) return `call ${leg.id}: callerName ${JSON.stringify(call.callerName)}, not ${JSON.stringify(name)}`;
  }
  return undefined;
}

export function checkPresence(world: PresenceWorld, pool: readonly string[]): void {
  world.stats.checks += 1;
  const wants = new Map<string, Expected>();
  const want = (extension: string): Expected => {
    let found = wants.get(extension);
    if (!found) wants.set(extension, (found = expected(world, extension)));
    return found;
  };
  for (const node of world.nodes.values()) {
    const { id, queryAll } = node.layout;
    const extensions = [...node.watch.extensions];
    const all = node.watch.answer({ topic: "q" });
    if (!all) world.violation(`${id}: a query without msg.extension was refused`);
    else if (queryAll) {
      const payload = (all[0]?.payload ?? {}) as Record<string, unknown>;
      if (all.length !== 1) world.violation(`${id}: ${all.length} msgs for a query answered in one msg`);
      const keys = Object.keys(payload).sort();
      if (keys.join() !== [...extensions].sort().join()) world.violation(`${id}: the query's answer holds [${keys}], it watches [${extensions}]`);
    } else if (all.length !== extensions.length) world.violation(`${id}: ${all.length} msgs for a query, it watches [${extensions}]`);
    for (const extension of extensions) {
      const ref = want(extension);
      const own = node.watch.table.get(extension);
      const state = own === undefined ? "nothing" : own.unknown ? "unknown" : own.state;
      if (state !== ref.state) world.violation(`${id}: ${extension} is ${state}, the PBX's calls make it ${ref.state}`);
      const asked = node.watch.answer({ topic: "q", extension } as never);
      const byExtension = asked?.length === 1 ? wrongPayload(asked[0].payload, ref, extension) : `${asked?.length ?? "no"} msgs`;
      if (byExtension) world.violation(`${id}: query for ${extension}: ${byExtension}`);
      const inAll = queryAll ? (all?.[0]?.payload as Record<string, unknown> | undefined)?.[extension]
        : all?.find((msg) => msg.topic === extension)?.payload;
      const allWrong = wrongPayload(inAll, ref, extension);
      if (allWrong) world.violation(`${id}: query for all, ${extension}: ${allWrong}`);
      const sent = node.lastSent.get(extension);
      if (sent?.state !== ref.state) world.violation(`${id}: its last msg for ${extension} says ${sent ? String(sent.state) : "nothing"}, the PBX's calls make it ${ref.state}`);
    }
    const other = pool.find((extension) => !extensions.includes(extension));
    if (other !== undefined && node.watch.answer({ topic: "q", extension: other } as never) !== undefined) {
      world.violation(`${id}: a query for ${other}, which it does not watch, was answered`);
    }
  }
  checkVariables(world, want);
}

function checkVariables(world: PresenceWorld, want: (extension: string) => Expected): void {
  const keys = new Set<string>();
  for (const node of world.nodes.values()) if (node.layout.variable !== undefined) keys.add(node.layout.variable);
  for (const key of world.everUsedVariables) keys.add(key);
  for (const key of keys) {
    const writers = [...world.nodes.values()].filter((n) => n.layout.variable === key);
    const watched = new Set(writers.flatMap((n) => [...n.watch.extensions]));
    const value = world.variable(key);
    const held = value && typeof value === "object" ? (value as Record<string, unknown>) : {};
    if (value !== undefined && (typeof value !== "object" || value === null)) world.violation(`global ${key} is ${JSON.stringify(value)}`);
    for (const extension of Object.keys(held)) {
      if (!watched.has(extension)) {
        world.violation(`global ${key}["${extension}"] is left there (${String((held[extension] as { state?: unknown })?.state)}), no node writing there watches it`);
      }
    }
    for (const extension of watched) {
      const wrong = wrongPayload(held[extension], want(extension), extension);
      if (wrong) world.violation(`global ${key}["${extension}"]: ${wrong}`);
    }
  }
}
