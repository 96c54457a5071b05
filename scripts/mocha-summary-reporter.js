// Mocha's spec reporter, plus closing lines that CI systems read in any language: one "FAILED: <test>: <reason>" line
// per failure, then "N passed, N failed". CI logs are often seen by their tail only; these lines name what failed there.
"use strict";
const Mocha = require("mocha");

const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;
const REASON_CHARS = 300;

/** The first line of the error's message, cut to a length that fits a log line. */
function reason(err) {
  const line = String((err && err.message) || err || "").split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > REASON_CHARS ? `${line.slice(0, REASON_CHARS)}…` : line;
}

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failed = [];
    runner.on(EVENT_TEST_FAIL, (test, err) => failed.push(`FAILED: ${test.fullTitle()}: ${reason(err)}`));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      const skipped = pending ? `, ${pending} skipped` : "";
      for (const line of failed) process.stdout.write(`${line}\n`);
      process.stdout.write(`${passes} passed, ${failures} failed${skipped}\n`);
    });
  }
}

module.exports = SpecWithSummary;
