/**
 * What a user sees of a failure to reach the PBX, all at once: Test connection's answer, the red statuses of a
 * subscribe and a dial node, their errors (the log and Catch), none with OpenSSL's text or the key.
 */
import assert from "node:assert/strict";
import type { Node, NodeStatus } from "node-red";
import type sinon from "sinon";
import { translatedNodes } from "./catalogue";
import { catcher, catchNode, caughtMessage, FlowNode, helper, isRed, Statuses } from "./support";

export const SECRET = "tls+s3cret/key=42";

/** What a user sees, for each kind of failure: the whole reason, and the status-sized one. */
export interface Expected {
  reason: RegExp;
  short: string;
}

function flow(host: string, verifyTls: boolean): FlowNode[] {
  return [
    { id: "f1", type: "tab", label: "tls" },
    { id: "cfg", type: "noojee-config", name: "pbx", host, verifyTls },
    { id: "sub", z: "f1", type: "noojee-subscribe", server: "cfg", extensions: "410", timeout: 30, wires: [[]] },
    { id: "dial", z: "f1", type: "noojee-dial", server: "cfg", extension: "410", tech: "SIP", number: "", autoAnswer: "", wires: [[]] },
    { id: "catcher", z: "f1", type: "catch", scope: ["dial"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

function errorsOf(node: Node): string[] {
  const spy = (helper as unknown as { _NodePrototype: Record<string, sinon.SinonSpy> })._NodePrototype.error;
  return spy.getCalls().filter((c) => c.thisValue === node).map((c) => String(c.args[0]));
}

/** Loads the flow against `host` and checks Test connection, both statuses and both errors against `expected`. */
export async function checkAllSurfaces(host: string, expected: Expected, verifyTls = true): Promise<void> {
  await helper.load([...translatedNodes, catchNode], flow(host, verifyTls), { cfg: { apiKey: SECRET } });
  const seen: string[] = [];

  const tested = await helper.request().post("/noojee-config/test").send({ host, verifyTls, apiKey: SECRET }).expect(200);
  const answer = tested.body as { ok: boolean; status: string; reason?: string };
  seen.push(JSON.stringify(answer));
  assert.equal(answer.status, "unreachable");
  assert.match(String(answer.reason), expected.reason, "Test connection says what it means and what to do");

  const sub = helper.getNode("sub");
  const red = (await new Statuses(sub).waitFor(isRed)) as NodeStatus;
  seen.push(String(red.text));
  assert.match(String(red.text), new RegExp(`^${expected.short.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}, retry in \\d+s$`));
  await new Promise<void>((resolve) => (errorsOf(sub).length > 0 ? resolve() : sub.once("call:error" as never, () => resolve())));
  const [subError] = errorsOf(sub);
  seen.push(subError);
  assert.match(subError, /^Noojee subscribe failed: /);
  assert.match(subError.replace(/^Noojee subscribe failed: /, ""), expected.reason);

  const dial = helper.getNode("dial");
  const caught = catcher(helper.getNode("caught"));
  const next = caught.next();
  dial.receive({ payload: "0299990000" });
  const dialError = caughtMessage(await next);
  seen.push(dialError);
  assert.match(dialError, /^(Error: )?Dial request failed: /);
  assert.match(dialError.replace(/^(Error: )?Dial request failed: /, ""), expected.reason);
  const dialStatus = new Statuses(dial).last as NodeStatus;
  seen.push(String(dialStatus.text));
  assert.deepEqual(dialStatus, { fill: "red", shape: "ring", text: `failed: ${expected.short}` });

  const all = seen.join("\n");
  assert.doesNotMatch(all, /SSL routines|EPROTO|wrong version number/, "no OpenSSL text");
  for (const form of [SECRET, encodeURIComponent(SECRET)]) assert.ok(!all.includes(form), "the key never shows");
}

