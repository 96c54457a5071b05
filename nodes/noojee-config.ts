/**
 * noojee-config: the PBX host and API key, and the connection every other node shares:
 * one HTTP client and one subscription hub (a single long poll) per config node.
 */
import { createHash } from "node:crypto";
import type { NodeAPI } from "node-red";
import type { NoojeeConfigDef, NoojeeConfigNode, NoojeeConnection, NoojeeCredentials } from "./node-types";
import type { Request, Response } from "express";
import { NoojeeClient } from "./lib/client/api-client";
import { testConnection, TestRequestBody } from "./test-connection";
import { parseHost, InvalidHostError, maskUserinfo } from "./lib/client/host";
import { HoldLimit } from "./lib/poll/hold-limit";
import { deleteResumeFile, ResumeFile, resumeFilePath, resumeMaxAgeMs } from "./lib/poll/resume-file";
import { HubPosition, SubscriptionHub } from "./lib/poll/subscription-hub";
import { authRetryMs, phonebookPollMs, timeOutUnitMs } from "./lib/settings";
import { startCallerInfo } from "./caller-info-setup";

/** A `${NAME}` left as it is means Node-RED found no such environment variable. */
const UNRESOLVED_ENV = /^\$\{(\S+)\}$/;

/**
 * Connections of config nodes that were stopped for a deploy (not deleted). A full deploy, or one that changes the
 * config node's flow, closes every node and creates them again: the new instance with the same id and the same
 * settings takes the connection over, so its polls resume from their cursors instead of reading the current state
 * again (which would lose the changes made during the deploy). Unclaimed connections are closed after PARK_MS.
 */
const PARK_MS = 60_000;
interface ParkedConnection {
  fingerprint: string;
  connection: NoojeeConnection;
  owner: { warn(message: string): void };
  timer: ReturnType<typeof setTimeout>;
}
const parked = new Map<string, ParkedConnection>();

function closeConnection(closing: NoojeeConnection, warn: (message: string) => void): Promise<void> {
  closing.resume?.close();
  return closing.hub
    .close()
    .catch((err: unknown) => warn(closing.client.redact(String(err))))
    .finally(() => closing.client.close());
}

