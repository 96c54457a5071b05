/** Command-line options of noojee-pbx-sim: parsing and validation, with no side effects. */
import { parseArgs } from "node:util";
import type { Range } from "./random";

export interface SimOptions {
  port: number;
  host: string;
  apiKey: string;
  extensions: string[];
  /** The --extensions text as given, for messages. */
  extensionSpec: string;
  callsPerMinute: number;
  seed: string | undefined;
  focus: string[];
  ringMs: Range;
  talkMs: Range;
  minPollMs: number;
  /** What a subscribe answer lists: every change since lastSequenceNumber, or each changed leg's latest state. */
  answerStyle: "every" | "latest";
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  events: boolean;
  quiet: boolean;
}

export type ParsedArgs = { kind: "help" } | { kind: "version" } | { kind: "run"; options: SimOptions };

export class UsageError extends Error {}

export const DEFAULTS = {
  port: 8089,
  host: "127.0.0.1",
  apiKey: "demo",
  extensions: "400-420",
  callsPerMinute: 6,
  ringSeconds: "2-12",
  talkSeconds: "5-60",
  minPollMs: 100,
  answerStyle: "every",
} as const;

/** The most extensions one simulator serves. */
export const MAX_EXTENSIONS = 1000;

export const HELP = `Usage: noojee-pbx-sim [options]

A Noojee PBX simulator for trying node-red-contrib-noojee (or any client of the Noojee Call Management API)
without a PBX. It serves the API (subscribe with its long poll, answer, hangup, dial, start, stop) at
  http://<host>:<port>/servicemanager/rest/CallManagementAPI/<method>
and makes calls on its own: inbound calls that ring and are answered, missed calls, busy extensions, outbound
calls, calls between extensions, queue calls and transfers. Calls answered through the API connect; calls
dialled through the API ring the extension called (or an outside party). It prints one line per call.

Options:
  --port <n>              TCP port; 0 picks a free one (default ${DEFAULTS.port})
  --host <address>        address to listen on (default ${DEFAULTS.host}; 0.0.0.0 for every interface)
  --api-key <key>         the API key clients must send (default "${DEFAULTS.apiKey}")
  --extensions <list>     the extensions, e.g. 400-420 or 400,410,500-505 (default ${DEFAULTS.extensions})
  --calls-per-minute <n>  average rate of new calls; 0 for none (default ${DEFAULTS.callsPerMinute})
  --seed <text>           seed for reproducible traffic (default: a random one, printed at start)
  --focus <list>          extensions that get half of the calls, like a reception desk, e.g. 400,410
  --ring-seconds <a-b>    how long a phone rings before someone picks up (default ${DEFAULTS.ringSeconds})
  --talk-seconds <a-b>    how long a conversation lasts (default ${DEFAULTS.talkSeconds})
  --min-poll-ms <n>       least time before any subscribe answer, like the real PBX (default ${DEFAULTS.minPollMs})
  --answer-style <style>  what a subscribe answer lists: "every" change since lastSequenceNumber, or only
                          each changed call leg's "latest" state (default ${DEFAULTS.answerStyle})
  --tls-cert <file>       serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key <file>        the PEM private key of --tls-cert
  --events                also print every change of every call leg
  --quiet                 no line per call (errors and the start and stop lines only)
  -h, --help              show this help and exit
  -v, --version           print the version and exit

The same --seed with the same options gives the same calls, as long as nothing is answered, hung up or
dialled through the API. Stop with Ctrl-C (SIGINT) or SIGTERM: the exit code is then 0.

Example:
  noojee-pbx-sim --port 8089 --api-key demo --extensions 400-420 --calls-per-minute 10 --seed 42
  then point the Noojee PBX configuration node at host http://127.0.0.1:8089 with API key demo.
`;

/** "400-420,500,510-512" -> ["400", ..., "420", "500", "510", "511", "512"], without duplicates, in order. */
export function parseExtensionSpec(spec: string): string[] {
  const out = new Set<string>();
  const items = spec.split(",").map((s) => s.trim());
  if (spec.trim() === "" || items.some((s) => s === "")) throw new UsageError(`--extensions: empty item in "${spec}"`);
  for (const item of items) {
    const m = /^(\d{1,15})(?:-(\d{1,15}))?$/.exec(item);
    if (!m) throw new UsageError(`--extensions: "${item}" is not an extension number or a range such as 400-420`);
    if (m[2] === undefined) {
      out.add(m[1]);
    } else {
      const first = Number(m[1]);
      const last = Number(m[2]);
      if (last < first) throw new UsageError(`--extensions: the range ${item} ends before it starts`);
      if (last - first + 1 > MAX_EXTENSIONS) throw new UsageError(`--extensions: the range ${item} is larger than ${MAX_EXTENSIONS}`);
      // Keep the width of the first number, so 0400-0402 stays 0400, 0401, 0402.
      for (let n = first; n <= last; n++) out.add(String(n).padStart(m[1].length, "0"));
    }
    if (out.size > MAX_EXTENSIONS) throw new UsageError(`--extensions: more than ${MAX_EXTENSIONS} extensions`);
  }
  return [...out];
}

