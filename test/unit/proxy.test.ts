/**
 * Which proxy the PBX is reached through: the environment variables with the meaning Node-RED's http request node
 * gives them (the proxy-from-env rules), our few additions (scheme-less values are http proxies, unusable values
 * fail rather than bypass), and what may be shown of a proxy.
 */
import assert from "node:assert/strict";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { proxyFor, ProxyRefusedError } from "../../nodes/lib/client/proxy";
import { proxyEnv } from "../proxy/proxy-env";

const env = proxyEnv();

/** The proxy URL chosen for `origin` under `vars`, or "direct" / "invalid: reason". */
function choice(origin: string, vars: Record<string, string>): string {
  env.set(vars);
  const c = proxyFor(origin);
  return c.kind === "proxy" ? c.url.href : c.kind === "invalid" ? `invalid: ${c.reason}` : "direct";
}

const P = "http://proxy.lan:3128/";

describe("proxy choice from the environment", () => {
  after(() => env.restore());

  it("connects directly when no variable is set", () => {
    assert.equal(choice("https://pbx.example.com", {}), "direct");
  });

  it("takes the variable of the PBX's scheme, then all_proxy", () => {
    assert.equal(choice("http://pbx.example.com", { http_proxy: P }), P);
    assert.equal(choice("https://pbx.example.com", { http_proxy: P }), "direct", "http_proxy is not for https");
    assert.equal(choice("https://pbx.example.com", { https_proxy: "http://tls.lan:8080" }), "http://tls.lan:8080/");
    assert.equal(choice("https://pbx.example.com", { all_proxy: P }), P);
    assert.equal(choice("https://pbx.example.com", { all_proxy: P, https_proxy: "http://first.lan:1" }), "http://first.lan:1/");
  });

  it("reads either case, lower case first (Node-RED's default precedence)", () => {
    assert.equal(choice("https://pbx.example.com", { HTTPS_PROXY: P }), P);
    assert.equal(choice("https://pbx.example.com", { https_proxy: "http://lower.lan:1", HTTPS_PROXY: "http://upper.lan:2" }), "http://lower.lan:1/");
    assert.equal(choice("https://pbx.example.com", { https_proxy: P, NO_PROXY: "pbx.example.com" }), "direct");
    assert.equal(choice("https://pbx.example.com", { https_proxy: P, no_proxy: "other.example.com", NO_PROXY: "pbx.example.com" }), P,
      "no_proxy wins over NO_PROXY");
  });

  describe("no_proxy", () => {
    const via = (origin: string, noProxy: string): string => choice(origin, { http_proxy: P, https_proxy: P, no_proxy: noProxy });

    it("matches a host name exactly, in any letter case", () => {
      assert.equal(via("https://pbx.example.com", "pbx.example.com"), "direct");
      assert.equal(via("https://pbx.example.com", "PBX.Example.COM"), "direct");
      assert.equal(via("https://pbx.example.com", "example.com"), P, "a bare name is not a suffix (as in Node-RED)");
      assert.equal(via("https://xpbx.example.com", "pbx.example.com"), P);
    });

    it("matches domain suffixes written .suffix or *.suffix", () => {
      assert.equal(via("https://pbx.example.com", ".example.com"), "direct");
      assert.equal(via("https://a.b.example.com:8443", "*.example.com"), "direct");
      assert.equal(via("https://pbx.example.com", ".ample.com"), P, "a suffix matches whole labels only");
    });

    it("matches host:port only on that port (the scheme's default when none is given)", () => {
      assert.equal(via("https://pbx.example.com:8443", "pbx.example.com:8443"), "direct");
      assert.equal(via("https://pbx.example.com", "pbx.example.com:8443"), P);
      assert.equal(via("https://pbx.example.com", "pbx.example.com:443"), "direct");
      assert.equal(via("http://pbx.example.com", "pbx.example.com:80"), "direct");
    });

    it("matches IP addresses, and a list separated by commas or spaces", () => {
      assert.equal(via("http://10.1.2.3:8080", "10.1.2.3"), "direct");
      assert.equal(via("http://10.1.2.30:8080", "10.1.2.3"), P);
      assert.equal(via("http://127.0.0.1:8080", "localhost, 127.0.0.1 ,.lan"), "direct");
      assert.equal(via("https://pbx.lan", "localhost, 127.0.0.1 ,.lan"), "direct");
    });

    it("bypasses every proxy for *", () => {
      assert.equal(via("https://pbx.example.com", "*"), "direct");
      assert.equal(via("http://10.0.0.1", "*"), "direct");
    });
  });

  it("takes a value without a scheme as an http proxy, as curl does", () => {
    assert.equal(choice("https://pbx.example.com", { https_proxy: "proxy.lan:3128" }), P);
    assert.equal(choice("https://pbx.example.com", { https_proxy: "https://tls-proxy.lan" }), "https://tls-proxy.lan/");
  });

  it("refuses a value it cannot use instead of going around it", () => {
    assert.equal(choice("https://pbx.example.com", { https_proxy: "socks5://proxy.lan:1080" }), "invalid: unsupported proxy type socks5 (http and https only)");
    assert.equal(choice("https://pbx.example.com", { https_proxy: "http://[bad" }), "invalid: the proxy setting is not a valid URL");
  });

  it("shows a proxy without its credentials and lists the password among the secrets", () => {
    env.set({ https_proxy: "http://alice:pa%24%24word@proxy.lan:3128" });
    const c = proxyFor("https://pbx.example.com");
    assert.ok(c.kind === "proxy");
    assert.equal(c.label, "http://proxy.lan:3128");
    assert.deepEqual(c.secrets, ["pa%24%24word", "pa$$word"]);
  });

  it("names a refusal by status and reason phrase", () => {
    assert.equal(new ProxyRefusedError(407).message, "proxy refused: 407 (Proxy Authentication Required)");
    assert.equal(new ProxyRefusedError(599).message, "proxy refused: 599 (unknown status)");
  });

  it("fails every request, before sending anything, while the proxy setting is unusable", async () => {
    env.set({ https_proxy: "socks5://proxy.lan:1080" });
    const client = new NoojeeClient({ origin: "https://pbx.example.com", apiKey: "k", verifyTls: true });
    await assert.rejects(client.subscribe(["410"], 0, 0), /unsupported proxy type socks5/);
    client.close();
  });
});
