/**
 * The call-control nodes of the replica flows (answer, dial, hangup, record), driven over HTTP so that a test picks the
 * replica a msg enters: `POST ACT_PATH/<action>` with a JSON body, whose fields become the msg (e.g.
 * `{ "topic": "t1", "uniqueCallId": "rep.7", "extension": "400" }`). The endpoint answers 202 at once; what the node
 * then does leaves over UDP tagged with the replica: its output msg (`node: "act-<action>"`, the topic and the
 * PBX's envelope), its statuses (the tab's status sink) and its errors (`kind: "error"`, from a Catch node).
 */
import type { FlowNode } from "./node-red-process";
import { replicaSinkNode } from "./replica-set";

export const ACT_PATH = "/replica/act";
export const ACTIONS = ["answer", "dial", "hangup", "record"] as const;
export type Action = (typeof ACTIONS)[number];

/** The id of the node that does `action` (also the `node` tag of its output datagrams and the `source` of its statuses). */
export const actNodeId = (action: Action): string => `act-${action}`;

/** Each node with its defaults: answer/hangup/record by the msg's uniqueCallId, record starts, dial from msg.extension. */
function actionNode(action: Action, z: string, server: string, y: number): FlowNode {
  const own: Record<Action, Record<string, unknown>> = {
    answer: { extension: "", answerString: "" },
    dial: { number: "", extension: "", tech: "SIP", autoAnswer: "", callerId: "", phoneCaption: "", tag: "", monitored: true, record: false },
    hangup: { by: "call", extension: "" },
    record: { action: "start", by: "call", extension: "", tag: "", agentLoginName: "" },
  };
  return { id: actNodeId(action), type: `noojee-${action}`, z, name: "", server, ...own[action], x: 450, y, wires: [[`${actNodeId(action)}-sink`]] };
}

export function actionNodes(z: string, server: string, udpPort: number): FlowNode[] {
  const ids = ACTIONS.map(actNodeId);
  // The body's fields as a msg of their own (no req/res): the node sees only what the test sent.
  const route =
    `const i = ${JSON.stringify(ACTIONS)}.indexOf(msg.req.params.action);\n` +
    "const out = [null, null, null, null, msg];\n" +
    "if (i < 0) { msg.statusCode = 404; msg.payload = 'no such action'; return out; }\n" +
    "out[i] = Object.assign({}, msg.payload);\n" +
    "msg.statusCode = 202; msg.payload = 'sent';\n" +
    "return out;";
  const error =
    "{ kind: 'error', replica: global.get('replicaName'), pid: global.get('udpPid'), sent: Date.now(), source: msg.error.source && msg.error.source.id, topic: msg.topic, message: msg.error.message }";
  return [
    { id: "act-in", type: "http in", z, name: "", url: `${ACT_PATH}/:action`, method: "post", upload: false, swaggerDoc: "", x: 100, y: 500, wires: [["act-route"]] },
    {
      id: "act-route", type: "function", z, name: "route", outputs: 5, noerr: 0, initialize: "", finalize: "", libs: [],
      func: route, x: 250, y: 500, wires: [...ids.map((id) => [id]), ["act-response"]],
    },
    { id: "act-response", type: "http response", z, name: "", statusCode: "", headers: {}, x: 450, y: 460, wires: [] },
    ...ACTIONS.map((action, i) => actionNode(action, z, server, 500 + 40 * i)),
    ...ACTIONS.map((action, i) => ({ ...replicaSinkNode(`${actNodeId(action)}-sink`, z, udpPort, actNodeId(action)), x: 650, y: 500 + 40 * i })),
    { id: "act-catch", type: "catch", z, name: "", scope: ids, uncaught: false, x: 100, y: 660, wires: [["act-error"]] },
    {
      id: "act-error", type: "function", z, name: "error sink", outputs: 0, noerr: 0, initialize: "", finalize: "", libs: [],
      func: `global.get('udpSend')(JSON.stringify(${error}), ${udpPort});\nreturn null;`, x: 300, y: 660, wires: [],
    },
  ];
}