/** "2-12" or "5" (seconds, decimals allowed) -> a range in milliseconds. */
export function parseSecondsRange(name: string, text: string): Range {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!m) throw new UsageError(`${name}: "${text}" is not a number of seconds or a range such as 2-12`);
  const min = Math.round(Number(m[1]) * 1000);
  const max = Math.round(Number(m[2] ?? m[1]) * 1000);
  if (max < min) throw new UsageError(`${name}: the range ${text} ends before it starts`);
  if (max > 24 * 3_600_000) throw new UsageError(`${name}: ${text} is longer than a day`);
  return { min, max };
}

function parseNumber(name: string, text: string, opts: { integer: boolean; min: number; max: number }): number {
  const ok = opts.integer ? /^\d+$/.test(text.trim()) : /^\d+(\.\d+)?$/.test(text.trim());
  const n = Number(text);
  if (!ok || n < opts.min || n > opts.max) {
    const kind = opts.integer ? "a whole number" : "a number";
    throw new UsageError(`${name}: "${text}" is not ${kind} from ${opts.min} to ${opts.max}`);
  }
  return n;
}

export function parseSimArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "api-key": { type: "string" },
        extensions: { type: "string" },
        "calls-per-minute": { type: "string" },
        seed: { type: "string" },
        focus: { type: "string" },
        "ring-seconds": { type: "string" },
        "talk-seconds": { type: "string" },
        "min-poll-ms": { type: "string" },
        "answer-style": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        events: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }));
  } catch (err) {
    // parseArgs explains unknown options, missing values and stray arguments; keep its first sentence.
    throw new UsageError((err as Error).message.split("\n")[0].split(". ")[0].replace(/\.$/, ""));
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  const extensionSpec = values.extensions ?? DEFAULTS.extensions;
  const extensions = parseExtensionSpec(extensionSpec);
  const focus = values.focus === undefined ? [] : parseExtensionSpec(values.focus);
  const outside = focus.filter((e) => !extensions.includes(e));
  if (outside.length > 0) throw new UsageError(`--focus: ${outside.join(", ")} not among --extensions ${extensionSpec}`);
  const apiKey = values["api-key"] ?? DEFAULTS.apiKey;
  if (apiKey === "" || /[\s]/.test(apiKey)) throw new UsageError("--api-key: must not be empty or contain spaces");
  const host = values.host ?? DEFAULTS.host;
  if (host.trim() === "") throw new UsageError("--host: must not be empty");
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (values.seed !== undefined && values.seed === "") throw new UsageError("--seed: must not be empty");
  const answerStyle = values["answer-style"] ?? DEFAULTS.answerStyle;
  if (answerStyle !== "every" && answerStyle !== "latest") {
    throw new UsageError(`--answer-style: "${answerStyle}" is not every or latest`);
  }
  if (values.events && values.quiet) throw new UsageError("--events and --quiet exclude each other");

  return {
    kind: "run",
    options: {
      port: parseNumber("--port", values.port ?? String(DEFAULTS.port), { integer: true, min: 0, max: 65535 }),
      host,
      apiKey,
      extensions,
      extensionSpec,
      callsPerMinute: parseNumber("--calls-per-minute", values["calls-per-minute"] ?? String(DEFAULTS.callsPerMinute), {
        integer: false,
        min: 0,
        max: 6000,
      }),
      seed: values.seed,
      focus,
      ringMs: parseSecondsRange("--ring-seconds", values["ring-seconds"] ?? DEFAULTS.ringSeconds),
      talkMs: parseSecondsRange("--talk-seconds", values["talk-seconds"] ?? DEFAULTS.talkSeconds),
      minPollMs: parseNumber("--min-poll-ms", values["min-poll-ms"] ?? String(DEFAULTS.minPollMs), { integer: true, min: 0, max: 10_000 }),
      answerStyle,
      tlsCert: values["tls-cert"],
      tlsKey: values["tls-key"],
      events: values.events ?? false,
      quiet: values.quiet ?? false,
    },
  };
}
