"""The Lua scripts of `RedisSessionStore`: each store operation that must be atomic is one script.

Key layout, all under the store's prefix:

    s:<session_id>      hash: the session (times as decimal strings, token hashes, counters,
                        and `gen`, the generation it was created in)
    t:<access_hash>     session id of the current access token
    r:<refresh_hash>    session id of the current refresh token
    ru:<refresh_hash>   session id of an already-rotated refresh token (reuse detection),
                        kept until the session's absolute end
    a                   sorted set of every session id, scored by creation time (listing)
    u:<user_id>         sorted set of the user's session ids, scored by creation time
    e                   sorted set of "<session_id>|<user_id>" (session ids are UUIDs, without
                        "|"), scored by the session's end (its earliest expiry), for `sweep`
    lf:<key>            hash {failures, window_ends_at}: a login-failure counter
    lk:<key>            the lock-out end of a login-failure key
    epoch               the config epoch (missing means "")
    gen                 the store's current generation (sessions/generation.py); a session
                        of another generation is dead, whatever else Redis holds of it
    w:<name>            a watched name's current value (see SessionStore.begin_change):
                        "pending:..." while a change is being committed, else a random
                        token that changes with every committed change

Every per-session key carries a PEXPIREAT at the session's end, so Redis drops it even if no node
ever sweeps; the indexes expire with the last session they list. Times stay decimal strings in
Redis and in replies: a Lua number returned to a client is truncated to an integer.

The scripts that accept a token (CREATE, AUTHENTICATE, FIND, ROTATE) are *guarded*: their last
key is `gen` and their last argument the caller's generation. A caller whose generation is not
Redis's gets the error `GENERATION <current>` (or `GENERATION none`) and nothing else happens;
it settles the generation with the database and runs the script again.

The scripts build key names from the prefix they are given, which a Redis Cluster forbids; the
store runs on a single instance or a Sentinel-managed primary. Scripts use PEXPIREAT ... NX/GT
and SET ... PXAT, so Redis 7.0 or newer.
"""

from __future__ import annotations

from dataclasses import fields

from strongroom.sessions.store import SessionInfo

# The fields a script returns, in SessionInfo's order, so a reply maps onto SessionInfo(*reply).
INFO_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SessionInfo))
# What the checks need beyond that; never returned (the token hashes stay in Redis).
_EXTRA_FIELDS = ("access_hash", "refresh_hash", "scheduled_until", "gen")
# The generation of the sessions an older strongroom created, before sessions carried one.
LEGACY_GENERATION = "1"
# How far beyond a session's end its keys may live, so that a session in use does not move
# its keys' expiry on every request (authenticate checks the exact times anyway).
SCHEDULE_SLACK_SECONDS = 60


def _lua_list(names: tuple[str, ...]) -> str:
    return "{" + ", ".join(f"'{name}'" for name in names) + "}"


def _lua_positions(names: tuple[str, ...]) -> str:
    # A table literal: the prelude runs on every call, and a loop filling it cost ~4 µs.
    return "{" + ", ".join(f"{name} = {index}" for index, name in enumerate(names, 1)) + "}"


