/**
 * The flows every replica runs in the replica end-to-end test and the takeover benchmark: a config node with replicas
 * on, a subscribe node whose msgs go to the UDP sink tagged with the replica, every node status to the sink too, a
 * presence node answering queries over HTTP (GET PRESENCE_PATH?ext=400), and the deploy marker (common.ts); with
 * `actions`, the answer, dial, hangup and record nodes driven over HTTP (action-flows.ts).
 */
import type { FlowNode } from "./node-red-process";
import { actionNodes } from "./action-flows";
import { configNode, deployMarkerNodes, subscribeNode } from "../perf/common";
import { replicaSinkNode, statusSinkNodes } from "./replica-set";

export const PRESENCE_PATH = "/replica/presence";
const TAB = "replica-tab";

export interface ReplicaFlowOptions {
  pbxUrl: string;
  extensions: readonly string[];
  udpPort: number;
  /** The deploy's number, which the marker path answers once the flows run. */
  deploy: number;
  keyPrefix?: string;
  /** The subscribe node's Long poll, seconds. Default 2. */
  timeoutSec?: number;
  /** Also the call-control nodes (action-flows.ts). Default false. */
  actions?: boolean;
}

/** The config node of those flows, with replicas on (credentials: replicaCredentials). */
export function replicaConfigNode(id: string, pbxUrl: string, keyPrefix = "noojee"): FlowNode {
  return { ...configNode(id, pbxUrl), replicas: true, redisKeyPrefix: keyPrefix };
}

export function replicaCredentials(apiKey: string, redisUrl: string): Record<string, Record<string, string>> {
  return { cfg: { apiKey, redisUrl } };
}

export function replicaFlows(o: ReplicaFlowOptions): FlowNode[] {
  const extensions = o.extensions.join(",");
  return [
    { id: TAB, type: "tab", label: "replicas", disabled: false, info: "" },
    replicaConfigNode("cfg", o.pbxUrl, o.keyPrefix),
    subscribeNode("sub-1", TAB, "cfg", o.extensions, o.timeoutSec ?? 2, ["sink-1"]),
    replicaSinkNode("sink-1", TAB, o.udpPort, "sub-1"),
    ...statusSinkNodes(TAB, o.udpPort),
    { id: "pres-in", type: "http in", z: TAB, name: "", url: PRESENCE_PATH, method: "get", upload: false, swaggerDoc: "", x: 100, y: 400, wires: [["pres-ask"]] },
    {
      id: "pres-ask", type: "function", z: TAB, name: "ask", outputs: 1, noerr: 0, initialize: "", finalize: "", libs: [],
      func: "msg.extension = msg.req.query.ext;\nreturn msg;", x: 250, y: 400, wires: [["pres-1"]],
    },
    {
      id: "pres-1", type: "noojee-presence", z: TAB, name: "", server: "cfg", extensions, queryOutput: "each", contextScope: "",
      contextKey: "noojee.presence", contextStore: "", persistChanges: false, x: 400, y: 400, wires: [["pres-answers"]],
    },
    {
      // Only query answers carry the HTTP response; the presence node's change msgs do not.
      id: "pres-answers", type: "function", z: TAB, name: "answers only", outputs: 1, noerr: 0, initialize: "", finalize: "", libs: [],
      func: "return msg.res ? msg : null;", x: 550, y: 400, wires: [["pres-out"]],
    },
    { id: "pres-out", type: "http response", z: TAB, name: "", statusCode: "", headers: {}, x: 700, y: 400, wires: [] },
    ...(o.actions ? actionNodes(TAB, "cfg", o.udpPort) : []),
    ...deployMarkerNodes(TAB, o.deploy),
  ];
}
