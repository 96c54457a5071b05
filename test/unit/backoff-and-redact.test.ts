import assert from "node:assert/strict";
import { backoffDelay, DEFAULT_BACKOFF } from "../../nodes/lib/poll/backoff";
import { redact } from "../../nodes/lib/client/errors";
import { encodeQuery } from "../../nodes/lib/client/api-client";
import { authRetryMs } from "../../nodes/lib/settings";

describe("backoffDelay", () => {
  it("doubles from 1 s to a 60 s cap without jitter", () => {
    const noJitter = { ...DEFAULT_BACKOFF, jitter: 0 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, noJitter)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    );
  });
  it("jitters downwards only, within the configured fraction", () => {
    assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0), 4000);
    assert.equal(backoffDelay(3, DEFAULT_BACKOFF, () => 0.999999), 3200);
    assert.equal(backoffDelay(50, DEFAULT_BACKOFF, () => 0.5), 54000);
  });
});

describe("redact", () => {
  it("hides the apiKey, hash and timeStamp parameters of any URL", () => {
    const text = "POST https://pbx/x?exten=1&apiKey=abc-123&hash=deadbeef&timeStamp=17 failed";
    assert.equal(redact(text), "POST https://pbx/x?exten=1&apiKey=***&hash=***&timeStamp=*** failed");
  });
  it("hides the key itself, plain or percent-encoded, wherever it appears", () => {
    const key = "k+y/é 1";
    assert.equal(redact(`a ${key} b ${encodeURIComponent(key)} c`, [key]), "a *** b *** c");
  });
});

describe("encodeQuery", () => {
  it("percent-encodes every value, including + , ; : and spaces", () => {
    assert.equal(
      encodeQuery({ exten: "400,410", number: "+61 2", answerString: "Call-Info:\\; answer-after=0", skip: undefined }),
      "exten=400%2C410&number=%2B61%202&answerString=Call-Info%3A%5C%3B%20answer-after%3D0",
    );
  });
});

describe("authRetryMs (settings.js noojeeConfigAuthRetryMs)", () => {
  it("is 60 s unless settings.js sets it, and never below 1 s", () => {
    assert.equal(authRetryMs(undefined), 60_000);
    assert.equal(authRetryMs({}), 60_000);
    assert.equal(authRetryMs({ noojeeConfigAuthRetryMs: "5" }), 60_000);
    assert.equal(authRetryMs({ noojeeConfigAuthRetryMs: Number.NaN }), 60_000);
    assert.equal(authRetryMs({ noojeeConfigAuthRetryMs: 2500 }), 2500);
    assert.equal(authRetryMs({ noojeeConfigAuthRetryMs: 0 }), 1000);
    assert.equal(authRetryMs({ noojeeConfigAuthRetryMs: -5 }), 1000);
  });
});