_PRELUDE = f"""
local FIELDS = {_lua_list(INFO_FIELDS + _EXTRA_FIELDS)}
local NINFO = {len(INFO_FIELDS)}
local SLACK = {SCHEDULE_SLACK_SECONDS}
local F = {_lua_positions(INFO_FIELDS + _EXTRA_FIELDS)}
-- The caller's generation, in a guarded script (see the module docstring).
local GEN = ARGV[#ARGV]

local function ms(t) return math.ceil(tonumber(t) * 1000) end

local function num(h, name)
  local v = h[F[name]]
  if v then return tonumber(v) end
  return nil
end

-- A session of the caller's generation, or nil (unknown, or of a generation that ended).
local function load(prefix, sid)
  local h = redis.call('HMGET', prefix .. 's:' .. sid, unpack(FIELDS))
  if not h[F.id] or (h[F.gen] or '{LEGACY_GENERATION}') ~= GEN then return nil end
  return h
end

-- The check every guarded script makes first: an error naming Redis's generation when the
-- caller's is another, else nil.
local function wrong_generation()
  local current = redis.call('GET', KEYS[#KEYS])
  if current ~= GEN then
    return redis.error_reply('GENERATION ' .. (current or 'none'))
  end
  return nil
end

local function info(h)
  local out = {{}}
  for i = 1, NINFO do out[i] = h[i] end
  return out
end

-- Dead by absolute lifetime, idle timeout or the expiry of the token named by `field`.
local function expired(h, now, field)
  local at = num(h, field)
  if not at or at <= now or num(h, 'max_expires_at') <= now then return true end
  local idle = num(h, 'idle_timeout')
  return idle ~= nil and num(h, 'last_used_at') + idle <= now
end

local function ip_mismatch(h, client_ip)
  local bound = h[F.bound_ip]
  return bound and (client_ip == '' or bound ~= client_ip)
end

local function exhausted(h)
  local max_uses = num(h, 'max_uses')
  return max_uses ~= nil and num(h, 'uses') >= max_uses
end

-- The earliest moment at which the session is dead.
local function ends_at(h)
  local e = num(h, 'access_expires_at')
  local r = num(h, 'refresh_expires_at')
  if r and r > e then e = r end
  local m = num(h, 'max_expires_at')
  if m < e then e = m end
  local idle = num(h, 'idle_timeout')
  if idle then
    local i = num(h, 'last_used_at') + idle
    if i < e then e = i end
  end
  return e
end

-- Let an index live at least until `at` (NX: it had no expiry; GT: a later one).
local function extend(key, at)
  if redis.call('PEXPIREAT', key, at, 'GT') == 0 then
    redis.call('PEXPIREAT', key, at, 'NX')
  end
end

-- Set every key of the session to expire with it (plus some slack) and record its end for
-- the sweeper. A session in use moves its idle end on every request; its keys only move when
-- that end passes what they were set to, at most once per slack period.
local function schedule(prefix, sid, h, force)
  local e = ends_at(h)
  local until_ = num(h, 'scheduled_until')
  if not force and until_ and until_ >= e then return end
  e = e + SLACK
  local at = ms(e)
  redis.call('HSET', prefix .. 's:' .. sid, 'scheduled_until', tostring(e))
  local uid = h[F.user_id]
  redis.call('PEXPIREAT', prefix .. 's:' .. sid, at)
  -- The access-token key lives as long as the session, so that revoking an expired access
  -- token still ends a session whose refresh token is alive; authenticate checks its expiry.
  redis.call('PEXPIREAT', prefix .. 't:' .. h[F.access_hash], at)
  if h[F.refresh_hash] then
    local r = h[F.refresh_expires_at] and math.min(ms(h[F.refresh_expires_at]), at) or at
    redis.call('PEXPIREAT', prefix .. 'r:' .. h[F.refresh_hash], r)
  end
  redis.call('ZADD', prefix .. 'e', e, sid .. '|' .. uid)
  extend(prefix .. 'e', at)
  extend(prefix .. 'a', at)
  extend(prefix .. 'u:' .. uid, at)
end

-- Delete every key of a session; `uid` is used when the hash is already gone. 1 if it existed.
local function end_session(prefix, sid, uid)
  local skey = prefix .. 's:' .. sid
  local h = redis.call('HMGET', skey, 'user_id', 'access_hash', 'refresh_hash')
  uid = h[1] or uid
  if h[2] then redis.call('DEL', prefix .. 't:' .. h[2]) end
  if h[3] then redis.call('DEL', prefix .. 'r:' .. h[3]) end
  local existed = redis.call('DEL', skey)
  redis.call('ZREM', prefix .. 'a', sid)
  if uid then
    redis.call('ZREM', prefix .. 'u:' .. uid, sid)
    redis.call('ZREM', prefix .. 'e', sid .. '|' .. uid)
  end
  return existed
end
"""

# KEYS: gen. ARGV: prefix, session id, field/value pairs of the new session hash, generation.
CREATE = (
    _PRELUDE
    + """
local wrong = wrong_generation()
if wrong then return wrong end
local prefix, sid = ARGV[1], ARGV[2]
local skey = prefix .. 's:' .. sid
redis.call('HSET', skey, 'gen', GEN, unpack(ARGV, 3, #ARGV - 1))
local h = load(prefix, sid)
redis.call('SET', prefix .. 't:' .. h[F.access_hash], sid)
if h[F.refresh_hash] then redis.call('SET', prefix .. 'r:' .. h[F.refresh_hash], sid) end
redis.call('ZADD', prefix .. 'a', h[F.created_at], sid)
redis.call('ZADD', prefix .. 'u:' .. h[F.user_id], h[F.created_at], sid)
schedule(prefix, sid, h, true)
return 1
"""
)

