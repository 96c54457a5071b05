/**
 * The Lua scripts of the lease and the fenced position. Each runs atomically in Redis: nothing can come between its
 * check of the lease and what it does, which is the whole point (a former holder waking from a pause past its TTL
 * finds the lease gone or someone else's, and changes nothing).
 */

/**
 * KEYS: lease, fence, released. ARGV: name, random, ttl ms, expected. Takes the lease when free, with the next fence
 * value: `{1, token}`; held: `{0, value held, its PTTL}`. `expected` is empty, or the token a standby last saw hold
 * the lease and expects still to (its TTL not yet run out): the key missing then is taken only if that token was
 * released (its holder's polls stopped first); else `{2, ''}`, nothing taken (the key vanished: a DEL, a Redis
 * restarted without its data, and its holder may still have a poll open).
 */
export const ACQUIRE = `
local held = redis.call('GET', KEYS[1])
if held then return {0, held, redis.call('PTTL', KEYS[1])} end
if ARGV[4] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[4] then return {2, ''} end
local fence = redis.call('INCR', KEYS[2])
local token = ARGV[1] .. '|' .. fence .. '|' .. ARGV[2]
redis.call('SET', KEYS[1], token, 'PX', tonumber(ARGV[3]))
return {1, token}
`;

/** KEYS: lease. ARGV: token, ttl ms. 1 when the lease is still this token's (its TTL starts again), else 0. */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
`;

/**
 * KEYS: lease, released. ARGV: token, ttl ms. Frees the lease if it is still this token's, noting the token as
 * released (for a TTL) so that a standby takes it at once: 1, else 0.
 */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
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
