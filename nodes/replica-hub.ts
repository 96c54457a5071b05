/**
 * The config node's hub when Replicas is on (issue 26): two Redis connections (commands, and the standbys' SUBSCRIBE),
 * this replica's name, and a ReplicatedHub (nodes/lib/replicas) over the node's client. The Redis URL and password
 * never reach a log line, a status or a msg: every text from Redis or the hub is masked here.
 */
import * as os from "node:os";
import { Redis } from "ioredis";
import type { SubscribeApi } from "./lib/poll/poll-types";
import type { HubOptions } from "./lib/poll/hub-types";
import { maskRedisUrl } from "./lib/redis-url";
import { ConnectionFailures } from "./lib/replicas/connection-failures";
import { replicaKeys, replicaName } from "./lib/replicas/keys";
import { redactRedis } from "./lib/replicas/redis-errors";
import { ReplicatedHub } from "./lib/replicas/replicated-hub";

/** What the hub needs of the config node's Replicas settings (checked by replica-settings.ts). */
export interface ReplicaLink {
  url: string;
  password: string | undefined;
  keyPrefix: string;
}

export interface ReplicaHubSetup {
  configId: string;
  api: SubscribeApi;
  hub: Omit<HubOptions, "position" | "store">;
  /** The PBX origin and sign-in mode the shared position belongs to. */
  host: string;
  authMode: string;
  maxAgeMs: number;
  unitMs: number;
  warn(message: string): void;
  /** The log line of a failing Redis connection (`url` masked, `reason` whole), from the catalogue. */
  connectionFailedText(url: string, reason: string): string;
}

export function openReplicatedHub(link: ReplicaLink, setup: ReplicaHubSetup): ReplicatedHub {
  const secrets = [link.url, ...(link.password ? [link.password] : [])];
  const redact = (text: string): string => redactRedis(text, secrets);
  const redis = new Redis(link.url, {
    ...(link.password ? { password: link.password } : {}),
    // A command while Redis is down fails at once (the lease judges), rather than waiting in a queue for it.
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    connectTimeout: 5000,
  });
  const listener = redis.duplicate();
  // Without a listener ioredis would print each failure to the console; the lease's status says it failed, and this
  // says why (a commands' failure only says "not reachable"), in the log once per run of the same failure.
  const failures = new ConnectionFailures((detail) => setup.warn(setup.connectionFailedText(maskRedisUrl(link.url), detail)), secrets);
  for (const connection of [redis, listener]) {
    connection.on("error", (err: unknown) => failures.failed(err));
    connection.on("ready", () => failures.ready());
  }
  return new ReplicatedHub({
    api: setup.api, hub: setup.hub, redis, listener,
    keys: replicaKeys(link.keyPrefix, setup.configId),
    name: replicaName(process.env, os.hostname(), process.pid),
    host: setup.host, authMode: setup.authMode, maxAgeMs: setup.maxAgeMs, unitMs: setup.unitMs,
    onWarning: (message) => setup.warn(redact(message)),
    redact,
    cause: () => failures.reason,
    disconnect: () => {
      redis.disconnect();
      listener.disconnect();
    },
  });
}
