/**
 * noojee-dial: click-to-dial. The calling extension rings first; when it picks up, the PBX calls the number.
 * Bad input sends no request and goes to Catch.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { settingText } from "./lib/input/msg-input";
import { checkDialSettings, DEFAULT_TECH, DialSettings, resolveDialInput } from "./lib/input/dial-input";
import type { NoojeeConfigNode } from "./node-types";
import { RequestRunner } from "./request-node";
import { statusOf } from "./status";

interface DialDef extends NodeDef {
  server: string;
  number?: string;
  extension?: string;
  tech?: string;
  autoAnswer?: string;
  callerId?: string;
  phoneCaption?: string;
  tag?: string;
  monitored?: boolean;
  record?: boolean;
}

export = function (RED: NodeAPI): void {
  function NoojeeDial(this: Node, config: DialDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-dial.${key}`, values);
    const settings: DialSettings = {
      number: settingText(config.number),
      extension: settingText(config.extension),
      tech: settingText(config.tech) || DEFAULT_TECH,
      autoAnswer: config.autoAnswer ?? "",
      callerId: settingText(config.callerId),
      phoneCaption: settingText(config.phoneCaption),
      tag: settingText(config.tag),
      // Monitored unless explicitly turned off: the call's events then reach subscribe nodes.
      monitored: config.monitored !== false,
      record: config.record === true,
    };

    let problem: string | undefined;
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    const bad = checkDialSettings(settings);
    if (bad) problem = t(`error.${bad.problem}`, { value: bad.value ?? "" });
    else if (!server) problem = t("error.noServer");
    if (problem) {
      node.status(statusOf.failing(t("status.notConfigured")));
      node.error(problem);
    }
    const runner = server ? new RequestRunner(node, server, t) : undefined;
    if (!problem) runner?.showReady();

    node.on("input", (msg: NodeMessage, send, done) => {
      if (problem || !runner) return done(new Error(problem ?? t("error.noServer")));
      let country: string | undefined;
      try {
        country = server?.connection().country;
      } catch {
        country = undefined; // the runner reports the misconfiguration
      }
      const input = resolveDialInput(msg as unknown as Record<string, unknown>, settings, country);
      if (!input.ok) {
        const message = t(`error.${input.problem}`, { value: input.value ?? "" });
        runner.failed(message); // the status says why, in short
        return done(new Error(message));
      }
      runner.run(msg, send, done, { busy: t("status.dialing"), ok: t("status.dialed"), okAt: (time) => t("status.dialedAt", { time }) }, (client, signal) =>
        client.dial(input.params, signal),
      );
    });
  }

  RED.nodes.registerType("noojee-dial", NoojeeDial);
};
