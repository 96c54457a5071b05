/** Types shared by the node files: the config node as the other nodes see it. */
import type { Node, NodeDef } from "node-red";
import type { AuthMode, NoojeeClient } from "./lib/client/api-client";
import type { CallerInfo } from "./lib/numbers/caller-info";
import type { PositionWriter } from "./lib/poll/position-writer";
import type { PollHub } from "./lib/poll/hub-types";

export interface NoojeeConfigDef extends NodeDef {
  host: string;
  verifyTls: boolean;
  /** "apiKey" (default) or "timestamp" for PBX releases before 4.9.0.10. */
  authMode?: string;
  /** Carry on from the saved position after a Node-RED restart; missing (flows saved before it existed) means on. */
  resumeAfterRestart?: boolean;
  /** Where the position is kept: "" or missing for the resume file in the user directory, else a context store's name. */
  resumeStore?: string;
  /** Minutes a saved position stays usable; default 60. */
  resumeMaxAge?: number | string;
  /** ISO 3166 alpha-2 (`AU`) for reading caller IDs; "" or missing: numbers are left as they are. */
  country?: string;
  /** The phonebook's context variable (may start with `#:(store)::`), in `phonebookContextType` context; "" = none. */
  phonebookContext?: string;
  phonebookContextType?: string;
  /** A JSON or CSV phonebook file; "" = none. */
  phonebookFile?: string;
  /** Coordinate replicas of these flows through Redis (one poller); missing (flows saved before it existed) means off. */
  replicas?: boolean;
  /** The start of this node's Redis keys (`<prefix>:<configId>:...`); "" or missing: "noojee". */
  redisKeyPrefix?: string;
}

export interface NoojeeCredentials {
  apiKey?: string;
  /** `redis://` or `rediss://` URL of the Redis replicas coordinate through; may be `${REDIS_URL}`. */
  redisUrl?: string;
  /** Overrides a password in the URL; optional. */
  redisPassword?: string;
}

/** What other nodes use from a config node. */
export interface NoojeeConnection {
  client: NoojeeClient;
  hub: PollHub;
  /** Where the hub's position is saved, when resuming after a restart is on. */
  resume?: PositionWriter;
  /**
   * Who is calling: E.164 form and kind (with a country set) and the phonebook's name and record for a caller ID.
   * `extension`: the PBX extension the caller ID was seen on (so that calls between extensions read as such).
   */
  callerInfo(callerId: unknown, extension?: string): CallerInfo;
  /** The configured country ("" for none), for the dial node. */
  country: string;
  /** What the statuses of subscribe and presence add while the phonebook file gives no names (not found, unreadable). */
  phonebookNote: PhonebookNote;
}

export interface PhonebookNote {
  current(): string | undefined;
  /** Calls `listener` now and at each change; returns how to stop. */
  watch(listener: (note: string | undefined) => void): () => void;
}

export interface NoojeeConfigNode extends Node<NoojeeCredentials> {
  host: string;
  verifyTls: boolean;
  authMode: AuthMode;
  /** The shared connection; throws an Error with a user-facing message when the node is misconfigured. */
  connection(): NoojeeConnection;
  /** What is wrong with the host or key (the message connection() would throw), without connecting; else undefined. */
  problem(): string | undefined;
}

