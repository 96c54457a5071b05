/** ConnectionFailures: a Redis connection's failures logged once per run, a TLS one named for the status, masked. */
import assert from "node:assert/strict";
import { ConnectionFailures } from "../../nodes/lib/replicas/connection-failures";

function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("ConnectionFailures", () => {
  it("logs each failure once per run, names a TLS failure for the status, and starts again once connected", () => {
    const logged: string[] = [];
    const failures = new ConnectionFailures((detail) => logged.push(detail));
    const selfSigned = (): Error => failure("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT");
    for (let i = 0; i < 5; i++) failures.failed(selfSigned());
    assert.deepEqual(logged, ["self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)"]);
    assert.equal(failures.reason, "TLS: self-signed cert");
    // Node's AggregateError (IPv4 and IPv6 tried) has no message: the code says it.
    failures.failed(Object.assign(new AggregateError([], ""), { code: "ECONNREFUSED" }));
    assert.equal(failures.reason, undefined, "not a TLS failure: the status keeps its own reason");
    failures.failed(selfSigned());
    assert.equal(logged.length, 2, "the same failure again in the same run");
    failures.ready();
    assert.equal(failures.reason, undefined);
    failures.failed(selfSigned());
    assert.deepEqual(logged, ["self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)", "ECONNREFUSED", "self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)"]);
  });

  it("an unlisted TLS failure is said briefly; every secret and URL password is masked in the log line", () => {
    const logged: string[] = [];
    const failures = new ConnectionFailures((detail) => logged.push(detail), ["hunter2-pw"]);
    failures.failed(failure("certificate is not yet valid", "CERT_NOT_YET_VALID"));
    assert.equal(failures.reason, "TLS failed");
    failures.failed(failure("WRONGPASS for rediss://u:pw@h:1 with hunter2-pw.", "ERR"));
    assert.equal(logged[1], "WRONGPASS for rediss://***@h:1 with *** (ERR)", "masked, without its full stop");
  });
});
