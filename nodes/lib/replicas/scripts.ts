/**
 * The Lua scripts of the lease and the fenced position. Each runs atomically in Redis: nothing can come between its
 * check of the lease and what it does, which is the whole point (a former holder waking from a pause past its TTL
 * finds the lease gone or someone else's, and changes nothing).
 */

/**
 * KEYS: lease, fence, released, term, shadow. ARGV: name, random, ttl ms, expected. Takes the lease when free, with
 * the next fence value, noting its token as the last term and setting the shadow beside it: `{1, token}`; held:
 * `{0, value held, its PTTL}`. A missing key is free:
 * - when it ran out, as both sides see it: the caller's own last look says that holder's TTL is over (`expected`
 *   empty), and Redis agrees (the term is a granted token, so Redis kept its data, and the shadow, set after the
 *   lease with the same TTL, is gone too). Either alone can be wrong: a standby frozen or cut off misses renewals;
 *   Redis can lose the lease and its shadow together (evicted, deleted by a pattern, an older snapshot restored);
 * - when the last term was released (its holder's polls stopped first);
 * - when `term` still holds `expected`, a mark the caller read a TTL ago (no term began since, so every earlier
 *   holder's deadline is over), or the caller's own last term.
 * Otherwise (`?` never matches) the key may have vanished while its holder still has a poll open: nothing is taken,
 * `{2, '', mark}`, with `term` as it is, or a new mark when Redis has none. A mark (`none|<random>`) has one `|`, a
 * granted token (`<name>|<fence>|<random>`) two.
 */
export const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
if held then return {0, held, redis.call('PTTL', KEYS[1])} end
local last = redis.call('GET', KEYS[4])
local granted = last and select(2, string.gsub(last, '|', '')) == 2
local ranOut = granted and redis.call('EXISTS', KEYS[5]) == 0
local free = (ARGV[4] == '' and ranOut) or (last and (last == ARGV[4] or redis.call('GET', KEYS[3]) == last))
if not free then
  if not last then
    last = 'none|' .. ARGV[2]
    redis.call('SET', KEYS[4], last)
  end
  return {2, '', last}
end
local fence = redis.call('INCR', KEYS[2])
local token = ARGV[1] .. '|' .. fence .. '|' .. ARGV[2]
redis.call('SET', KEYS[1], token, 'PX', tonumber(ARGV[3]))
redis.call('SET', KEYS[5], token, 'PX', tonumber(ARGV[3]))
redis.call('SET', KEYS[4], token)
return {1, token}
`;

/**
 * KEYS: lease, shadow. ARGV: token, ttl ms. 1 when the lease is still this token's (its TTL starts again, and its
 * shadow's after it), else 0.
 */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
`;

/**
 * KEYS: lease, released, shadow. ARGV: token, ttl ms. Frees the lease if it is still this token's, noting the
 * token as released (for a TTL) so that a standby takes it at once: 1, else 0.
 */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[3])
  redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
`;

/**
 * KEYS: lease, position, changed (a channel). ARGV: token, position text. Writes the position only while the lease
 * is this token's, then tells the standbys: 1; else 0 (the lease is lost: nothing written).
 */
export const FENCED_WRITE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PUBLISH', KEYS[3], '1')
return 1
`;
