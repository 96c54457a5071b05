/**
 * noojee-answer: answers a ringing call leg by its uniqueCallId. Bad input sends no request and goes to Catch.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { isValidAnswerString, resolveAnswerInput } from "./lib/answer-input";
import { DIALABLE_EXTENSION } from "./lib/extensions";
import { isNoojeeError } from "./lib/errors";
import type { NoojeeConfigNode } from "./node-types";
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
    const extension = (config.extension ?? "").trim();
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

    const inFlight = new Set<AbortController>();

    node.on("input", (msg: NodeMessage, send, done) => {
      if (problem || !server) return done(new Error(problem ?? t("error.noServer")));
      const input = resolveAnswerInput(msg as unknown as Record<string, unknown>, extension);
      if (!input.ok) {
        node.status(statusOf.failing(t("status.failed")));
        return done(new Error(t(`error.${input.problem}`, { value: input.value ?? "" })));
      }
      let client;
      try {
        client = server.connection().client;
      } catch (err) {
        node.status(statusOf.failing(t("status.notConfigured")));
        return done(err as Error);
      }
      const controller = new AbortController();
      inFlight.add(controller);
      node.status(statusOf.busy(t("status.answering")));
      client
        .answer(input.uniqueCallId, input.extension, answerString, controller.signal)
        .then((envelope) => {
          msg.payload = envelope;
          node.status(statusOf.ok(t("status.answered")));
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          if (controller.signal.aborted) return done();
          const message =
            isNoojeeError(err) && (err.kind === "api" || err.kind === "auth")
              ? t("error.rejected", { message: err.detail ?? err.message, code: err.code ?? "" })
              : t("error.requestFailed", { reason: isNoojeeError(err) ? err.message : client.redact(String(err)) });
          node.status(statusOf.failing(`${t("status.failed")}: ${isNoojeeError(err) ? err.message : ""}`));
          done(new Error(message));
        })
        .finally(() => inFlight.delete(controller));
    });

    node.on("close", () => {
      for (const controller of inFlight) controller.abort();
      inFlight.clear();
    });
  }

  RED.nodes.registerType("noojee-answer", NoojeeAnswer);
};
