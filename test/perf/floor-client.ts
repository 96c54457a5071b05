/**
 * The floor of the benchmark: the least a long-poll client can do, in plain Node with no Node-RED. It polls subscribe
 * with the seq of the previous answer, sends every entry as JSON over UDP to the sink, and polls again. No
 * de-duplication, no restart detection, no backoff beyond a 1 s pause after an error.
 *
 *   node floor-client.js <origin> <apiKey> <exten,exten,...> <sinkPort> <timeOutSec>
 *
 * Prints "ready" once its first answer (the current state) is in.
 */
import * as dgram from "node:dgram";
import * as http from "node:http";

const [origin, apiKey, exten, sinkPort, timeOut] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });
const udp = dgram.createSocket("udp4");
const port = Number(sinkPort);
let seq = 0;
let ready = false;

function post(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { "Content-Type": "application/x-www-form-urlencoded" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function loop(): Promise<void> {
  for (;;) {
    const url = `${origin}/servicemanager/rest/CallManagementAPI/subscribe?exten=${encodeURIComponent(exten)}` +
      `&lastSequenceNumber=${seq}&timeOut=${seq === 0 ? 0 : timeOut}&apiKey=${encodeURIComponent(apiKey)}`;
    try {
      const body = JSON.parse(await post(url)) as { Code: number; seq: number; Data?: Record<string, Array<{ CallData: object }>> | null };
      if (body.Code < 0 || typeof body.seq !== "number") throw new Error(`Code ${body.Code}`);
      for (const [extension, entries] of Object.entries(body.Data ?? {})) {
        for (const entry of entries) udp.send(JSON.stringify({ ...entry.CallData, extension, seq: body.seq }), port, "127.0.0.1");
      }
      seq = body.seq;
      if (!ready) {
        ready = true;
        process.stdout.write("ready\n");
      }
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

void loop();
