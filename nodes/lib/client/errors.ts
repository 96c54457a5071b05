/**
 * Failures of the Noojee API reduced to a short, key-free reason.
 * axios errors carry the request URL (and so the API key): they never leave the client as they are.
 */
export type FailureKind =
  | "aborted" // we cancelled the request ourselves
  | "timeout" // no answer within the client-side limit
  | "network" // refused, reset, DNS, TLS
  | "http" // an HTTP status other than 2xx
  | "badBody" // empty, HTML or malformed JSON
  | "auth" // the PBX rejected the key
  | "api"; // a negative Code envelope

export class NoojeeError extends Error {
  readonly kind: FailureKind;
  /** The envelope's Code for `api`/`auth` failures. */
  readonly code: number | undefined;
  /** The HTTP status, when there was one. */
  readonly httpStatus: number | undefined;
  /** The PBX's own Message for `api`/`auth` failures, redacted. */
  readonly detail: string | undefined;
  /** A `badBody` answer longer than the client reads: the same request would only fail the same way again. */
  readonly tooLarge: boolean;
  /** A status-sized reason, when the message is too long for one (TLS failures, with their remedy). */
  readonly short: string | undefined;

  constructor(
    kind: FailureKind,
    message: string,
    details: { code?: number; httpStatus?: number; detail?: string; tooLarge?: boolean; short?: string } = {},
  ) {
    super(message);
    this.name = "NoojeeError";
    this.kind = kind;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
    this.detail = details.detail;
    this.tooLarge = details.tooLarge === true;
    this.short = details.short;
  }
}

export function isNoojeeError(err: unknown): err is NoojeeError {
  return err instanceof NoojeeError;
}

const SECRET_PARAMS = /([?&](?:apiKey|hash|timeStamp)=)[^&#\s"']*/gi;

/** Removes secrets from any text that might hold a URL or the key itself. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(SECRET_PARAMS, "$1***");
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.split(form).join("***");
    }
  }
  return out;
}