export = function (RED: NodeAPI): void {
  function NoojeeConfig(this: NoojeeConfigNode, config: NoojeeConfigDef): void {
    RED.nodes.createNode(this, config);
    this.host = config.host;
    this.verifyTls = config.verifyTls !== false;
    const authMode = config.authMode === "timestamp" ? "timestamp" : "apiKey";
    this.authMode = authMode;
    // On unless turned off: flows saved before the option existed have no such property.
    const resume = config.resumeAfterRestart !== false;
    const resumeMaxAge = resumeMaxAgeMs(config.resumeMaxAge);
    const userDir = (RED.settings as { userDir?: unknown }).userDir;
    const resumePath = typeof userDir === "string" && userDir !== "" ? resumeFilePath(userDir, this.id) : undefined;
    // Turned off: the saved position is forgotten, so that turning it on again never starts from a stale one.
    if (!resume && resumePath) void deleteResumeFile(resumePath, (message) => this.warn(message));
    let connection: NoojeeConnection | undefined;
    let fingerprint: string | undefined;
    // Warnings of the shared hub go to whichever instance of this config node currently owns it.
    let owner: { warn(message: string): void } = { warn: (message) => this.warn(message) };
    // Who is calling: this instance's, handed to whichever connection it owns (see caller-info-setup.ts).
    const callers = startCallerInfo(RED, this, config, phonebookPollMs(RED.settings));
    const own = (taken: NoojeeConnection): NoojeeConnection => {
      taken.callerInfo = callers.callerInfo;
      taken.country = callers.country;
      return taken;
    };

    this.connection = (): NoojeeConnection => {
      if (connection) return connection;
      if (callers.problem) throw new Error(callers.problem);
      let origin: string;
      try {
        origin = parseHost(this.host);
      } catch (err) {
        if (!this.host?.trim()) throw new Error(RED._("noojee-config.error.noHost"), { cause: err });
        const reason = err instanceof InvalidHostError ? err.reason : String(err);
        // A user name and password typed into the field must not reach the log, the status or the Debug sidebar.
        const host = maskUserinfo(this.host);
        throw new Error(RED._("noojee-config.error.invalidHost", { host, reason }), { cause: err });
      }
      const apiKey = this.credentials?.apiKey?.trim() ?? "";
      if (apiKey === "") throw new Error(RED._("noojee-config.error.noApiKey"));
      const unresolved = UNRESOLVED_ENV.exec(apiKey);
      if (unresolved) throw new Error(RED._("noojee-config.error.unsetEnv", { name: unresolved[1] }));
      const retryMs = authRetryMs(RED.settings);
      const unitMs = timeOutUnitMs(RED.settings);
      fingerprint = createHash("sha256")
        .update(JSON.stringify([origin, apiKey, this.verifyTls, authMode, retryMs, unitMs, resume, resumeMaxAge]))
        .digest("hex");
      const previous = parked.get(this.id);
      if (previous) {
        parked.delete(this.id);
        clearTimeout(previous.timer);
        if (previous.fingerprint === fingerprint) {
          previous.owner.warn = (message) => this.warn(message);
          owner = previous.owner;
          connection = own(previous.connection);
          return connection;
        }
        void closeConnection(previous.connection, (message) => this.warn(message));
      }
      const client = new NoojeeClient({ origin, apiKey, verifyTls: this.verifyTls, authMode });
      const file = resume && resumePath
        ? new ResumeFile({ file: resumePath, host: origin, authMode, onWarning: (message) => owner.warn(message) })
        : undefined;
      const hub = new SubscriptionHub(client, {
        authRetryMs: retryMs,
        // One for all the polls of this connection: a proxy's idle limit is learned, and said, once.
        holdLimit: new HoldLimit({ unitMs }),
        onWarning: (message) => owner.warn(client.redact(message)),
        position: file && loadPosition(file),
        store: file,
      });
      connection = own({ client, hub, resume: file, callerInfo: callers.callerInfo, country: callers.country });
      return connection;
    };

    /** The saved position to carry on from, if usable; otherwise the polls start with a current-state read. */
    const loadPosition = (file: ResumeFile): HubPosition | undefined => {
      const loaded = file.load(resumeMaxAge);
      if (loaded.position) {
        // A negative age is the saving clock running ahead of this one (within a minute: see MAX_CLOCK_AHEAD_MS).
        const seconds = Math.round(Math.abs(loaded.ageMs) / 1000);
        this.log(RED._(loaded.ageMs < 0 ? "noojee-config.resume.resumingAhead" : "noojee-config.resume.resuming", { seconds }));
        return loaded.position;
      }
      const values = { file: file.path, reason: loaded.detail };
      if (loaded.reason === "corrupt" || loaded.reason === "unreadable") this.warn(RED._("noojee-config.resume.badFile", values));
      else if (loaded.reason === "tooOld" || loaded.reason === "clockAhead") {
        const minutes = Math.max(1, Math.round(Math.abs(loaded.ageMs) / 60_000));
        this.log(RED._(`noojee-config.resume.${loaded.reason}`, { minutes, max: Math.round(resumeMaxAge / 60_000) }));
      } else this.log(RED._("noojee-config.resume.notResuming", values));
      return undefined;
    };

    // Extensions that subscribe nodes left during a deploy linger in the polls until the deploy is over.
    const onFlowsStarted = (): void => connection?.hub.releaseLingering();
    RED.events.on("flows:started", onFlowsStarted);

    this.on("close", (removed: boolean, done: () => void) => {
      RED.events.removeListener("flows:started", onFlowsStarted);
      callers.close();
      const closing = connection;
      connection = undefined;
      if (removed) {
        // Deleted: its saved position goes with it.
        const deleteFile = (): Promise<void> => {
          if (closing?.resume) return closing.resume.remove(); // after its write in progress, if any
          return resumePath ? deleteResumeFile(resumePath, (m) => this.warn(m)) : Promise.resolve();
        };
        const closed = closing ? closeConnection(closing, (message) => this.warn(message)) : Promise.resolve();
        void closed.then(deleteFile).finally(() => done());
        return;
      }
      if (!closing) return done();
      if (fingerprint === undefined) {
        closeConnection(closing, (message) => this.warn(message)).finally(() => done());
        return;
      }
      // Stopped for a deploy (or a shutdown): the subscribe nodes have left, the polls are parked with their cursors.
      const stale = parked.get(this.id);
      if (stale) {
        clearTimeout(stale.timer);
        void closeConnection(stale.connection, () => undefined);
      }
      const timer = setTimeout(() => {
        if (parked.get(this.id)?.connection !== closing) return;
        parked.delete(this.id);
        void closeConnection(closing, () => undefined);
      }, PARK_MS);
      timer.unref();
      parked.set(this.id, { fingerprint, connection: closing, owner, timer });
      closing.client.close(); // idle keep-alive sockets; the next request opens a new one
      // A deploy or a shutdown: the position as it is now, for a restart.
      void (closing.resume?.flush() ?? Promise.resolve()).finally(() => done());
    });
  }

  /** The dialog's "Test connection" button: see test-connection.ts for which key is sent where. */
  RED.httpAdmin.post("/noojee-config/test", RED.auth.needsPermission("noojee-config.write"), (req: Request, res: Response) => {
    testConnection(RED, (req.body ?? {}) as TestRequestBody)
      .then((result) => res.json(result))
      .catch(() => res.status(500).json({ ok: false, status: "unreachable", reason: "internal error" }));
  });

  RED.nodes.registerType<NoojeeConfigNode, NoojeeConfigDef, object, NoojeeCredentials>("noojee-config", NoojeeConfig, {
    credentials: { apiKey: { type: "password" } },
  });
};
