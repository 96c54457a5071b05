/**
 * "Test connection" for the config node's dialog: one current-state read (timeOut=0) against the PBX.
 * Knows nothing of Node-RED; the result never carries the key.
 */
import { AuthMode, NoojeeClient } from "./api-client";
import { isNoojeeError } from "./errors";
import { InvalidHostError, parseHost } from "./host";

export type ConnectionCheck =
  | { ok: true; status: "connected" }
  | { ok: false; status: "authFailed" | "unreachable" | "refused" | "invalidHost" | "noKey"; reason?: string };

/** Extension asked for: any will do, the read only proves that the host answers and accepts the key. */
const PROBE_EXTENSION = "0";

/** The invalidHost answer for a Host field value that cannot be used, else undefined. */
export function hostProblem(host: string): ConnectionCheck | undefined {
  try {
    parseHost(host);
    return undefined;
  } catch (err) {
    return { ok: false, status: "invalidHost", reason: err instanceof InvalidHostError ? err.reason : String(err) };
  }
}

export async function checkConnection(
  host: string,
  apiKey: string,
  verifyTls: boolean,
  authMode: AuthMode = "apiKey",
): Promise<ConnectionCheck> {
  const problem = hostProblem(host);
  if (problem) return problem;
  const origin = parseHost(host);
  if (!apiKey) return { ok: false, status: "noKey" };
  const client = new NoojeeClient({ origin, apiKey, verifyTls, authMode });
  try {
    await client.subscribe([PROBE_EXTENSION], 0, 0);
    return { ok: true, status: "connected" };
  } catch (err) {
    if (!isNoojeeError(err)) return { ok: false, status: "unreachable", reason: client.redact(String(err)) };
    if (err.kind === "auth") return { ok: false, status: "authFailed", reason: err.message };
    // The PBX answered, but with an error envelope: reachable, yet not usable as configured.
    if (err.kind === "api") return { ok: false, status: "refused", reason: err.message };
    return { ok: false, status: "unreachable", reason: err.message };
  } finally {
    client.close();
  }
}
