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
import { HoldLimit, HoldNotice, holdNoticeText } from "./lib/poll/hold-limit";
import { resumeMaxAgeMs } from "./lib/poll/resume-file";
import { SubscriptionHub } from "./lib/poll/subscription-hub";
import { PositionPlace } from "./position-place";
import { authRetryMs, phonebookPollMs, timeOutUnitMs } from "./lib/settings";
import { startCallerInfo } from "./caller-info-setup";
import { replicaSettings, ReplicaSettings } from "./replica-settings";
import { openReplicatedHub } from "./replica-hub";

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
  // The log line of what the polls learned of the path to the PBX; a silent drop's in the catalogue's words.
  const holdText = (notice: HoldNotice, configuredSec: number): string =>
    notice.kind === "dropped" || notice.kind === "droppedGaveUp"
      ? RED._(`noojee-config.holdLimit.${notice.kind}`, { ...notice, configuredSec })
      : holdNoticeText(notice, configuredSec);
  // One flows:started listener for all config nodes, there while any is: one each made Node.js warn of a leak
  // (MaxListenersExceededWarning) from the eleventh on.
  const atFlowsStart = new Set<() => void>();
  const onFlowsStarted = (): void => {
    for (const run of atFlowsStart) run();
  };
  const whenFlowsStart = (run: () => void): (() => void) => {
    if (atFlowsStart.size === 0) RED.events.on("flows:started", onFlowsStarted);
    atFlowsStart.add(run);
    return () => {
      if (atFlowsStart.delete(run) && atFlowsStart.size === 0) RED.events.removeListener("flows:started", onFlowsStarted);
    };
  };
  function NoojeeConfig(this: NoojeeConfigNode, config: NoojeeConfigDef): void {
    RED.nodes.createNode(this, config);
    this.host = config.host;
    this.verifyTls = config.verifyTls !== false;
    const authMode = config.authMode === "timestamp" ? "timestamp" : "apiKey";
    this.authMode = authMode;
    const resumeMaxAge = resumeMaxAgeMs(config.resumeMaxAge);
    // The resume file or a context store; a position left in another place (or any, when off) is forgotten.
    const place = new PositionPlace(RED, this, config);
    let connection: NoojeeConnection | undefined;
    let fingerprint: string | undefined;
    // Warnings of the shared hub go to whichever instance of this config node currently owns it.
    let owner: { warn(message: string): void } = { warn: (message) => this.warn(message) };
    // Who is calling: this instance's, handed to whichever connection it owns (see caller-info-setup.ts).
    const callers = startCallerInfo(RED, this, config, phonebookPollMs(RED.settings));
    const own = (taken: NoojeeConnection): NoojeeConnection => {
      taken.callerInfo = callers.callerInfo;
      taken.country = callers.country;
      taken.phonebookNote = callers.note;
      return taken;
    };

    // The host, key and Replicas settings as the connection uses them; throws an Error saying what is wrong with them.
    const checked = (): { origin: string; apiKey: string; replicas: ReplicaSettings | undefined } => {
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
      return { origin, apiKey, replicas: replicaSettings(config, this.credentials, (key, values) => RED._(key, values)) };
    };
    this.problem = (): string | undefined => {
      if (connection) return undefined;
      try {
        checked();
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };

    this.connection = (): NoojeeConnection => {
      if (connection) return connection;
      const { origin, apiKey, replicas } = checked();
      const retryMs = authRetryMs(RED.settings);
      const unitMs = timeOutUnitMs(RED.settings);
      fingerprint = createHash("sha256")
        .update(JSON.stringify([origin, apiKey, this.verifyTls, authMode, retryMs, unitMs, resumeMaxAge, place.place, replicas ?? null]))
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
      const client = new NoojeeClient({ origin, apiKey, verifyTls: this.verifyTls, authMode, timeOutUnitMs: unitMs });
      const hubOptions = {
        authRetryMs: retryMs,
        // One for all the polls of this connection: a proxy's idle limit is learned, and said, once.
        holdLimit: new HoldLimit({ unitMs, text: holdText }),
        onWarning: (message: string) => owner.warn(client.redact(message)),
      };
      const shared = { client, callerInfo: callers.callerInfo, country: callers.country, phonebookNote: callers.note };
      if (replicas) {
        // The position is the one the replicas share in Redis, written by the lease holder only.
        const hub = openReplicatedHub(replicas, {
          configId: this.id, api: client, hub: hubOptions, host: origin, authMode, maxAgeMs: resumeMaxAge, unitMs,
          warn: (message) => owner.warn(client.redact(message)),
          connectionFailedText: (url, reason) => RED._("noojee-config.log.redisConnectionFailed", { url, reason }),
        });
        connection = own({ ...shared, hub, standDown: () => hub.standDown() });
        return connection;
      }
      // Without a usable saved position the polls start with a current-state read.
      const saved = place.open(origin, authMode, resumeMaxAge, (message) => owner.warn(message));
      const hub = new SubscriptionHub(client, { ...hubOptions, position: saved.position, store: saved.writer });
      connection = own({ ...shared, hub, resume: saved.writer });
      return connection;
    };

    // Extensions that subscribe nodes left during a deploy linger in the polls until the deploy is over.
    const stopWatchingStarts = whenFlowsStart(() => connection?.hub.releaseLingering());

    this.on("close", (removed: boolean, done: () => void) => {
      stopWatchingStarts();
      callers.close();
      const closing = connection;
      connection = undefined;
      if (removed) {
        // Deleted: its saved position goes with it.
        const deleteFile = (): Promise<void> => {
          if (closing?.resume) return closing.resume.remove(); // after its write in progress, if any
          return place.forget();
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
      // A deploy or a shutdown: the position as it is now, for a restart. With replicas, the lease goes back too, so a
      // standby takes over at once (this one competes again if the node comes back).
      void (closing.standDown?.() ?? closing.resume?.flush() ?? Promise.resolve()).finally(() => done());
    });
  }

  /** The dialog's "Test connection" button: see test-connection.ts for which key is sent where. */
  RED.httpAdmin.post("/noojee-config/test", RED.auth.needsPermission("noojee-config.write"), (req: Request, res: Response) => {
    testConnection(RED, (req.body ?? {}) as TestRequestBody)
      .then((result) => res.json(result))
      .catch(() => res.status(500).json({ ok: false, status: "unreachable", reason: "internal error" }));
  });

  RED.nodes.registerType<NoojeeConfigNode, NoojeeConfigDef, object, NoojeeCredentials>("noojee-config", NoojeeConfig, {
    credentials: { apiKey: { type: "password" }, redisUrl: { type: "text" }, redisPassword: { type: "password" } },
  });
};
