/**
 * noojee-config: the PBX host and API key, and the connection every other node shares:
 * one HTTP client and one subscription hub (a single long poll) per config node.
 */
import type { NodeAPI } from "node-red";
import type { NoojeeConfigDef, NoojeeConfigNode, NoojeeConnection, NoojeeCredentials } from "./node-types";
import { NoojeeClient } from "./lib/api-client";
import { parseHost, InvalidHostError } from "./lib/host";
import { SubscriptionHub } from "./lib/subscription-hub";

/** A `${NAME}` left as it is means Node-RED found no such environment variable. */
const UNRESOLVED_ENV = /^\$\{(\S+)\}$/;

export = function (RED: NodeAPI): void {
  function NoojeeConfig(this: NoojeeConfigNode, config: NoojeeConfigDef): void {
    RED.nodes.createNode(this, config);
    this.host = config.host;
    this.verifyTls = config.verifyTls !== false;
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
      const client = new NoojeeClient({ origin, apiKey, verifyTls: this.verifyTls });
      const hub = new SubscriptionHub(client, {
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

  RED.nodes.registerType<NoojeeConfigNode, NoojeeConfigDef, object, NoojeeCredentials>("noojee-config", NoojeeConfig, {
    credentials: { apiKey: { type: "password" } },
  });
};
