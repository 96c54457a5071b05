/**
 * Fuzzing what a PBX (or a proxy in front of it) may answer to subscribe, with fast-check: the real client and poll
 * loop over real HTTP against a scripted server that serves one generated body per request. Bodies are valid answers
 * (with junk entries mixed in), truncated answers, answers cut off mid-transfer, HTML and error pages, arbitrary text
 * and JSON, and envelopes of the wrong shape.
 *
 * Properties, for every script:
 * - the loop keeps polling: one more request after each body, whatever it was;
 * - `lastSequenceNumber` is always the `seq` of the last answer the client accepted (0 until the first): a bad body
 *   never moves it; after a bad body the next poll asks with timeOut=0, after a read of the current state (a failure
 *   may hide a PBX restart), which the server answers itself from the script's calls in progress, unchanged;
 * - every valid entry of an accepted answer on a watched extension is emitted once, in order, and nothing else is.
 *
 * The oracle `accepts` restates the API notes and the client's rules (nodes/lib/client/answer-shape.ts): HTTP 2xx, a JSON
 * object, a Code >= 0 and a seq >= 0 that are safe integers or decimal integer strings, and Data missing, null, an
 * empty array or an object. Valid answers come with their numbers as numbers or as strings.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { CallEvent, PollLoop } from "../../nodes/lib/poll/poll-loop";

const KEY = "fuzz-key-0b1c2d3e";
const WATCHED = ["410", "400"];

interface Served {
  status: number;
  body: string;
  /** Announce the full length but send only `cutAt` bytes, then drop the connection. */
  cutAt?: number;
}

interface Step {
  served: Served;
  /** For an accepted answer: its seq and the valid entries on watched extensions, in order per extension. */
  seq?: number;
  valid: Array<{ extension: string; uniqueCallId: string; status: string; entry?: unknown }>;
}

/** Ends a leg for the client (call-state-table.ts): a current-state read no longer lists it. */
const ENDED = new Set(["Hungup", "Busy", "No Answer"]);

