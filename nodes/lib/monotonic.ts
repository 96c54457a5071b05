/**
 * The clock every interval is measured on (throttles, timeouts, expiries, durations). Unlike Date.now() it never
 * steps: an NTP correction, a resumed VM or a Raspberry Pi without a real-time clock setting the time back an hour
 * must not freeze a throttle or an expiry for that hour. Its values mean nothing outside this process: a time stored
 * for another process, or shown to a user, stays on the wall clock (Date.now()).
 */
export const monotonicNow = (): number => performance.now();
