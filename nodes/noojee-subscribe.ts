/**
 * noojee-subscribe: one msg per call-state change on the watched extensions.
 * The long poll itself lives in the config node's SubscriptionHub, shared with every other subscribe node.
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { parseExtensionList } from "./lib/extensions";
import type { LoopStatus } from "./lib/poll-loop";
import { MAX_TIMEOUT, MIN_TIMEOUT, toMessage } from "./messages";
import type { NoojeeConfigNode } from "./node-types";
import { statusOf, ThrottledStatus } from "./status";

interface SubscribeDef extends NodeDef {
  server: string;
  extensions: string;
  timeout: number | string;
}

const DEFAULT_TIMEOUT = 30;

export = function (RED: NodeAPI): void {
  function NoojeeSubscribe(this: Node, config: SubscribeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-subscribe.${key}`, values);

    const fail = (statusKey: string, message: string): void => {
      node.status(statusOf.failing(t(`status.${statusKey}`)));
      node.error(message);
    };

    let extensions: string[];
    try {
      extensions = parseExtensionList(config.extensions);
    } catch (err) {
      return fail("invalidConfig", t("error.invalidExtensions", { reason: (err as Error).message }));
    }
    const rawTimeout = config.timeout === undefined || config.timeout === "" ? DEFAULT_TIMEOUT : Number(config.timeout);
    if (!Number.isInteger(rawTimeout) || rawTimeout < MIN_TIMEOUT || rawTimeout > MAX_TIMEOUT) {
      return fail("invalidConfig", t("error.invalidTimeout", { value: String(config.timeout) }));
    }
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    if (!server) return fail("notConfigured", t("error.noServer"));
    let hub;
    try {
      hub = server.connection().hub;
    } catch (err) {
      return fail("notConfigured", (err as Error).message);
    }

    const status = new ThrottledStatus(node);
    let lastEvent: { extension: string; status: string } | undefined;
    const lastEventText = (): string | undefined => lastEvent && t("status.event", lastEvent);
    let lastFailure: string | undefined;

    const onStatus = (loop: LoopStatus): void => {
      if (loop.state === "connecting") {
        status.show(statusOf.connecting(t("status.connecting")));
      } else if (loop.state === "listening") {
        if (lastFailure !== undefined) node.log(t("log.recovered"));
        lastFailure = undefined;
        status.show(statusOf.ok(lastEventText() ?? t("status.listening")));
      } else {
        // The status stays short: the detail in brackets goes to the log and the Catch node only.
        const reason = loop.error.kind === "auth" ? t("status.authFailed") : loop.error.message.replace(/\s*\(.*\)$/, "");
        const seconds = Math.max(1, Math.round(loop.retryInMs / 1000));
        status.show(statusOf.failing(t("status.retrying", { reason, seconds })));
        // One error per failure streak (or change of reason): a Catch node hears it, the log is not flooded.
        if (loop.error.message !== lastFailure) {
          lastFailure = loop.error.message;
          const message = t("error.pollFailed", { reason: loop.error.message });
          node.error(message, { topic: extensions.join(","), payload: { error: loop.error.message, kind: loop.error.kind } });
        }
      }
    };

    const showLastEvent = (): NodeStatus => statusOf.ok(lastEventText() ?? t("status.listening"));

    hub.register(node.id, {
      extensions,
      timeoutSec: rawTimeout,
      onStatus,
      onEvent: (event) => {
        node.send(toMessage(event));
        lastEvent = { extension: event.extension, status: event.data.status };
        status.show(showLastEvent);
      },
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      status.clear();
      hub
        .deregister(node.id)
        .catch((err: unknown) => node.warn(String(err)))
        .finally(() => done());
    });
  }

  RED.nodes.registerType("noojee-subscribe", NoojeeSubscribe);
};
