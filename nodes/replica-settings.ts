/**
 * The config node's Replicas settings as the runtime uses them: whether replicas coordinate through Redis, the
 * Redis URL and password (credentials) and the key prefix, checked and turned into what a Redis client needs, or a
 * clear Error that never holds a password.
 *
 * The URL rules are in lib/redis-url.ts; the editor (noojee-config.html) checks the same ones, and
 * test/unit/editor-files.test.ts keeps the two in step.
 */
import { PROPERTY_DEFAULTS } from "./property-defaults";
import { KEY_PREFIX, maskRedisUrl, parseRedisUrl } from "./lib/redis-url";

// For the connection's Redis client and its messages.
export { maskRedisUrl, redactRedisText, replicaKeys } from "./lib/redis-url";

type Translate = (key: string, values?: Record<string, string | number>) => string;

export interface ReplicaSettings {
  /** The Redis URL as configured (environment reference resolved), for the client. */
  url: string;
  /** The password to sign in with: the Password field's, else the URL's; undefined for none. */
  password: string | undefined;
  keyPrefix: string;
  /** The URL fit to show: its password (or a user-info without one) masked. */
  shown: string;
}

/** Node-RED leaves a `${NAME}` credential as it is when no such environment variable is set. */
const UNRESOLVED_ENV = /^\$\{(\S+)\}$/;

/**
 * The Replicas settings of a config node as a Redis client uses them; undefined when replicas are off (the setting
 * missing, as in flows saved before it existed, means off). Throws an Error whose message says what to correct and
 * never holds a password.
 */
export function replicaSettings(
  config: { replicas?: unknown; redisKeyPrefix?: unknown },
  credentials: { redisUrl?: string; redisPassword?: string } | undefined,
  t: Translate,
): ReplicaSettings | undefined {
  if (config.replicas !== true) return undefined;
  const prefixSetting = config.redisKeyPrefix;
  const keyPrefix = prefixSetting === undefined || prefixSetting === "" ? PROPERTY_DEFAULTS["noojee-config"].redisKeyPrefix : prefixSetting;
  if (typeof keyPrefix !== "string" || !KEY_PREFIX.test(keyPrefix)) {
    throw new Error(t("noojee-config.error.invalidKeyPrefix", { prefix: String(keyPrefix).slice(0, 80) }));
  }
  const url = (credentials?.redisUrl ?? "").trim();
  if (url === "") throw new Error(t("noojee-config.error.noRedisUrl"));
  const unsetUrl = UNRESOLVED_ENV.exec(url);
  if (unsetUrl) throw new Error(t("noojee-config.error.unsetRedisUrlEnv", { name: unsetUrl[1] }));
  const shown = maskRedisUrl(url);
  const parsed = parseRedisUrl(url);
  if (typeof parsed === "string") {
    throw new Error(t("noojee-config.error.invalidRedisUrl", { url: shown, reason: t(`noojee-config.validation.redisReason.${parsed}`) }));
  }
  const typedPassword = credentials?.redisPassword ?? "";
  const unsetPassword = UNRESOLVED_ENV.exec(typedPassword.trim());
  if (unsetPassword) {
    throw new Error(t("noojee-config.error.unsetRedisPasswordEnv", { name: unsetPassword[1] }));
  }
  // The Password field, when filled, overrides a password in the URL.
  const password = typedPassword !== "" ? typedPassword : parsed.password !== "" ? parsed.password : undefined;
  return { url, password, keyPrefix, shown };
}