/** The integer a JSON value stands for, restated independently of the client: a safe integer or a decimal string. */
function integerOf(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\s*-?[0-9]+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

function accepts(status: number, body: string, cut: boolean): { seq: number } | undefined {
  if (cut || status < 200 || status > 299) return undefined;
  const text = body.trim();
  if (text === "" || text.startsWith("<")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { Code, seq, Data } = parsed as Record<string, unknown>;
  const code = integerOf(Code);
  const n = integerOf(seq);
  if (code === undefined || code < 0) return undefined;
  if (n === undefined || n < 0) return undefined;
  if (Array.isArray(Data) ? Data.length > 0 : Data !== undefined && Data !== null && typeof Data !== "object") return undefined;
  return { seq: n };
}

/** A server that answers the n-th request with script[n] and holds any request past the end. */
class ScriptedServer {
  script: Step[] = [];
  requests: Array<{ last: string | null; timeOut: string | null; exten: string | null }> = [];
  /** Reads of the current state after a failure, answered by the server itself: index in `requests` → served before it. */
  probes: number[] = [];
  private served = 0;
  /** The seq of the last accepted answer served, and the calls in progress it leaves (latest entry per leg). */
  private cursor: number | undefined;
  private readonly current = new Map<string, { extension: string; status: string; entry: unknown }>();
  private held: http.ServerResponse[] = [];
  private readonly server = http.createServer((req, res) => {
    req.resume();
    const query = new URL(req.url ?? "/", "http://x").searchParams;
    const request = { last: query.get("lastSequenceNumber"), timeOut: query.get("timeOut"), exten: query.get("exten") };
    this.requests.push(request);
    if (this.cursor !== undefined && request.last === "0") {
      this.probes.push(this.requests.length - 1);
      const data: Record<string, unknown[]> = {};
      for (const leg of this.current.values()) if (!ENDED.has(leg.status)) (data[leg.extension] ??= []).push(leg.entry);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ Code: 0, seq: this.cursor, Data: data }));
      return;
    }
    const step = this.script[this.served++];
    const served = step?.served;
    if (!served) {
      this.held.push(res);
      return;
    }
    const bytes = Buffer.from(served.body, "utf8");
    res.writeHead(served.status, { "Content-Type": "application/json", "Content-Length": bytes.length });
    if (served.cutAt === undefined) {
      res.end(bytes);
      if (step.seq !== undefined) {
        this.cursor = step.seq;
        for (const v of step.valid) this.current.set(v.uniqueCallId, { extension: v.extension, status: v.status, entry: v.entry });
      }
    } else {
      res.write(bytes.subarray(0, served.cutAt));
      setImmediate(() => res.socket?.destroy());
    }
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(script: Step[]): void {
    this.releaseHeld();
    this.script = script;
    this.requests = [];
    this.probes = [];
    this.served = 0;
    this.cursor = undefined;
    this.current.clear();
  }

  /** The requests the script answered (probes left out). */
  polls(): ScriptedServer["requests"] {
    return this.requests.filter((_, i) => !this.probes.includes(i));
  }

  releaseHeld(): void {
    for (const res of this.held.splice(0)) res.destroy();
  }

  async stop(): Promise<void> {
    this.releaseHeld();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ------------------------------------------------------------------ generators

const json = fc.jsonValue({ maxDepth: 3 });
const validCallData = fc.record({
  status: fc.oneof(fc.constantFrom("Ringing", "Dialing Out", "Connected", "Hungup", "Busy", "No Answer", "Unlinked"), fc.string()),
  extra: fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 3 }),
});
/** Entries the loop must skip: no CallData object, a non-string status, a bad uniqueCallId, or a negative Code. */
const junkEntry = fc.oneof(
  json.filter((v) => typeof v !== "object" || v === null || Array.isArray(v)),
  fc.record({ CallData: fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.array(json, { maxLength: 2 })) }),
  fc.record({ CallData: fc.record({ status: fc.oneof(fc.integer(), fc.constant(null), fc.boolean()), uniqueCallId: fc.string() }) }),
  fc.record({ CallData: fc.record({ status: fc.string(), uniqueCallId: fc.oneof(fc.constant(null), fc.boolean(), fc.array(fc.string())) }) }),
  fc.record({
    CallData: fc.record({ status: fc.string(), uniqueCallId: fc.string() }),
    // A negative Code as a string must reach the loop as a number, or the entry would be emitted.
    Code: fc.oneof(fc.integer({ min: -1000, max: -1 }), fc.integer({ min: -1000, max: -1 }).map(String)),
  }),
  fc.constant({}),
);
const validAnswer = fc.record({
  kind: fc.constant("valid" as const),
  delta: fc.oneof(fc.nat(3), fc.nat(100_000)),
  code: fc.constantFrom(0, 0, 0, 1, 7),
  entries: fc.array(fc.record({ extension: fc.constantFrom(...WATCHED, "SIP/410"), callData: validCallData }), { maxLength: 4 }),
  junk: fc.array(fc.record({ extension: fc.constantFrom(...WATCHED, "999"), entry: junkEntry }), { maxLength: 3 }),
  nonArray: fc.option(fc.record({ extension: fc.constantFrom(...WATCHED), value: json.filter((v) => !Array.isArray(v)) }), { nil: undefined }),
  unwatched: fc.array(validCallData, { maxLength: 2 }),
  emptyData: fc.constantFrom("object", "null", "missing", "array"),
  /** Numbers sent as strings, as a Java server might: none, the envelope's, or also the entries'. */
  strings: fc.constantFrom("none", "none", "envelope", "all"),
  status: fc.constantFrom(200, 200, 200, 202),
});
const truncated = fc.record({ kind: fc.constant("truncated" as const), answer: validAnswer, at: fc.double({ min: 0, max: 0.999, noNaN: true }) });
const cut = fc.record({ kind: fc.constant("cut" as const), answer: validAnswer, at: fc.double({ min: 0, max: 0.999, noNaN: true }) });
const page = fc.record({
  kind: fc.constant("raw" as const),
  status: fc.constantFrom(200, 301, 302, 401, 403, 404, 500, 502, 503),
  body: fc.oneof(
    fc.constantFrom("", " ", "\n", "<html><body>502 Bad Gateway</body></html>", "null", "[]", "{}", "0", "true", '"x"',
      '{"Message":"Invalid API Key","Code":-3}', '{"Message":"Expired TimeStamp","Code":-1}', "java.lang.NullPointerException"),
    fc.string(),
    fc.string({ unit: "binary" }),
    json.map((v) => JSON.stringify(v)),
  ),
});
/** Numbers as text, right and wrong: "10", " -3 ", "1e3", "+5", "1.5", "0x10", "9007199254740993". */
const numberText = fc.oneof(
  fc.integer({ min: -10, max: 10 }).map(String),
  fc.integer({ min: -10, max: 10 }).map((n) => ` ${n} `),
  fc.constantFrom("1e3", "+5", "1.5", "0x10", "", "-", "9007199254740993", "10 10"),
);
const wrongShape = fc.record({
  kind: fc.constant("raw" as const),
  status: fc.constant(200),
  body: fc
    .record(
      {
        Code: fc.oneof(fc.integer({ min: -5, max: 5 }), numberText, fc.string(), fc.constant(null), fc.double(), fc.boolean()),
        seq: fc.oneof(fc.integer({ min: -10, max: 10 }), numberText, fc.double(), fc.string(), fc.constant(null), fc.constant(2 ** 60), fc.constant({})),
        Data: fc.oneof(fc.constant(null), fc.constant([]), fc.array(json, { maxLength: 2 }), fc.string(), fc.integer(), fc.boolean()),
        Message: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v))
    .chain((text) => fc.constantFrom(text, text.replace('"seq":', '"seq": 1e400, "x":'))),
});
const stepArb = fc.oneof({ weight: 5, arbitrary: validAnswer }, truncated, cut, page, wrongShape);

