/**
 * noojee-answer: answers a ringing call leg by its uniqueCallId. Bad input sends no request and goes to Catch.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { settingText } from "./lib/input/msg-input";
import { isValidAnswerString, resolveAnswerInput } from "./lib/input/answer-input";
import { DIALABLE_EXTENSION } from "./lib/input/extensions";
import type { NoojeeConfigNode } from "./node-types";
import { RequestRunner } from "./request-node";
import { statusOf } from "./status";

interface AnswerDef extends NodeDef {
  server: string;
  extension?: string;
  answerString?: string;
}

export = function (RED: NodeAPI): void {
  function NoojeeAnswer(this: Node, config: AnswerDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>): string => RED._(`noojee-answer.${key}`, values);
    const extension = settingText(config.extension);
    const answerString = config.answerString ?? "";

    let problem: string | undefined;
    const server = RED.nodes.getNode(config.server) as NoojeeConfigNode | null;
    if (extension !== "" && !DIALABLE_EXTENSION.test(extension)) problem = t("error.badExtension", { value: extension });
    else if (!isValidAnswerString(answerString)) problem = t("error.badAnswerString");
    else if (!server) problem = t("error.noServer");
    if (problem) {
      node.status(statusOf.failing(t("status.notConfigured")));
      node.error(problem);
    }

    const runner = server ? new RequestRunner(node, server, t) : undefined;
    if (!problem) runner?.showReady();

    node.on("input", (msg: NodeMessage, send, done) => {
      if (problem || !runner) return done(new Error(problem ?? t("error.noServer")));
      const input = resolveAnswerInput(msg as unknown as Record<string, unknown>, extension);
      if (!input.ok) {
        const message = t(`error.${input.problem}`, { value: input.value ?? "" });
        runner.failed(message); // the status says why, in short
        return done(new Error(message));
      }
      runner.run(msg, send, done, { busy: t("status.answering"), ok: t("status.answered"), okAt: (time) => t("status.answeredAt", { time }) }, (client, signal) =>
        client.answer(input.uniqueCallId, input.extension, answerString, signal),
      );
    });
  }

  RED.nodes.registerType("noojee-answer", NoojeeAnswer);
};
