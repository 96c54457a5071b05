/** The noojee-pbx-sim command: arguments, exit codes, a live server over HTTP, shutdown, and what npm ships. */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, packPackage } from "../harness/node-red-process";
import type { SubscribeResponse } from "../../nodes/lib/client/types";

/** dist/test/sim/ -> dist/sim/cli.js */
const CLI = path.join(__dirname, "..", "..", "sim", "cli.js");

interface Sim {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
}

const running = new Set<Sim>();

function startSim(args: string[]): Sim {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const watchers = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    out += c;
    for (const w of watchers) w();
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const sim: Sim = {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor: (re, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (!m) return;
          cleanup();
          resolve(m);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${re} in the output within ${timeoutMs} ms:\n${out}\n${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      }),
  };
  running.add(sim);
  void exited.then(() => running.delete(sim));
  return sim;
}

function runSync(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function post(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

describe("simulator: noojee-pbx-sim command", function () {
  this.timeout(30_000);

  after(async function () {
    for (const sim of running) sim.child.kill("SIGKILL");
  });

  it("is compiled with its shebang and is executable", function () {
    const text = fs.readFileSync(CLI, "utf8");
    assert.ok(text.startsWith("#!/usr/bin/env node\n"));
    assert.ok((fs.statSync(CLI).mode & 0o111) !== 0, "not executable");
  });

  it("--help describes every option and exits 0", function () {
    const r = runSync(["--help"]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^Usage: noojee-pbx-sim \[options\]/);
    for (const option of [
      "--port",
      "--host",
      "--api-key",
      "--extensions",
      "--calls-per-minute",
      "--seed",
      "--focus",
      "--ring-seconds",
      "--talk-seconds",
      "--min-poll-ms",
      "--answer-style",
      "--tls-cert",
      "--tls-key",
      "--events",
      "--quiet",
      "--version",
    ]) {
      assert.ok(r.stdout.includes(option), `${option} missing`);
    }
    assert.equal(runSync(["-h"]).stdout, r.stdout);
  });

  it("--version prints the package version", function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const r = runSync(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });

  const badArgs: Array<[string[], RegExp]> = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["stray"], /Unexpected argument 'stray'/],
    [["--port"], /--port/],
    [["--port", "65536"], /--port: "65536" is not a whole number from 0 to 65535/],
    [["--port", "80a"], /--port/],
    [["--calls-per-minute", "-3"], /--calls-per-minute/],
    [["--calls-per-minute", "lots"], /--calls-per-minute: "lots" is not a number/],
    [["--extensions", "420-400"], /ends before it starts/],
    [["--extensions", "SIP/400"], /"SIP\/400" is not an extension number/],
    [["--extensions", "400,,410"], /empty item/],
    [["--extensions", "1-5000"], /larger than 1000/],
    [["--focus", "500"], /--focus: 500 not among --extensions 400-420/],
    [["--ring-seconds", "5-2"], /--ring-seconds: the range 5-2 ends before it starts/],
    [["--talk-seconds", "long"], /--talk-seconds/],
    [["--api-key", ""], /--api-key/],
    [["--tls-cert", "cert.pem"], /--tls-cert and --tls-key go together/],
    [["--events", "--quiet"], /exclude each other/],
    [["--answer-style", "all"], /--answer-style: "all" is not every or latest/],
  ];
  for (const [args, message] of badArgs) {
    it(`exits 2 with a message for ${JSON.stringify(args.join(" "))}`, function () {
      const r = runSync(args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Run noojee-pbx-sim --help for the options\.\n$/);
    });
  }

  it("exits 1 with a message when the port is taken or the TLS files cannot be read", async function () {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const r = runSync(["--port", String(port)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      blocker.close();
    }
    const tls = runSync(["--port", "0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"]);
    assert.equal(tls.code, 1);
    assert.match(tls.stderr, /cannot read the TLS files/);
  });

  it("serves the API: subscribe, dial, answer through HTTP; logs the call on one line; SIGINT exits 0", async function () {
    const sim = startSim(["--port", "0", "--api-key", "k1", "--extensions", "400-402", "--calls-per-minute", "0", "--talk-seconds", "0.3", "--seed", "s"]);
    const [, url] = await sim.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\n/);
    await sim.waitFor(/Ctrl-C to stop\n/);
    assert.match(sim.out(), /3 extensions \(400-402\), no calls of its own, seed s\n/);
    const api = `${url}/servicemanager/rest/CallManagementAPI`;

    const state = (await post(`${api}/subscribe?exten=400,401&lastSequenceNumber=0&timeOut=0&apiKey=k1`)) as unknown as SubscribeResponse;
    assert.deepEqual(state.Data, {});
    assert.equal(state.Code, 0);
    assert.ok((await post(`${api}/subscribe?exten=400&lastSequenceNumber=0&timeOut=0&apiKey=wrong`)).Code as number < 0);

    // A held poll wakes when 400 calls 401 through the API.
    const held = post(`${api}/subscribe?exten=401&lastSequenceNumber=${state.seq}&timeOut=10&apiKey=k1`);
    assert.equal((await post(`${api}/dial?number=401&extenOrUniqueId=SIP%2F400&apiKey=k1`)).Code, 0);
    const woke = (await held) as unknown as SubscribeResponse;
    const ringing = woke.Data?.["401"]?.[0]?.CallData;
    assert.equal(ringing?.status, "Ringing");
    assert.equal(ringing.callerId, "400");
    const answer = await post(`${api}/answer?uniqueId=${encodeURIComponent(ringing.uniqueCallId)}&exten=401&answerString=Call-info%3Aanswer-after%3D0&apiKey=k1`);
    assert.deepEqual(answer, { Message: "Call answered", Code: 0 });

    await sim.waitFor(/\d\d:\d\d:\d\d #1 dial\(API\) 400 -> 401: answered via the API after \d+\.\d s, talked 0\.\d s\n/);
    sim.child.kill("SIGINT");
    const exit = await sim.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(sim.out(), /SIGINT: stopping\nnoojee-pbx-sim stopped\. 1 call: 1 answered \(1 via the API\)/);
    assert.equal(sim.err(), "");
  });

  for (const style of ["every", "latest"] as const) {
    it(`--answer-style ${style}: a poll lists ${style === "every" ? "every change of a call" : "each changed leg's latest state only"}`, async function () {
      const sim = startSim(["--port", "0", "--api-key", "k1", "--extensions", "400-401", "--calls-per-minute", "0", "--answer-style", style]);
      const [, url] = await sim.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\n/);
      const api = `${url}/servicemanager/rest/CallManagementAPI`;
      const start = (await post(`${api}/subscribe?exten=400,401&lastSequenceNumber=0&timeOut=0&apiKey=k1`)) as unknown as SubscribeResponse;
      // 400 calls 401 (Dialing Out on 400, Ringing on 401), 401 answers (both Connected), then a poll from the start.
      assert.equal((await post(`${api}/dial?number=401&extenOrUniqueId=SIP%2F400&apiKey=k1`)).Code, 0);
      const ringing = (await post(`${api}/subscribe?exten=401&lastSequenceNumber=0&timeOut=0&apiKey=k1`)) as unknown as SubscribeResponse;
      const id = ringing.Data?.["401"]?.[0]?.CallData.uniqueCallId ?? "";
      assert.equal((await post(`${api}/answer?uniqueId=${encodeURIComponent(id)}&exten=401&apiKey=k1`)).Code, 0);
      const poll = (await post(`${api}/subscribe?exten=400,401&lastSequenceNumber=${start.seq}&timeOut=0&apiKey=k1`)) as unknown as SubscribeResponse;
      const statuses = (exten: string): string[] => (poll.Data?.[exten] ?? []).map((e) => e.CallData.status);
      if (style === "every") {
        assert.deepEqual(statuses("400"), ["Dialing Out", "Connected"]);
        assert.deepEqual(statuses("401"), ["Ringing", "Connected"]);
      } else {
        assert.deepEqual(statuses("400"), ["Connected"]);
        assert.deepEqual(statuses("401"), ["Connected"]);
      }
      sim.child.kill("SIGTERM");
      assert.deepEqual(await sim.exited, { code: 0, signal: null });
    });
  }

  it("generates traffic on its own, prints every leg change with --events, and stops on SIGTERM", async function () {
    const sim = startSim(["--port", "0", "--calls-per-minute", "300", "--ring-seconds", "0.2-0.5", "--talk-seconds", "0.2-0.5", "--events", "--seed", "7"]);
    await sim.waitFor(/listening on/);
    await sim.waitFor(/ #\d+ \w+.*\n[\s\S]* #\d+ \w+.*\n/, 20_000); // two finished calls
    assert.match(sim.out(), /\d\d:\d\d:\d\d\.\d{3} {3}4\d\d (Ringing|Dialing Out|Busy) /);
    sim.child.kill("SIGTERM");
    assert.deepEqual(await sim.exited, { code: 0, signal: null });
    assert.match(sim.out(), /SIGTERM: stopping\nnoojee-pbx-sim stopped\. \d+ calls?: /);
  });

  it("ships in the packed package as the noojee-pbx-sim command (bin), executable, without the tests", async function () {
    this.timeout(180_000);
    const tarball = await packPackage();
    const listing = spawnSync("tar", ["-tvzf", tarball], { encoding: "utf8" }).stdout;
    assert.match(listing, /^-rwxr-xr-x .* package\/dist\/sim\/cli\.js$/m);
    for (const file of ["pbx-server.js", "traffic.js", "random.js", "options.js"]) assert.ok(listing.includes(`package/dist/sim/${file}`), file);
    assert.ok(!listing.includes("package/dist/test/"), "ships the tests");
    assert.ok(!listing.includes("package/dist/scripts/"), "ships the scripts");
    assert.ok(!/package\/sim\/.*\.ts/.test(listing), "ships TypeScript sources");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-sim-bin-"));
    try {
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "sim-user", private: true }));
      const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--offline-first", tarball], { cwd: dir, encoding: "utf8", timeout: 150_000 });
      assert.equal(install.status, 0, install.stderr);
      const bin = path.join(dir, "node_modules", ".bin", "noojee-pbx-sim");
      const help = spawnSync(bin, ["--help"], { encoding: "utf8", timeout: 15_000 });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^Usage: noojee-pbx-sim/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
