/**
 * The holder the full-deploy tests drive (replica-deploy-resend, replica-restart-deploy): one ReplicatedHub as replica
 * "alpha" on a real redis-server, polling the fake PBX through request gates, with short timings (a 1.5 s lease) and a
 * flow that records what it gets. `deploy()` is a full deploy: the subscribe node and the config node close (the
 * lease is handed back), then start again.
 */
import type { Redis } from "ioredis";
import { HoldLimit } from "../../nodes/lib/poll/hold-limit";
import type { Subscriber } from "../../nodes/lib/poll/hub-types";
import type { CallEvent, SubscribeApi } from "../../nodes/lib/poll/poll-types";
import { type ReplicaKeys, replicaKeys } from "../../nodes/lib/replicas/keys";
import { ReplicatedHub } from "../../nodes/lib/replicas/replicated-hub";
import type { FakePbx } from "../fake-pbx";
import type { RedisServer } from "../harness/redis-server";
import { Gates } from "../unit/request-gates";
import { redisClient } from "./replica-support";

export const UNIT = 100;

export interface DeployHolder {
  gates: Gates;
  hub: ReplicatedHub;
  redis: Redis;
  keys: ReplicaKeys;
  flow: Subscriber;
  /** The statuses the flow got for one call, in order. */
  statuses(callId: string): string[];
  deploy(): Promise<void>;
}

export function deployHolder(options: {
  server: RedisServer;
  pbx: FakePbx;
  /** Pushed to: what to close after the test, in reverse. */
  closing: Array<() => Promise<void> | void>;
  prefix: string;
  /** The position writer's throttle (the product's default is 300 ms). */
  writeEveryMs: number;
  /** Wraps the gated API (to hold an answer after the PBX gave it). */
  api?: (gated: SubscribeApi) => SubscribeApi;
}): DeployHolder {
  const gates = new Gates(options.pbx, UNIT);
  const redis = redisClient(options.server.url);
  const listener = redisClient(options.server.url);
  const keys = replicaKeys(options.prefix, "cfg");
  const hub = new ReplicatedHub({
    api: options.api ? options.api(gates.api) : gates.api, redis, listener, keys, name: "alpha", host: options.pbx.url, authMode: "apiKey",
    maxAgeMs: 3_600_000, ttlMs: 1500, marginMs: 300, pollSlackMs: 200, mirrorEveryMs: 300,
    hub: { holdLimit: new HoldLimit({ unitMs: UNIT }), random: () => 0, idleGapMs: 50, earlyReadMs: 200 },
    writer: { minIntervalMs: options.writeEveryMs },
  });
  options.closing.push(() => gates.client.close(), () => redis.disconnect(), () => listener.disconnect(), () => hub.close());
  const events: CallEvent[] = [];
  const flow: Subscriber = { extensions: ["410"], timeoutSec: 30, onEvent: (e) => events.push(e), onStatus: () => undefined };
  return {
    gates, hub, redis, keys, flow,
    statuses: (id) => events.filter((e) => e.data.uniqueCallId === id).map((e) => e.data.status),
    deploy: async () => {
      await hub.deregister("sub");
      await hub.standDown();
      hub.register("sub", flow);
      hub.releaseLingering();
    },
  };
}
