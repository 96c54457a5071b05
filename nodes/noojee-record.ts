/**
 * noojee-record: starts or stops recording a call leg (by uniqueCallId) or an extension's call.
 * Bad input sends no request and goes to Catch.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { settingText } from "./lib/input/msg-input";
import { checkRecordSettings, RecordSettings, resolveRecordInput } from "./lib/input/record-input";
import type { NoojeeConfigNode } from "./node-types";
import { PROPERTY_DEFAULTS } from "./property-defaults";
import { RequestRunner } from "./request-node";
import { statusOf } from "./status";

interface RecordDef extends NodeDef {
  server: string;
  action?: string;
  by?: string;
  extension?: string;
  tag?: string;
  agentLoginName?: string;
}

export = function (RED: NodeAPI): void {
  function NoojeeRecord(this: Node, config: RecordDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-record.${key}`, values);
    const raw = {
      action: config.action ?? PROPERTY_DEFAULTS["noojee-record"].action,
      by: config.by ?? PROPERTY_DEFAULTS["noojee-record"].by,
      extension: settingText(config.extension),
      tag: settingText(config.tag),
      agentLoginName: settingText(config.agentLoginName),
    };

    let problem: string | undefined;
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    const bad = checkRecordSettings(raw);
    if (bad) problem = t(`error.${bad.problem}`, { value: bad.value ?? "" });
    else if (!server) problem = t("error.noServer");
    if (problem) {
      node.status(statusOf.failing(t("status.notConfigured")));
      node.error(problem);
    }
    // Checked above: only used when there is no problem.
    const settings = raw as RecordSettings;
    const runner = server ? new RequestRunner(node, server, t) : undefined;
    if (!problem) runner?.showReady();

    node.on("input", (msg: NodeMessage, send, done) => {
      if (problem || !runner) return done(new Error(problem ?? t("error.noServer")));
      const input = resolveRecordInput(msg as unknown as Record<string, unknown>, settings);
      if (!input.ok) {
        const message = t(`error.${input.problem}`, { value: input.value ?? "" });
        runner.failed(message); // the status says why, in short
        return done(new Error(message));
      }
      if (input.action === "start") {
        runner.run(msg, send, done, { busy: t("status.starting"), ok: t("status.started"), okAt: (time) => t("status.startedAt", { time }) }, (client, signal) =>
          client.startRecording(input.params, signal),
        );
      } else {
        runner.run(msg, send, done, { busy: t("status.stopping"), ok: t("status.stopped"), okAt: (time) => t("status.stoppedAt", { time }) }, (client, signal) =>
          client.stopRecording(input.params, signal),
        );
      }
    });
  }

  RED.nodes.registerType("noojee-record", NoojeeRecord);
};