type Generated = fc.Arbitrary<typeof stepArb extends fc.Arbitrary<infer T> ? T : never> extends fc.Arbitrary<infer U> ? U : never;

/** Turns generated steps into served bodies, with unique call ids and a PBX counter that only grows. */
function buildScript(generated: Generated[]): Step[] {
  let pbxSeq = 1 + Math.floor(generated.length / 2);
  const steps: Step[] = [];
  generated.forEach((g, index) => {
    if (g.kind === "raw") {
      const ok = accepts(g.status, g.body, false);
      // A raw body the oracle accepts would be a valid answer with an arbitrary seq; keep raw bodies bad.
      steps.push({ served: ok ? { status: 500, body: g.body } : { status: g.status, body: g.body }, valid: [] });
      return;
    }
    const a = g.kind === "valid" ? g : g.answer;
    pbxSeq += a.delta;
    const data: Record<string, unknown[]> = {};
    const valid: Step["valid"] = [];
    a.entries.forEach((e, i) => {
      const uniqueCallId = `${index}.${i}`;
      // fuzzId marks our valid entries (junk entries have fixed keys and cannot carry it).
      const callData = { ...e.callData.extra, status: e.callData.status, uniqueCallId, fuzzId: uniqueCallId };
      const entryNumber = (n: number) => (a.strings === "all" ? String(n) : n);
      const entry = { CallData: callData, CallID: entryNumber(i), Code: entryNumber(0) };
      (data[e.extension] ??= []).push(entry);
      valid.push({ extension: e.extension.replace("SIP/", ""), uniqueCallId, status: e.callData.status, entry });
    });
    for (const j of a.junk) (data[j.extension] ??= []).push(j.entry);
    a.unwatched.forEach((c, i) => (data["999"] ??= []).push({ CallData: { ...c.extra, status: c.status, uniqueCallId: `u${index}.${i}` } }));
    const envelope: Record<string, unknown> = {};
    if (a.nonArray && !data[a.nonArray.extension]) envelope.Data = { ...data, [a.nonArray.extension]: a.nonArray.value };
    else if (Object.keys(data).length > 0 || a.emptyData === "object") envelope.Data = data;
    else if (a.emptyData === "null") envelope.Data = null;
    else if (a.emptyData === "array") envelope.Data = [];
    envelope.seq = a.strings === "none" ? pbxSeq : String(pbxSeq);
    envelope.Code = a.strings === "none" ? a.code : String(a.code);
    const body = JSON.stringify(envelope);
    if (g.kind === "valid") {
      // In the order the loop reads them: JSON key order (integer-like keys first), then each key's array order.
      const ours = new Map(valid.map((v) => [v.uniqueCallId, v]));
      const ordered: Step["valid"] = [];
      for (const list of Object.values((JSON.parse(body) as { Data?: Record<string, unknown> }).Data ?? {})) {
        if (!Array.isArray(list)) continue;
        for (const entry of list as Array<{ CallData?: { fuzzId?: unknown } }>) {
          const mine = ours.get(String(entry?.CallData?.fuzzId));
          if (mine) ordered.push(mine);
        }
      }
      steps.push({ served: { status: a.status, body }, seq: pbxSeq, valid: ordered });
    } else if (g.kind === "truncated") {
      steps.push({ served: { status: 200, body: body.slice(0, Math.floor(g.at * body.length)) }, valid: [] });
    } else {
      steps.push({ served: { status: 200, body, cutAt: Math.floor(g.at * Buffer.byteLength(body)) }, valid: [] });
    }
  });
  return steps;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe("fuzz: subscribe answers over HTTP", function () {
  this.timeout(120_000);
  let server: ScriptedServer;

  before(async () => {
    server = new ScriptedServer();
    await server.start();
  });

  after(async () => {
    await server.stop();
  });

  it("the oracle agrees with the client on a few known bodies", () => {
    assert.deepEqual(accepts(200, '{"Code":0,"seq":5}', false), { seq: 5 });
    assert.equal(accepts(200, '{"Code":-1,"seq":5}', false), undefined);
    assert.equal(accepts(200, '{"Code":0,"seq":5.5}', false), undefined);
    assert.deepEqual(accepts(200, '{"Code":0,"seq":5,"Data":[]}', false), { seq: 5 });
    assert.deepEqual(accepts(200, '{"Code":"0","seq":"10"}', false), { seq: 10 });
    assert.equal(accepts(200, '{"Code":0,"seq":5,"Data":[1]}', false), undefined);
    assert.equal(accepts(200, '{"Code":0,"seq":"1e3"}', false), undefined);
    assert.equal(accepts(200, '{"Code":"-1","seq":5}', false), undefined);
    assert.equal(accepts(502, '{"Code":0,"seq":5}', false), undefined);
  });

  it("keeps polling, never moves seq on a bad body, and emits exactly the valid entries", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 14 }), async (generated) => {
        const steps = buildScript(generated);
        server.reset(steps);
        const events: CallEvent[] = [];
        const client = new NoojeeClient({ origin: server.url, apiKey: KEY, verifyTls: true });
        const loop = new PollLoop({
          api: client,
          timeoutSec: 30,
          onEvents: (batch) => events.push(...batch),
          onStatus: () => undefined,
          backoff: { initialMs: 1, maxMs: 1, jitter: 0 },
          authRetryMs: 1,
          idleGapMs: 0,
        });
        loop.setExtensions(WATCHED);
        loop.start();
        try {
          await until(() => server.polls().length === steps.length + 1, `request ${steps.length + 1} after the last body`);
          const polls = server.polls();
          // Replay the script against the rules.
          let cursor: number | undefined;
          let failedBefore = false;
          const expected: Step["valid"] = [];
          for (let i = 0; i <= steps.length; i++) {
            const request = polls[i];
            assert.equal(request.exten, WATCHED.join(","));
            assert.equal(request.last, String(cursor ?? 0), `request ${i}: lastSequenceNumber`);
            if (cursor !== undefined && failedBefore) {
              assert.equal(request.timeOut, "0", `request ${i} follows a failure`);
              const index = server.requests.indexOf(request);
              assert.ok(server.probes.includes(index - 1), `request ${i} follows a read of the current state`);
            }
            if (i === steps.length) break;
            const step = steps[i];
            if (step.seq !== undefined) {
              cursor = step.seq;
              failedBefore = false;
              expected.push(...step.valid);
            } else {
              failedBefore = true;
            }
          }
          const got = (extension: string) => events.filter((e) => e.extension === extension).map((e) => `${e.data.uniqueCallId}:${e.data.status}`);
          const want = (extension: string) => expected.filter((e) => e.extension === extension).map((e) => `${e.uniqueCallId}:${e.status}`);
          for (const extension of WATCHED) assert.deepEqual(got(extension), want(extension), `events on ${extension}`);
          assert.equal(events.length, expected.length, "nothing else emitted");
          assert.equal(loop.sequence, cursor ?? 0);
        } finally {
          await loop.stop();
          client.close();
        }
      }),
      { numRuns: 100, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
  });
});
