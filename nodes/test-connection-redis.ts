/**
 * The Redis half of the config dialog's "Test connection", when Replicas is ticked: which URL and password are tried.
 * The same rules as the API key's (test-connection.ts):
 * - a URL typed in the dialog is tried as typed, with a password typed in the dialog (the user's own input); a typed
 *   `${NAME}` (URL or password) is never read from the environment, unless the URL is the deployed node's own;
 * - the stored password (field left untouched) is sent only to the deployed node's own URL: as typed there, or as
 *   Node-RED resolved its `${NAME}` at deploy time. Another URL gets "retype the password".
 * The URL itself is a text credential, which the editor shows: a password inside it is no secret from an editor user.
 * The answer never carries a password.
 */
import type { NodeAPI } from "node-red";
import { checkRedis, type RedisCheck } from "./lib/redis-check";
import type { NoojeeConfigNode, NoojeeCredentials } from "./node-types";

export type RedisTestResult =
  | RedisCheck
  /**
   * noUrl: nothing to test; envUrl, envPassword: a typed `${NAME}` that is not the deployed node's; otherUrl: the stored
   * password is withheld from another URL; unsetEnv: the deployed setting's variable is not set (reason: its name).
   */
  | { ok: false; status: "noUrl" | "envUrl" | "envPassword" | "otherUrl" }
  | { ok: false; status: "unsetEnv"; reason: string };

/** What the editor sends for a password field the user did not touch. */
const UNCHANGED_PASSWORD = "__PWRD__";
const ENV_REFERENCE = /^\$\{(\S+)\}$/;

export function testRedis(
  RED: NodeAPI,
  body: { redisUrl?: unknown; redisPassword?: unknown },
  deployed: NoojeeConfigNode | null,
  timeoutMs?: number,
): Promise<RedisTestResult> {
  const typedUrl = typeof body.redisUrl === "string" ? body.redisUrl.trim() : "";
  const typedPassword = typeof body.redisPassword === "string" ? body.redisPassword : "";
  if (typedUrl === "") return Promise.resolve({ ok: false, status: "noUrl" });
  // The deployed node's URL as stored (a `${NAME}` left as written) and as Node-RED resolved it at deploy time.
  const stored = deployed ? ((RED.nodes.getCredentials(deployed.id) ?? {}) as NoojeeCredentials) : {};
  const resolved = deployed?.credentials?.redisUrl?.trim() ?? "";
  const ownUrl = deployed !== null && resolved !== "" && (typedUrl === (stored.redisUrl ?? "").trim() || typedUrl === resolved);
  if (ENV_REFERENCE.test(typedUrl) && !ownUrl) return Promise.resolve({ ok: false, status: "envUrl" });
  const url = ownUrl ? resolved : typedUrl;
  const unsetUrl = ENV_REFERENCE.exec(url);
  if (unsetUrl) return Promise.resolve({ ok: false, status: "unsetEnv", reason: unsetUrl[1] });

  let password: string | undefined;
  if (typedPassword === UNCHANGED_PASSWORD) {
    if (!ownUrl) return Promise.resolve({ ok: false, status: "otherUrl" });
    password = deployed?.credentials?.redisPassword || undefined;
    const unset = password === undefined ? null : ENV_REFERENCE.exec(password.trim());
    if (unset) return Promise.resolve({ ok: false, status: "unsetEnv", reason: unset[1] });
  } else if (typedPassword !== "") {
    if (ENV_REFERENCE.test(typedPassword.trim())) return Promise.resolve({ ok: false, status: "envPassword" });
    password = typedPassword;
  }
  return checkRedis(url, password, timeoutMs);
}
