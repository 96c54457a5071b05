/**
 * The package's own library without Node-RED, for the benchmark: NoojeeClient and PollLoop in a plain Node process,
 * sending each event as JSON over UDP like the floor does. Between the floor and Node-RED, it shows what the library
 * costs (axios, the loop, the state table) apart from what the Node-RED runtime and the sink nodes cost.
 *
 *   node lib-client.js <origin> <apiKey> <exten,exten,...> <sinkPort> <timeOutSec>
 */
import * as dgram from "node:dgram";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { PollLoop } from "../../nodes/lib/poll/poll-loop";

const [origin, apiKey, exten, sinkPort, timeOut] = process.argv.slice(2);
const udp = dgram.createSocket("udp4");
const port = Number(sinkPort);
let ready = false;
const client = new NoojeeClient({ origin, apiKey, verifyTls: true });
const loop = new PollLoop({
  api: client,
  timeoutSec: Number(timeOut),
  onEvents: (events) => {
    for (const e of events) udp.send(JSON.stringify({ ...e.data, extension: e.extension, seq: e.seq }), port, "127.0.0.1");
  },
  onStatus: (status) => {
    if (status.state === "listening" && !ready) {
      ready = true;
      process.stdout.write("ready\n");
    }
  },
});
loop.setExtensions(exten.split(","));
loop.start();
