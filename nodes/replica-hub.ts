/**
 * The config node's hub when Replicas is on (issue 26): two Redis connections (commands, and the standbys' SUBSCRIBE),
 * this replica's name, and a ReplicatedHub (nodes/lib/replicas) over the node's client. The Redis URL and password
 * never reach a log line, a status or a msg: every text from Redis or the hub is masked here.
 */
import * as os from "node:os";
import { Redis } from "ioredis";
import type { SubscribeApi } from "./lib/poll/poll-types";
import type { HubOptions } from "./lib/poll/hub-types";
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
  // Every failure shows in the lease's status; without a listener ioredis would print each to the console.
  for (const connection of [redis, listener]) connection.on("error", () => undefined);
  return new ReplicatedHub({
    api: setup.api, hub: setup.hub, redis, listener,
    keys: replicaKeys(link.keyPrefix, setup.configId),
    name: replicaName(process.env, os.hostname(), process.pid),
    host: setup.host, authMode: setup.authMode, maxAgeMs: setup.maxAgeMs, unitMs: setup.unitMs,
    onWarning: (message) => setup.warn(redact(message)),
    redact,
    disconnect: () => {
      redis.disconnect();
      listener.disconnect();
    },
  });
}
