/**
 * The TLS failures a user meets, each against a real server on loopback: what Test connection, the status and the
 * error for Catch say (what it means, what fixes it), never OpenSSL's text nor the key. The certificates are made at
 * test time; a wrong host name needs a trusted CA, which only NODE_EXTRA_CA_CERTS gives at start: tls-trusted.child.ts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { FakePbx } from "../fake-pbx";
import { makeTestCerts, ServerTls, TestCerts } from "../tls-certs";
import { helper } from "./support";
import { checkAllSurfaces, SECRET } from "./tls-surfaces";

const UNTRUSTED = "have Node-RED trust its CA \\(NODE_EXTRA_CA_CERTS=ca\\.pem in Node-RED's environment\\), or untick Verify TLS certificate";

describe("TLS failures say what they mean and what to do", function () {
  let certs: TestCerts;
  let pbx: FakePbx | undefined;

  before(() => {
    certs = makeTestCerts();
  });

  after(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

  afterEach(async () => {
    await helper.unload();
    await pbx?.stop();
    pbx = undefined;
  });

  async function start(tls?: ServerTls): Promise<string> {
    pbx = new FakePbx({ apiKey: SECRET, tls });
    await pbx.start();
    return pbx.url;
  }

  it("host without a scheme (so https) on a plain-HTTP PBX: write http://", async () => {
    const url = await start();
    const host = url.replace(/^http:\/\//, "");
    await checkAllSurfaces(host, {
      reason: new RegExp(`^the PBX answered plain HTTP, not HTTPS: write http://${host.replace(/\./g, "\\.")} as the Host`),
      short: "plain HTTP: use http://",
    });
  });

  it("a self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)", async () => {
    await checkAllSurfaces(await start(certs.selfSigned), {
      reason: new RegExp(`^the PBX's certificate is self-signed, so not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\): ${UNTRUSTED}`),
      short: "self-signed certificate",
    });
  });

  it("a certificate from a private CA, sent with its root (SELF_SIGNED_CERT_IN_CHAIN)", async () => {
    await checkAllSurfaces(await start(certs.fromCaWithRoot), {
      reason: new RegExp(`^the PBX's certificate comes from a CA this machine does not trust \\(SELF_SIGNED_CERT_IN_CHAIN\\): ${UNTRUSTED}`),
      short: "untrusted certificate",
    });
  });

  it("a certificate from an unknown CA, sent alone (UNABLE_TO_VERIFY_LEAF_SIGNATURE)", async () => {
    await checkAllSurfaces(await start(certs.fromCa), {
      reason: /^the PBX's certificate cannot be traced to a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): if it is from a public CA, install its intermediate certificates on the PBX; otherwise have Node-RED trust its CA/,
      short: "untrusted certificate",
    });
  });

  it("an expired certificate (CERT_HAS_EXPIRED)", async () => {
    await checkAllSurfaces(await start(certs.expired), {
      reason: /^the PBX's certificate has expired \(CERT_HAS_EXPIRED\): renew it on the PBX, and check this machine's date/,
      short: "certificate expired",
    });
  });

  it("a certificate for another name (ERR_TLS_CERT_ALTNAME_INVALID), and NODE_EXTRA_CA_CERTS trusting a private CA", async function () {
    this.timeout(60_000);
    // Node.js reads NODE_EXTRA_CA_CERTS only at start: a child process, with the CA this test made.
    const child = path.join(__dirname, "tls-trusted.child.js");
    const mocha = require.resolve("mocha/bin/mocha.js");
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const run = execFile(process.execPath, [mocha, "--no-config", "--timeout", "20000", child],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.caFile, NOOJEE_TEST_CERTS: certs.dir } },
        (_err, stdout, stderr) => resolve({ code: run.exitCode, output: `${stdout}${stderr}` }));
    });
    assert.equal(code, 0, output);
    assert.match(output, /4 passing/, output);
  });
});