# The order of the checks is the SessionStore.authenticate contract (the generation first).
# KEYS: epoch, t:<access_hash>, w:<watched name> (any key when nothing is watched), gen.
# ARGV: prefix, access_hash, client ip or '', now, caller's epoch, '1' to watch ('2' to watch
# and begin a change), a fresh value for the watched name should it have none, its lifetime in
# ms, for '2' the change's pending token and the pending mark's lifetime in ms (else ''), and
# the caller's generation.
AUTHENTICATE = (
    _PRELUDE
    + """
-- The generation and the epoch in one call (wrong_generation's check, inlined: the hot path).
local held = redis.call('MGET', KEYS[4], KEYS[1])
if held[1] ~= GEN then return redis.error_reply('GENERATION ' .. (held[1] or 'none')) end
local prefix, now = ARGV[1], tonumber(ARGV[4])
local current = held[2] or ''
if current ~= ARGV[5] then return {'stale', current} end
local sid = redis.call('GET', KEYS[2])
if not sid then return {'invalid'} end
local h = load(prefix, sid)
if not h or h[F.access_hash] ~= ARGV[2] then return {'invalid'} end
if expired(h, now, 'access_expires_at') then return {'expired'} end
if ip_mismatch(h, ARGV[3]) then return {'ip_mismatch'} end
if exhausted(h) then return {'exhausted'} end
local skey = prefix .. 's:' .. sid
-- One HSET for both: the script is atomic, and each redis.call costs a few microseconds.
h[F.uses] = tostring((num(h, 'uses') or 0) + 1)
h[F.last_used_at] = ARGV[4]
redis.call('HSET', skey, 'uses', h[F.uses], 'last_used_at', ARGV[4])
if exhausted(h) then
  end_session(prefix, sid, h[F.user_id])
elseif h[F.idle_timeout] then
  schedule(prefix, sid, h, false)
end
if ARGV[6] == '0' then return {'ok', info(h)} end
local watched = redis.call('GET', KEYS[3])
if ARGV[6] == '2' then
  -- A write: the value before (a hint for the writer), then pending until its end_change.
  redis.call('SET', KEYS[3], ARGV[9], 'PX', ARGV[10])
  return {'ok', info(h), watched}
end
if not watched then
  -- Nothing is changing it and nobody named it yet: give it a value readers can rely on.
  watched = ARGV[7]
  redis.call('SET', KEYS[3], watched, 'PX', ARGV[8])
end
return {'ok', info(h), watched}
"""
)

# KEYS: w:<name>. ARGV: the token begin_change returned, the new stable value, its lifetime ms.
# Another writer's pending change is left alone (it sets the value when it commits); anything
# else is replaced, so a value a reader invented while Redis had lost this change's pending
# mark cannot outlive the change.
END_CHANGE = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or not current or string.sub(current, 1, 8) ~= 'pending:' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
"""

# KEYS: t:<hash> or r:<hash>, gen. ARGV: prefix, hash, 'access_hash' or 'refresh_hash',
# generation.
FIND = (
    _PRELUDE
    + """
local wrong = wrong_generation()
if wrong then return wrong end
local sid = redis.call('GET', KEYS[1])
if not sid then return false end
local h = load(ARGV[1], sid)
if not h or h[F[ARGV[3]]] ~= ARGV[2] then return false end
return info(h)
"""
)

# KEYS: r:<old>, ru:<old>, gen. ARGV: prefix, old refresh hash, new access hash, new refresh
# hash, now, client ip or '', now + access ttl, now + refresh ttl, new role, '1' if a role is
# given, generation.
ROTATE = (
    _PRELUDE
    + """
local wrong = wrong_generation()
if wrong then return wrong end
local prefix, now = ARGV[1], tonumber(ARGV[5])
local sid = redis.call('GET', KEYS[1])
if not sid then
  local used = redis.call('GET', KEYS[2])
  if used then
    end_session(prefix, used, nil)
    return {'reused'}
  end
  return {'invalid'}
