/**
 * Why a replica's Redis connections fail. ioredis tells it only to its `error` event: a command meanwhile fails with
 * its retry limit, shown as "Redis not reachable". A TLS failure (a certificate the replica cannot verify) will not
 * pass by itself, so its short reason replaces that in the status. Every failure is logged once per run: not again at
 * each reconnection try, but again after a connection was ready, or when it fails otherwise. Knows nothing of Node-RED.
 */
import { failureDetail, tlsReason } from "./redis-errors";

export class ConnectionFailures {
  /** The failures logged since a connection was last ready. */
  private readonly logged = new Set<string>();
  private tls: string | undefined;

  /** `onFailure`: the failure whole (masked with `secrets`), for a log line. */
  constructor(
    private readonly onFailure: (detail: string) => void,
    private readonly secrets: readonly string[] = [],
  ) {}

  /** An `error` event of a connection. */
  failed(err: unknown): void {
    this.tls = tlsReason(err);
    const detail = failureDetail(err, this.secrets);
    if (this.logged.has(detail)) return;
    this.logged.add(detail);
    this.onFailure(detail);
  }

  /** A connection is ready: the run of failures is over. */
  ready(): void {
    this.logged.clear();
    this.tls = undefined;
  }

  /** The status's reason while the connection fails on TLS; undefined otherwise. */
  get reason(): string | undefined {
    return this.tls;
  }
}
