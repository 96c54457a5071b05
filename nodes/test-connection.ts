/**
 * The config dialog's "Test connection" (POST /noojee-config/test): which key is tried, with which settings.
 *
 * A key typed in the dialog is tried as typed, with the dialog's host, Verify TLS and Sign-in: the user is sending
 * their own input. It is never read as an environment variable: `${NAME}` would otherwise hand any editor user the
 * value of any variable of the Node-RED process, at a host of their choice. A `${NAME}` host is only understood as
 * the deployed node's own (the value Node-RED gave it at deploy time).
 *
 * The stored key (key field left untouched) belongs to a deployed noojee-config node and is sent only as that node
 * sends it: to its own host, with its own TLS check and sign-in, and resolved from the environment as Node-RED
 * resolved it at deploy time. When the dialog's host or settings differ from the deployed ones, the stored key is not
 * used and the answer says why (retype the key to test them). The answer never carries the key.
 *
 * With Replicas ticked in the dialog, the answer also says whether Redis answers (`redis`, see test-connection-redis.ts).
 */
import type { NodeAPI } from "node-red";
import type { AuthMode } from "./lib/client/api-client";
import { checkConnection, ConnectionCheck, hostProblem } from "./lib/client/connection-check";
import type { NoojeeConfigNode } from "./node-types";
import { testRedis, type RedisTestResult } from "./test-connection-redis";

export interface TestRequestBody {
  id?: unknown;
  host?: unknown;
  verifyTls?: unknown;
  apiKey?: unknown;
  authMode?: unknown;
  replicas?: unknown;
  redisUrl?: unknown;
  redisPassword?: unknown;
}

export type TestResult =
  | ConnectionCheck
  /**
   * otherHost, otherSettings: the stored key is withheld; envKey, envHost: a typed `${NAME}` that is not the deployed
   * node's; unsetEnv: the stored key's variable is not set (reason: its name).
   */
  | { ok: false; status: "otherHost" | "otherSettings" | "envKey" | "envHost" | "unsetEnv"; reason?: string };

/** What the editor sends for a password field the user did not touch. */
const UNCHANGED_PASSWORD = "__PWRD__";
/** Node-RED's form of an environment reference in a node property (flows/util.js, mapEnvVarProperties). */
const ENV_REFERENCE = /^\$\{(\S+)\}$/;

/** The PBX's answer, and Redis's when the dialog has Replicas ticked. */
export type TestAnswer = TestResult & { redis?: RedisTestResult };

export async function testConnection(RED: NodeAPI, body: TestRequestBody): Promise<TestAnswer> {
  const deployed = deployedNode(RED, body.id);
  if (body.replicas !== true) return testPbx(RED, body, deployed);
  const [pbx, redis] = await Promise.all([testPbx(RED, body, deployed), testRedis(RED, body, deployed)]);
  return { ...pbx, redis };
}

function deployedNode(RED: NodeAPI, id: unknown): NoojeeConfigNode | null {
  const found = typeof id === "string" && id !== "" ? (RED.nodes.getNode(id) as NoojeeConfigNode | null) : null;
  // Any other node's credentials stay where they are, whatever they are called.
  return found && found.type === "noojee-config" ? found : null;
}

async function testPbx(RED: NodeAPI, body: TestRequestBody, deployed: NoojeeConfigNode | null): Promise<TestResult> {
  const dialogHost = typeof body.host === "string" ? body.host.trim() : "";
  const verifyTls = body.verifyTls !== false;
  const authMode: AuthMode = body.authMode === "timestamp" ? "timestamp" : "apiKey";
  const typed = typeof body.apiKey === "string" ? body.apiKey.trim() : "";
  // A `${PBX_HOST}` host is the deployed node's host when it was deployed so; no other variable is read.
  const onDeployedHost = deployed !== null && sameHost(RED, deployed, dialogHost);
  if (ENV_REFERENCE.test(dialogHost) && !onDeployedHost) return { ok: false, status: "envHost" };
  const host = onDeployedHost ? deployed.host : dialogHost;

  if (typed !== "" && typed !== UNCHANGED_PASSWORD) {
    if (ENV_REFERENCE.test(typed)) return { ok: false, status: "envKey" };
    return checkConnection(host, typed, verifyTls, authMode);
  }
  const problem = hostProblem(host);
  if (problem) return problem;
  if (!deployed) return { ok: false, status: "noKey" };
  if (!onDeployedHost) return { ok: false, status: "otherHost" };
  if (deployed.verifyTls !== verifyTls || deployed.authMode !== authMode) return { ok: false, status: "otherSettings" };
  // Node-RED put the environment variable's value in at deploy time, for this node's flow; left as it is, it is unset.
  const apiKey = deployed.credentials?.apiKey?.trim() ?? "";
  const unset = ENV_REFERENCE.exec(apiKey);
  if (unset) return { ok: false, status: "unsetEnv", reason: unset[1] };
  return checkConnection(deployed.host, apiKey, deployed.verifyTls, deployed.authMode);
}

/**
 * Whether the dialog's Host is the deployed node's. The dialog holds the field as typed (`${PBX_HOST}` stays so),
 * the node its value once Node-RED resolved it: the typed form is compared with the deployed flow's (unresolved),
 * and a value typed in full with the resolved host.
 */
function sameHost(RED: NodeAPI, deployed: NoojeeConfigNode, host: string): boolean {
  if (host === (deployed.host ?? "").trim()) return true;
  let raw: unknown;
  RED.nodes.eachNode((def) => {
    if (def.id === deployed.id) raw = (def as { host?: unknown }).host;
  });
  return typeof raw === "string" && raw.trim() === host;
}
