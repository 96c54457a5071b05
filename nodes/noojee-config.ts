/**
 * noojee-config: the PBX host and API key, and the connection every other node shares:
 * one HTTP client and one subscription hub (a single long poll) per config node.
 */
import type { NodeAPI } from "node-red";
import type { NoojeeConfigDef, NoojeeConfigNode, NoojeeConnection, NoojeeCredentials } from "./node-types";
import type { Request, Response } from "express";
import { NoojeeClient } from "./lib/api-client";
import { checkConnection } from "./lib/connection-check";
import { parseHost, InvalidHostError } from "./lib/host";
import { SubscriptionHub } from "./lib/subscription-hub";
import { authRetryMs } from "./lib/settings";

/** A `${NAME}` left as it is means Node-RED found no such environment variable. */
const UNRESOLVED_ENV = /^\$\{(\S+)\}$/;
/** What the editor sends for a password field the user did not touch. */
const UNCHANGED_PASSWORD = "__PWRD__";

interface TestRequestBody {
  id?: unknown;
  host?: unknown;
  verifyTls?: unknown;
  apiKey?: unknown;
  authMode?: unknown;
}

export = function (RED: NodeAPI): void {
  function NoojeeConfig(this: NoojeeConfigNode, config: NoojeeConfigDef): void {
    RED.nodes.createNode(this, config);
    this.host = config.host;
    this.verifyTls = config.verifyTls !== false;
    const authMode = config.authMode === "timestamp" ? "timestamp" : "apiKey";
    let connection: NoojeeConnection | undefined;

    this.connection = (): NoojeeConnection => {
      if (connection) return connection;
      let origin: string;
      try {
        origin = parseHost(this.host);
      } catch (err) {
        if (!this.host?.trim()) throw new Error(RED._("noojee-config.error.noHost"), { cause: err });
        const reason = err instanceof InvalidHostError ? err.reason : String(err);
        throw new Error(RED._("noojee-config.error.invalidHost", { host: this.host, reason }), { cause: err });
      }
      const apiKey = this.credentials?.apiKey?.trim() ?? "";
      if (apiKey === "") throw new Error(RED._("noojee-config.error.noApiKey"));
      const unresolved = UNRESOLVED_ENV.exec(apiKey);
      if (unresolved) throw new Error(RED._("noojee-config.error.unsetEnv", { name: unresolved[1] }));
      const client = new NoojeeClient({ origin, apiKey, verifyTls: this.verifyTls, authMode });
      const hub = new SubscriptionHub(client, {
        authRetryMs: authRetryMs(RED.settings),
        onWarning: (message) => this.warn(client.redact(message)),
      });
      connection = { client, hub };
      return connection;
    };

    this.on("close", (_removed: boolean, done: () => void) => {
      const closing = connection;
      connection = undefined;
      if (!closing) return done();
      closing.hub
        .close()
        .catch((err: unknown) => this.warn(closing.client.redact(String(err))))
        .finally(() => {
          closing.client.close();
          done();
        });
    });
  }

  /**
   * The dialog's "Test connection" button. Uses the typed key, or the stored credential of a saved node when the
   * key field is untouched. Answers a status word and a redacted reason, never the key.
   */
  RED.httpAdmin.post("/noojee-config/test", RED.auth.needsPermission("noojee-config.write"), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as TestRequestBody;
    const host = typeof body.host === "string" ? body.host : "";
    let apiKey = typeof body.apiKey === "string" ? body.apiKey.trim() : "";
    if ((apiKey === "" || apiKey === UNCHANGED_PASSWORD) && typeof body.id === "string") {
      const stored = RED.nodes.getCredentials(body.id) as NoojeeCredentials | undefined;
      apiKey = stored?.apiKey?.trim() ?? "";
    }
    const env = UNRESOLVED_ENV.exec(apiKey);
    if (env) apiKey = process.env[env[1]] ?? "";
    const authMode = body.authMode === "timestamp" ? "timestamp" : "apiKey";
    checkConnection(host, apiKey === UNCHANGED_PASSWORD ? "" : apiKey, body.verifyTls !== false, authMode)
      .then((result) => res.json(result))
      .catch(() => res.status(500).json({ ok: false, status: "unreachable", reason: "internal error" }));
  });

  RED.nodes.registerType<NoojeeConfigNode, NoojeeConfigDef, object, NoojeeCredentials>("noojee-config", NoojeeConfig, {
    credentials: { apiKey: { type: "password" } },
  });
};
