/**
 * deployAndWait (test/perf/common.ts), which the soak deploys with: Node-RED answers POST /flows before it starts the new
 * flows, so a request sent right after the answer may meet no node at all (a 404 from a removed http-in, or a msg
 * dropped on its way to a node not yet made). Once deployAndWait resolves, the new flow answers, for every deploy type.
 * The soak's msg-driven extension changes went to nodes that did not exist yet this way (issue 23, item 11).
 */
import assert from "node:assert/strict";
import type { FlowNode, NodeRedProcess } from "../harness/node-red-process";
import { startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { deployAndWait, deployMarkerNodes } from "./common";

/** A GET /probe path answered by a function node that changes with every deploy, beside the marker. */
function flow(n: number): FlowNode[] {
  return [
    { id: "t", type: "tab", label: "deploys", disabled: false, info: "" },
    { id: "in", type: "http in", z: "t", name: "", url: "/probe", method: "get", upload: false, swaggerDoc: "", x: 100, y: 100, wires: [["fn"]] },
    {
      id: "fn", type: "function", z: "t", name: "", outputs: 1, noerr: 0, initialize: "", finalize: "", libs: [],
      func: `msg.payload = "deploy ${n}";\nreturn msg;`, x: 300, y: 100, wires: [["out"]],
    },
    { id: "out", type: "http response", z: "t", name: "", statusCode: "", headers: {}, x: 500, y: 100, wires: [] },
    ...deployMarkerNodes("t", n),
  ];
}

describe("deployAndWait: a deploy is done once its flows run", function () {
  this.timeout(180_000);
  let nr: NodeRedProcess;

  before(async () => {
    nr = await startNodeRed();
  });
  after(() => stopAllNodeRed());

  it("a request sent as soon as it resolves reaches the new flow, after full, modified-flows and modified-nodes deploys", async function () {
    const answers: string[] = [];
    for (let n = 1; n <= 18; n++) {
      const type = (["full", "flows", "nodes"] as const)[n % 3];
      await deployAndWait(nr, flow(n), n, {}, type);
      const res = await nr.request("GET", "/probe", { timeoutMs: 2000 }).catch((err: Error) => ({ status: 0, text: err.name }));
      answers.push(`${type} ${res.status} ${res.status === 200 ? res.text : ""}`);
    }
    const wrong = answers.filter((a, i) => !a.endsWith(`200 deploy ${i + 1}`));
    assert.deepEqual(wrong, [], `answers after the deploys: ${answers.join("; ")}`);
  });
});
