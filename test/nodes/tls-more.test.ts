/**
 * Failures that mean the Host (or the proxy) is written wrong, or a PBX's TLS that Node.js cannot speak, each against
 * a real server on loopback: what Test connection, the statuses and the errors say, never OpenSSL's text nor the key.
 */
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import tls from "node:tls";
import fs from "node:fs";
import { FakePbx } from "../fake-pbx";
import { proxyEnv } from "../proxy/proxy-env";
import { makeTestCerts, TestCerts } from "../tls-certs";
import { httpsProxy, listen } from "./https-proxy";
import { helper } from "./support";
import { checkAllSurfaces, SECRET } from "./tls-surfaces";

type Closable = Pick<net.Server, "close">;

describe("wrong addresses and TLS that cannot be spoken say what to do", function () {
  let certs: TestCerts;
  let servers: Closable[] = [];
  let pbx: FakePbx | undefined;
  const env = proxyEnv();

  before(() => (certs = makeTestCerts()));
  after(() => fs.rmSync(certs.dir, { recursive: true, force: true }));
  afterEach(async () => {
    env.restore();
    await helper.unload();
    await pbx?.stop();
    pbx = undefined;
    for (const server of servers) server.close();
    servers = [];
  });

  it("http:// to an HTTPS port that resets the connection: the PBX may speak HTTPS", async () => {
    const server = https.createServer(certs.selfSigned, (_req, res) => res.end("{}"));
    server.on("tlsClientError", () => undefined);
    servers.push(server);
    const address = await listen(server);
    await checkAllSurfaces(`http://${address}`, {
      reason: new RegExp(`^connection reset: the PBX may speak HTTPS on this port: write https://${address.replace(/\./g, "\\.")} as the Host`),
      short: "reset: try https://",
    });
  });

  it("http:// to an nginx HTTPS port (400 'The plain HTTP request was sent to HTTPS port'): write https://", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(400, { "Content-Type": "text/html" });
      res.end("<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head><body>nginx</body></html>");
    });
    servers.push(server);
    const address = await listen(server);
    await checkAllSurfaces(`http://${address}`, {
      reason: new RegExp(`^HTTP 400: the PBX speaks HTTPS on this port: write https://${address.replace(/\./g, "\\.")} as the Host`),
      short: "HTTPS port: use https://",
    });
  });

  it("a redirect says where it points and what to write, without the Location's credentials or query", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(301, { Location: `https://user:pw@pbx.example.invalid:8443/servicemanager/rest/x?apiKey=${encodeURIComponent(SECRET)}&t=1` });
      res.end();
    });
    servers.push(server);
    const address = await listen(server);
    await checkAllSurfaces(`http://${address}`, {
      reason: /^HTTP 301: the PBX redirects to https:\/\/pbx\.example\.invalid:8443\/servicemanager\/rest\/x: write https:\/\/pbx\.example\.invalid:8443 as the Host$/,
      short: "HTTP 301: redirected",
    });
  });

  it("a PBX offering only TLS 1.0/1.1: an old TLS version, enable 1.2", async () => {
    const server = tls.createServer({ ...certs.selfSigned, minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }, (s) => s.end());
    server.on("tlsClientError", () => undefined);
    servers.push(server);
    await checkAllSurfaces(`https://${await listen(server)}`, {
      reason: /^the PBX offers only an old TLS version \(TLS 1\.0 or 1\.1\), which Node\.js refuses: enable TLS 1\.2 or later on the PBX/,
      short: "old TLS version",
    }, false);
  });

  it("a PBX that requires a client certificate: the handshake refused, and why it may be", async () => {
    const server = tls.createServer({ ...certs.selfSigned, requestCert: true, rejectUnauthorized: true, ca: [certs.selfSigned.cert], maxVersion: "TLSv1.2" }, (s) => s.end());
    server.on("tlsClientError", () => undefined);
    servers.push(server);
    await checkAllSurfaces(`https://${await listen(server)}`, {
      // OpenSSL names the alert "sslv3 alert …" in Node 20 and "ssl/tls alert …" in Node 22 and 24.
      reason: /^the PBX refused the TLS handshake \((sslv3|ssl\/tls) alert handshake failure\): it may require a client certificate/,
      short: "TLS handshake refused",
    }, false);
  });

  it("an https:// proxy with an untrusted certificate: the proxy's certificate, named as the proxy's", async () => {
    const proxy = httpsProxy(certs.selfSigned);
    servers.push(proxy);
    const proxyAddress = await listen(proxy);
    pbx = new FakePbx({ apiKey: SECRET });
    await pbx.start();
    env.set({ https_proxy: `https://${proxyAddress}` });
    await checkAllSurfaces(pbx.url.replace(/^http:/, "https:"), {
      reason: new RegExp(`^the proxy's certificate is self-signed, so not trusted \\(DEPTH_ZERO_SELF_SIGNED_CERT\\): have Node-RED trust its CA \\(NODE_EXTRA_CA_CERTS=ca\\.pem in Node-RED's environment\\) \\(https://${proxyAddress.replace(/\./g, "\\.")}\\)$`),
      short: "proxy's certificate",
    });
  });
});
