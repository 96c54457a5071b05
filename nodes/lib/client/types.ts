/** Shapes of the Noojee Call Management API, as documented by the vendor. */

/** One call leg's state as the PBX reports it. Unknown future fields are kept as they are. */
export interface CallData {
  status: string;
  callerId?: string;
  uniqueCallId: string;
  hangupCause?: string;
  canAnswer?: boolean;
  inbound?: boolean;
  isQueueCall?: boolean;
  isClickToDialCall?: boolean;
  callStartTime?: string;
  [field: string]: unknown;
}

/** One element of the per-extension arrays in a subscribe response. */
export interface SubscribeEntry {
  CallData: CallData;
  CallID?: number;
  Code?: number;
}

/** The JSON envelope every API method answers with. */
export interface Envelope {
  Code: number;
  Message?: string;
  [field: string]: unknown;
}

/**
 * A successful subscribe response, as the client hands it on (nodes/lib/client/answer-shape.ts): `seq` and `Code` are
 * numbers even when the PBX sent strings, and so are entries' integer-string `CallID` and `Code` (other odd entry
 * fields are left as sent). `Data` may be empty, null or missing on an idle timeout (an empty array becomes `{}`).
 */
export interface SubscribeResponse extends Envelope {
  Data?: Record<string, SubscribeEntry[]> | null;
  seq: number;
}
