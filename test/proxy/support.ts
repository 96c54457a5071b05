/** Flows and checks shared by the proxy tests. */
import { API_KEY, catcher, catchNode, credentials, helper, nodes, Sent, Statuses, type Caught, type FlowNode } from "../nodes/support";

/** A subscribe node "sub" on 410 (wired to "out"), its config node, and a Catch node for it (wired to "caught"). */
export async function loadSubscribe(
  pbxUrl: string,
  options: { verifyTls?: boolean; timeout?: number; apiKey?: string } = {},
): Promise<{ sent: Sent; statuses: Statuses; caught: Caught }> {
  const flow: FlowNode[] = [
    { id: "f1", type: "tab", label: "proxy" },
    { id: "cfg", type: "noojee-config", name: "pbx", host: pbxUrl, verifyTls: options.verifyTls ?? true },
    { id: "sub", z: "f1", type: "noojee-subscribe", server: "cfg", extensions: "410", timeout: options.timeout ?? 30, wires: [["out"]] },
    { id: "out", z: "f1", type: "helper" },
    { id: "catcher", z: "f1", type: "catch", scope: ["sub"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
  await helper.load([...nodes, catchNode], flow, credentials(options.apiKey ?? API_KEY));
  const sub = helper.getNode("sub");
  return { sent: new Sent(sub), statuses: new Statuses(sub), caught: catcher(helper.getNode("caught")) };
}

/** Fails when any form of `secret` appears in `text`. */
export function assertAbsent(text: string, secret: string, what: string): void {
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    if (text.includes(form)) throw new Error(`${what} leaked: …${text.slice(Math.max(0, text.indexOf(form) - 120), text.indexOf(form) + 40)}…`);
  }
}
