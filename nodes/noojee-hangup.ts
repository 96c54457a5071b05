/**
 * noojee-hangup: ends a call leg by its uniqueCallId, or whatever call an extension has.
 * Bad input sends no request and goes to Catch.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { settingText } from "./lib/input/msg-input";
import { checkTargetSettings, resolveTarget, TargetBy } from "./lib/input/call-target";
import type { NoojeeConfigNode } from "./node-types";
import { PROPERTY_DEFAULTS } from "./property-defaults";
import { RequestRunner } from "./request-node";
import { statusOf } from "./status";

interface HangupDef extends NodeDef {
  server: string;
  by?: string;
  extension?: string;
}

export = function (RED: NodeAPI): void {
  function NoojeeHangup(this: Node, config: HangupDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-hangup.${key}`, values);
    const by = config.by ?? PROPERTY_DEFAULTS["noojee-hangup"].by;
    const extension = settingText(config.extension);

    let problem: string | undefined;
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    const bad = checkTargetSettings(by, extension);
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
      const input = resolveTarget(msg as unknown as Record<string, unknown>, by as TargetBy, extension);
      if (!input.ok) {
        const message = t(`error.${input.problem}`, { value: input.value ?? "" });
        runner.failed(message); // the status says why, in short
        return done(new Error(message));
      }
      runner.run(msg, send, done, { busy: t("status.hangingUp"), ok: t("status.hungUp"), okAt: (time) => t("status.hungUpAt", { time }) }, (client, signal) =>
        client.hangup(input.target, signal),
      );
    });
  }

  RED.nodes.registerType("noojee-hangup", NoojeeHangup);
};
