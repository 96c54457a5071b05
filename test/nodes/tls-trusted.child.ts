/**
 * Run by tls-errors.test.ts in a child process started with NODE_EXTRA_CA_CERTS naming the CA it made (not by the
 * suite itself: its name does not end in .test.js). With that CA trusted, the one failure left is a certificate for
 * another name.
 */
import { FakePbx } from "../fake-pbx";
import { serverTls } from "../tls-certs";
import { checkAllSurfaces, SECRET } from "./tls-surfaces";
import { translatedNodes } from "./catalogue";
import { helper } from "./support";
import assert from "node:assert/strict";
import { proxyEnv } from "../proxy/proxy-env";
import { httpsProxy, listen } from "./https-proxy";

const dir = process.env.NOOJEE_TEST_CERTS ?? "";

describe("with the test CA trusted through NODE_EXTRA_CA_CERTS", function () {
  let pbx: FakePbx | undefined;

  afterEach(async () => {
    await helper.unload();
    await pbx?.stop();
  });

  it("connects to a PBX with a certificate from that CA", async () => {
    pbx = new FakePbx({ apiKey: "k", tls: serverTls(dir, "leaf") });
    await pbx.start();
    await helper.load(translatedNodes, []);
    const tested = await helper.request().post("/noojee-config/test").send({ host: pbx.url, verifyTls: true, apiKey: "k" });
    assert.deepEqual(tested.body, { ok: true, status: "connected" });
  });

  it("says a certificate for another name is for which, and what to write in Host", async () => {
    pbx = new FakePbx({ apiKey: SECRET, tls: serverTls(dir, "other") });
    await pbx.start();
    await checkAllSurfaces(pbx.url, {
      reason: /^the PBX's certificate is not for 127\.0\.0\.1 but for DNS:pbx\.example\.invalid \(ERR_TLS_CERT_ALTNAME_INVALID\): write in Host a name the certificate lists/,
      short: "name not in certificate",
    });
  });

  describe("behind an https:// proxy this CA trusts: failures of the tunnelled PBX session are the PBX's", function () {
    const env = proxyEnv();
    let proxyAddress = "";
    const proxy = httpsProxy(serverTls(dir, "leaf"));

    before(async () => {
      proxyAddress = await listen(proxy);
      env.set({ https_proxy: `https://${proxyAddress}` });
    });
    after(() => {
      env.restore();
      proxy.close();
    });

    it("a PBX with a certificate for another name: the PBX's, via the proxy", async () => {
      pbx = new FakePbx({ apiKey: SECRET, tls: serverTls(dir, "other") });
      await pbx.start();
      await checkAllSurfaces(pbx.url, {
        reason: new RegExp(`^the PBX's certificate is not for 127\\.0\\.0\\.1 but for DNS:pbx\\.example\\.invalid \\(ERR_TLS_CERT_ALTNAME_INVALID\\): write in Host a name the certificate lists \\(via proxy https://${proxyAddress.replace(/\./g, "\\.")}\\)$`),
        short: "name not in certificate",
      });
    });

    it("no scheme, to a plain-HTTP PBX: the PBX answered plain HTTP, via the proxy", async () => {
      pbx = new FakePbx({ apiKey: SECRET });
      await pbx.start();
      const host = pbx.url.replace(/^http:\/\//, "");
      await checkAllSurfaces(host, {
        reason: new RegExp(`^the PBX answered plain HTTP, not HTTPS: write http://${host.replace(/\./g, "\\.")} as the Host.* \\(via proxy https://`),
        short: "plain HTTP: use http://",
      });
    });
  });
});
