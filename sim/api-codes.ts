/** The negative `Code`s of the API's error envelopes, and the two envelopes the sign-in answers with. */

export const CODE_EXPIRED = -1;
export const CODE_BAD_PARAM = -2;
export const CODE_BAD_KEY = -3;
export const CODE_NOT_FOUND = -4;
export const CODE_REFUSED = -5;

/** The envelope a wrong key gets. */
export const BAD_KEY_ENVELOPE = { Message: "Invalid API Key", Code: CODE_BAD_KEY } as const;
/** The envelope a stale timeStamp/hash pair gets (the vendor's own example of an error envelope). */
export const EXPIRED_ENVELOPE = { Message: "Expired TimeStamp", Code: CODE_EXPIRED } as const;
