#!/usr/bin/env node
/**
 * noojee-pbx-sim: a Noojee PBX simulator on the command line. See `noojee-pbx-sim --help`.
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the server cannot start, 2 for bad arguments.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PbxServer, type PbxEvent } from "./pbx-server";
import { DEFAULT_TIMING, TrafficGenerator, describeCall, type TrafficStats } from "./traffic";
import { HELP, UsageError, parseSimArgs, type SimOptions } from "./options";

const NAME = "noojee-pbx-sim";

function version(): string {
  try {
    // dist/sim/cli.js -> the package root.
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function clock(withMs = false): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  const base = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return withMs ? `${base}.${p(d.getMilliseconds(), 3)}` : base;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function describeEvent(ev: PbxEvent): string {
  const d = ev.entry.CallData;
  const cause = d.hangupCause ? ` (${d.hangupCause})` : "";
  const flags = [d.isQueueCall ? "queue" : "", d.canAnswer ? "can answer" : ""].filter(Boolean).join(", ");
  return `${clock(true)}   ${ev.exten} ${d.status}${cause} ${d.callerId ?? ""} [${d.uniqueCallId}]${flags ? ` ${flags}` : ""} seq ${ev.seq}`;
}

function describeStats(s: TrafficStats): string {
  const o = s.byOutcome;
  const parts = [
    `${o.answered + o.transferred} answered (${s.answeredViaApi} via the API)`,
    `${o.missed} missed`,
    `${o.busy} busy`,
    `${o["no answer"]} not answered outside`,
    `${o.transferred} transferred`,
  ];
  if (o.abandoned) parts.push(`${o.abandoned} abandoned in the queue`);
  if (o["hung up"]) parts.push(`${o["hung up"]} hung up via the API`);
  return `${s.ended} call${s.ended === 1 ? "" : "s"}: ${parts.join(", ")}`;
}

async function run(options: SimOptions): Promise<void> {
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    try {
      tls = { cert: fs.readFileSync(options.tlsCert), key: fs.readFileSync(options.tlsKey) };
    } catch (err) {
      throw new Error(`cannot read the TLS files: ${(err as Error).message}`, { cause: err });
    }
  }
  // The event log serves polls that resume from an older seq; 20,000 events is well over an hour of traffic.
  const server = new PbxServer({ apiKey: options.apiKey, tls, minPollMs: options.minPollMs,
    answerStyle: options.answerStyle,
    maxEvents: 20_000, maxRequests: 1000 });
  const ringTimeoutMs =
    options.ringMs.max < DEFAULT_TIMING.ringTimeoutMs.min
      ? DEFAULT_TIMING.ringTimeoutMs
      : { min: options.ringMs.max + 3_000, max: options.ringMs.max + 13_000 };
  const traffic = new TrafficGenerator(server, {
    extensions: options.extensions,
    callsPerMinute: options.callsPerMinute,
    seed: options.seed,
    focus: options.focus,
    timing: { answerMs: options.ringMs, ringTimeoutMs, talkMs: options.talkMs },
  });
  if (!options.quiet) traffic.onCall((s) => say(`${clock()} ${describeCall(s)}`));
  traffic.onError((err) => process.stderr.write(`${NAME}: internal error in a call: ${err.stack ?? err.message}\n`));
  if (options.events) server.onChange((ev) => say(describeEvent(ev)));

  try {
    await server.start(options.port, options.host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === "EADDRINUSE"
        ? `port ${options.port} on ${options.host} is already in use (try --port 0 for a free one)`
        : e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND"
          ? `cannot listen on ${options.host}: ${e.code}`
          : `cannot start the server: ${e.message}`;
    throw new Error(reason, { cause: err });
  }
  traffic.start();

  const rate = options.callsPerMinute === 0 ? "no calls of its own" : `${options.callsPerMinute} calls/min`;
  const focus = options.focus.length > 0 ? `, focus on ${options.focus.join(",")}` : "";
  say(`${NAME} ${version()}: Noojee PBX simulator listening on ${server.url}`);
  say(`  API      ${server.url}/servicemanager/rest/CallManagementAPI/   API key: ${options.apiKey}`);
  say(`  traffic  ${options.extensions.length} extensions (${options.extensionSpec}), ${rate}${focus}, seed ${traffic.seed}`);
  say("  Ctrl-C to stop");
  if (options.apiKey === "demo" && !/^(127\.|::1$|localhost$)/.test(options.host)) {
    process.stderr.write(`${NAME}: warning: listening on ${options.host} with the well-known API key "demo"\n`);
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      say(`${clock()} ${signal}: stopping`);
      traffic.stop();
      void server.stop().then(() => {
        say(`${NAME} stopped. ${describeStats(traffic.stats)}`);
        resolve();
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  // A closed stdout (e.g. piped into `head`) must not crash the simulator.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
  let parsed;
  try {
    parsed = parseSimArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${NAME}: ${err.message}\nRun ${NAME} --help for the options.\n`);
    return 2;
  }
  if (parsed.kind === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.kind === "version") {
    say(version());
    return 0;
  }
  try {
    await run(parsed.options);
    return 0;
  } catch (err) {
    process.stderr.write(`${NAME}: ${(err as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should a handle still linger, do not hang on it.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`${NAME}: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
