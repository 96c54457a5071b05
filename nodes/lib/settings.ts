/** Runtime settings our nodes read from Node-RED's settings.js. */

/** Default least wait after the PBX refuses the key, and the lowest value settings.js may set. */
const AUTH_RETRY_MS = 60_000;
const MIN_AUTH_RETRY_MS = 1000;

/**
 * settings.js `noojeeConfigAuthRetryMs`: the least wait after the PBX refuses the key. Only for test set-ups (the soak
 * test injects short key rejections); absent, invalid or below 1 s it is 60 s / 1 s.
 */
export function authRetryMs(settings: unknown): number {
  const value = (settings as Record<string, unknown> | undefined)?.noojeeConfigAuthRetryMs;
  if (typeof value !== "number" || !Number.isFinite(value)) return AUTH_RETRY_MS;
  return Math.max(MIN_AUTH_RETRY_MS, Math.round(value));
}

/**
 * settings.js `noojeeTimeOutUnitMs`: the length of one second of the subscribe timeOut, for test set-ups only (with
 * the fake PBX's timeOutUnitMs, so that a reverse proxy's idle limit of "60 s" takes 600 ms). Absent or invalid: 1000.
 */
export function timeOutUnitMs(settings: unknown): number {
  const value = (settings as Record<string, unknown> | undefined)?.noojeeTimeOutUnitMs;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1) return 1000;
  return Math.round(value);
}

/**
 * settings.js `noojeePhonebookPollMs`: how often the config node checks its phonebook file and context variable for
 * a change. Default 2000; at least 10 (tests use a short one).
 */
export function phonebookPollMs(settings: unknown): number {
  const value = (settings as Record<string, unknown> | undefined)?.noojeePhonebookPollMs;
  if (typeof value !== "number" || !Number.isFinite(value)) return 2000;
  return Math.max(10, Math.round(value));
}