end
local h = load(prefix, sid)
if not h or h[F.refresh_hash] ~= ARGV[2] then return {'invalid'} end
if expired(h, now, 'refresh_expires_at') then return {'expired'} end
if ip_mismatch(h, ARGV[6]) then return {'ip_mismatch'} end
if exhausted(h) then return {'expired'} end
local max = h[F.max_expires_at]
local function clip(v)
  if tonumber(v) < tonumber(max) then return v end
  return max
end
local skey = prefix .. 's:' .. sid
redis.call('DEL', prefix .. 't:' .. h[F.access_hash], KEYS[1])
redis.call('SET', KEYS[2], sid, 'PXAT', ms(max))
h[F.access_hash], h[F.refresh_hash] = ARGV[3], ARGV[4]
h[F.access_expires_at], h[F.refresh_expires_at] = clip(ARGV[7]), clip(ARGV[8])
h[F.last_used_at] = ARGV[5]
if ARGV[10] == '1' then h[F.role] = ARGV[9] end
redis.call('HSET', skey, 'access_hash', h[F.access_hash], 'refresh_hash', h[F.refresh_hash],
  'access_expires_at', h[F.access_expires_at], 'refresh_expires_at', h[F.refresh_expires_at],
  'last_used_at', h[F.last_used_at], 'role', h[F.role])
redis.call('SET', prefix .. 't:' .. ARGV[3], sid)
redis.call('SET', prefix .. 'r:' .. ARGV[4], sid)
schedule(prefix, sid, h, true)
return {'ok', info(h)}
"""
)

# KEYS: t:<hash>, r:<hash>, ru:<hash>. ARGV: prefix.
REVOKE_TOKEN = (
    _PRELUDE
    + """
local sid = redis.call('GET', KEYS[1]) or redis.call('GET', KEYS[2]) or redis.call('GET', KEYS[3])
if not sid then return 0 end
return end_session(ARGV[1], sid, nil)
"""
)

# ARGV: prefix, session id.
REVOKE_SESSION = (
    _PRELUDE
    + """
return end_session(ARGV[1], ARGV[2], nil)
"""
)

# ARGV: prefix, user id, session id to keep or ''.
REVOKE_USER = (
    _PRELUDE
    + """
local prefix, uid, keep = ARGV[1], ARGV[2], ARGV[3]
local ended = 0
for _, sid in ipairs(redis.call('ZRANGE', prefix .. 'u:' .. uid, 0, -1)) do
  if sid ~= keep then ended = ended + end_session(prefix, sid, uid) end
end
return ended
"""
)

# ARGV: prefix, now, batch size. Ends up to one batch of sessions whose end is <= now.
SWEEP = (
    _PRELUDE
    + """
local prefix = ARGV[1]
local members = redis.call('ZRANGEBYSCORE', prefix .. 'e', '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(members) do
  local bar = string.find(member, '|', 1, true)
  end_session(prefix, string.sub(member, 1, bar - 1), string.sub(member, bar + 1))
  redis.call('ZREM', prefix .. 'e', member)
end
return #members
"""
)

# ARGV: prefix, now, then per counter: key, threshold, now + window, now + lockout.
# The same arithmetic as DatabaseSessionStore: a failure inside the window counts on, else it
# opens a new window; reaching the threshold locks the key and resets the counter.
RECORD_FAILURES = """
local prefix, now = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 4 do
  local key = prefix .. 'lf:' .. ARGV[i]
  local window_end = redis.call('HGET', key, 'window_ends_at')
  local failures
  if window_end and tonumber(window_end) > now then
    failures = redis.call('HINCRBY', key, 'failures', 1)
  else
    failures = 1
    redis.call('HSET', key, 'failures', 1, 'window_ends_at', ARGV[i + 2])
    redis.call('PEXPIREAT', key, math.ceil(tonumber(ARGV[i + 2]) * 1000))
  end
  if failures >= tonumber(ARGV[i + 1]) then
    redis.call('DEL', key)
    local until_ms = math.ceil(tonumber(ARGV[i + 3]) * 1000)
    redis.call('SET', prefix .. 'lk:' .. ARGV[i], ARGV[i + 3], 'PXAT', until_ms)
  end
end
return 1
"""

# KEYS: gen, epoch. ARGV: a generation, a fresh config epoch or ''. Makes Redis hold at least
# that generation; when it moves, the epoch changes too if one is given (every node reloads its
# settings). Returns the generation Redis then holds.
RAISE_GENERATION = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
  return ARGV[1]
end
return tostring(current)
"""
