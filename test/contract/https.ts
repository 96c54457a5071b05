/** Contract: serving HTTPS with the self-signed test certificate. */
import assert from "node:assert/strict";
import * as https from "node:https";
import { X509Certificate } from "node:crypto";
import { loadTestTls } from "../fake-pbx";
import { call, subscribe, statuses } from "./pbx-client";
import type { ContractContext } from "./contract-context";

export function describeHttpsContract(ctx: ContractContext): void {
  const { startPbx } = ctx;

  describe("https", function () {
    it("serves HTTPS with the self-signed fixture certificate for 127.0.0.1", async function () {
      const tls = loadTestTls();
      const cert = new X509Certificate(tls.cert);
      assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
      assert.ok(new Date(cert.validTo).getFullYear() > 2100);

      const pbx = await startPbx({ tls });
      assert.equal(pbx.url, `https://127.0.0.1:${pbx.port}`);
      const httpsAgent = new https.Agent({ ca: tls.cert });
      try {
        pbx.startCall("410");
        const { json } = await subscribe(pbx, "410", 0, 0, { httpsAgent });
        assert.deepEqual(statuses(json, "410"), ["Ringing"]);
        // Held poll over TLS, then an abort.
        const ac = new AbortController();
        const p = subscribe(pbx, "410", json.seq, 30, { httpsAgent, signal: ac.signal });
        await pbx.waitForPolls(1);
        ac.abort();
        await assert.rejects(p);
        await pbx.waitForPolls(0);
        // Without the CA the client must refuse the certificate.
        await assert.rejects(call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { httpsAgent: new https.Agent() }));
      } finally {
        httpsAgent.destroy();
      }
    });
  });
}
