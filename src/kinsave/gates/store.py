"""Where a gate keeps its counts: Redis (shared by every API process) or this process's memory.

One target (an envelope, a campaign, a coupon template) is a few keys with one hash tag,
`{env:<id>}`, `{camp:<id>}`, `{tpl:<id>}`, so that every script touches one Redis Cluster slot:
- `<tag>:s` the state: `gen` (who seeded it), `left` (the seed less the grants settled since:
  never below the database's), `cap` (the database's own "exhausted" answers: what is left is
  below it; kept apart from `left` because a grant committed before such an answer may settle
  after it, and subtracting it from the answer's bound would count it twice), `inflight` (units
  reserved by admitted taps not settled yet), `lo`/`hi` (the smallest and largest draw of one
  tap), `limit` (per member), `mode`, `info`, `until` (from when the database answers something
  else first: the gate passes every tap);
- `<tag>:h` what each member holds: a count (`count` mode) or, for the daily envelope, the UTC
  second their claimed local day ends (`until` mode);
- `<tag>:p` each member's admitted taps in flight;
- `<tag>:e` the epoch, bumped by `forget`: a seed read from the database before a forget is never
  installed after it.

The scripts below are the gate's whole logic; `MemoryStore` is the same logic in Python for
one process without Redis, and the tests run every gate test against both. A tap's admission is
asked on the event loop (gates/front_door.py), a batch's in its lane.
"""

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.cluster import RedisCluster

from kinsave.redis_client import REDIS_ERRORS, redis_client

STORE_ERRORS = REDIS_ERRORS  # what a failing store raises
TTL_SECONDS = 3 * 24 * 3600  # a target's counts outlive any envelope or local day they serve

_ADMIT = """
local st = redis.call('HMGET', KEYS[1], 'gen', 'left', 'inflight', 'lo', 'hi', 'limit', 'mode',
                      'info', 'until', 'cap')
if not st[1] then return {0, redis.call('GET', KEYS[4]) or ''} end
local now = tonumber(ARGV[1])
local untl = tonumber(st[9])
if untl > 0 and now >= untl then
  local out = {}
  for i = 2, #ARGV do out[#out + 1] = 'pass' end
  return {1, st[1], st[8], out}
end
local left, inflight = math.min(tonumber(st[2]), tonumber(st[10] or st[2])), tonumber(st[3])
local lo, hi, limit, mode = tonumber(st[4]), tonumber(st[5]), tonumber(st[6]), st[7]
local out = {}
for i = 2, #ARGV do
  local m = ARGV[i]
  local held = tonumber(redis.call('HGET', KEYS[2], m) or '0')
  local pending = tonumber(redis.call('HGET', KEYS[3], m) or '0')
  local count = held
  if mode == 'until' then count = 0 end
  local cap = limit
  if mode == 'until' then cap = 1 end
  local v
  if (mode == 'until' and held > now) or (mode == 'count' and held >= limit) then
    v = 'already'
  elseif pending > 0 and count + pending >= cap then
    v = 'pass'
  elseif left < lo then
    v = 'exhausted'
  elseif left - inflight >= hi then
    inflight = inflight + hi
    redis.call('HINCRBY', KEYS[3], m, 1)
    v = 'reserved'
  else
    v = 'pass'
  end
  out[#out + 1] = v
end
redis.call('HSET', KEYS[1], 'inflight', inflight)
-- final: every unit's grant committed and settled, nothing in flight (gates/front_door.py)
local final = 0
if tonumber(st[2]) < lo and inflight == 0 and mode == 'count'
   and redis.call('HLEN', KEYS[3]) == 0 then final = 1 end
return {1, st[1], st[8], out, final}
"""
ADMIT_SCRIPT = _ADMIT  # also run from the event loop (gates/front_door.py)
# A final target's holders, if it is still final under generation ARGV[1] (else 0): the
# until, the info and every member holding its limit (gates/front_door.py, the memo).
HOLDERS_SCRIPT = """
local st = redis.call('HMGET', KEYS[1], 'gen', 'left', 'inflight', 'lo', 'limit', 'mode',
                      'until', 'info')
if st[1] ~= ARGV[1] or st[6] ~= 'count' then return 0 end
if tonumber(st[2]) >= tonumber(st[4]) or tonumber(st[3]) ~= 0
   or redis.call('HLEN', KEYS[3]) ~= 0 then return 0 end
local limit, out, held = tonumber(st[5]), {}, redis.call('HGETALL', KEYS[2])
for i = 1, #held, 2 do
  if tonumber(held[i + 1]) >= limit then out[#out + 1] = held[i] end
end
return {st[7], st[8], out}
"""
_SETTLE = """
local st = redis.call('HMGET', KEYS[1], 'gen', 'left', 'inflight', 'hi', 'limit', 'mode', 'cap')
if st[1] ~= ARGV[1] then return 0 end
local left, inflight, cap = tonumber(st[2]), tonumber(st[3]), tonumber(st[7] or st[2])
local hi, limit, mode = tonumber(st[4]), tonumber(st[5]), st[6]
for _, e in ipairs(cjson.decode(ARGV[3])) do
  local m, kind, amount = e[1], e[3], tonumber(e[4])
  -- x: the database refused for want of units: whatever it drew (at most hi) was more than left
  if e[2] == 1 then
    inflight = inflight - hi
    if redis.call('HINCRBY', KEYS[3], m, -1) <= 0 then redis.call('HDEL', KEYS[3], m) end
  end
  if kind == 'g' then
    left = left - amount
    if mode == 'count' then redis.call('HINCRBY', KEYS[2], m, 1)
    else redis.call('HSET', KEYS[2], m, e[5]) end
  elseif kind == 'a' then
    if mode == 'count' then
      local held = tonumber(redis.call('HGET', KEYS[2], m) or '0')
      redis.call('HSET', KEYS[2], m, math.max(held, limit))
    else redis.call('HSET', KEYS[2], m, e[5]) end
  elseif kind == 'x' then
    cap = math.min(cap, hi - 1)
  end
end
if inflight < 0 then inflight = 0 end
redis.call('HSET', KEYS[1], 'left', left, 'inflight', inflight, 'cap', cap)
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[2]) end
return 1
"""
_INSTALL = """
if (redis.call('GET', KEYS[4]) or '') ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'left', ARGV[3], 'cap', ARGV[3], 'inflight', 0,
           'lo', ARGV[4], 'hi', ARGV[5], 'limit', ARGV[6], 'mode', ARGV[7], 'info', ARGV[8],
           'until', ARGV[10])
for i = 11, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[9]) end
return 1
"""
_FORGET = """
redis.call('INCR', KEYS[4])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
"""


@dataclass(frozen=True, slots=True)
class Seed:
    """A target's state as read from the database."""

    left: int
    lo: int = 1
    hi: int = 1
    limit: int = 1
    mode: str = "count"  # or "until"
    info: str = ""
    # The UTC second from which the database answers something else first (the envelope
    # expired, the campaign or coupon over): the gate passes every tap from then on. 0: never.
    until: int = 0
    members: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Admission:
    """A target's answer: `gen` None when it is not seeded (then `epoch` is what to seed under)."""

    gen: str | None
    info: str = ""
    verdicts: tuple[str, ...] = ()  # already | exhausted | reserved | pass, one per member
    epoch: str = ""
    # The script saw `left` (not `cap`) below `lo` with nothing in flight (`count` mode): every
    # unit's grant is committed and settled, so the holders can not change in this generation.
    final: bool = False


# One tap's settlement: member, reserved, kind (g granted, a already, x exhausted, - nothing),
# amount (granted units), value (until mode: the second the member's claim lapses).
Settlement = tuple[str, bool, str, int, int]
# Settlements of several targets: (tag, the generation they were admitted under, entries).
Settles = Sequence[tuple[str, str, Sequence[Settlement]]]


def keys_of(tag: str) -> list[str]:
    return [f"{{{tag}}}:s", f"{{{tag}}}:h", f"{{{tag}}}:p", f"{{{tag}}}:e"]


OPTIONS: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


class RedisStore:
    """The counts in Redis (KINSAVE_REDIS_URL; `redis+cluster://` for a Redis Cluster)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: redis.Redis | RedisCluster = redis_client(
            url, timeout=0.5, connect_timeout=0.5
        )
        self._scripts = {
            name: self.client.register_script(source)
            for name, source in (
                ("admit", _ADMIT),
                ("settle", _SETTLE),
                ("install", _INSTALL),
                ("forget", _FORGET),
            )
        }

    def admit(
        self, asks: Sequence[tuple[str, Sequence[str]]], now: int, settles: Settles = ()
    ) -> list[Admission]:
        """One round trip for every target of a batch: `settles` first (as `settle`), then each
        target's verdicts per member."""
        calls = _settle_calls(settles)
        calls += [("admit", keys_of(tag), [now, *members]) for tag, members in asks]
        return [admission_of(raw) for raw in self._run(calls)[len(settles) :]]

    def settle(self, settles: Settles) -> None:
        self._run(_settle_calls(settles))

    def install(self, tag: str, epoch: str, gen: str, seed: Seed) -> bool:
        args: list[Any] = [epoch, gen, seed.left, seed.lo, seed.hi, seed.limit, seed.mode]
        args += [seed.info, TTL_SECONDS, seed.until]
        for member, value in seed.members.items():
            args += [member, value]
        (installed,) = self._run([("install", keys_of(tag), args)])
        return bool(installed)

    def forget(self, tag: str) -> None:
        self._run([("forget", keys_of(tag), [])])

    def _run(self, calls: Sequence[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Every call in one pipelined round trip; a Redis that lost its scripts (a restart,
        SCRIPT FLUSH) gets them again and the calls once more."""
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for name, keys, args in calls:
                pipe.evalsha(self._scripts[name].sha, len(keys), *keys, *args)
            try:
                return list(pipe.execute())
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                for script in self._scripts.values():
                    self.client.script_load(script.script)
        raise AssertionError("unreachable")


def _settle_calls(settles: Settles) -> list[tuple[str, list[str], list[Any]]]:
    calls = []
    for tag, gen, entries in settles:
        # One JSON argument per target, not five per entry: redis-py packs each argument in
        # Python, which was most of a batch's round trip's CPU (docs/benchmarks.md, session 10).
        rows = [[m, int(r), kind, str(amount), str(value)] for m, r, kind, amount, value in entries]
        calls.append(("settle", keys_of(tag), [gen, TTL_SECONDS, json.dumps(rows)]))
    return calls


def plain_url(url: str) -> str:
    return "redis://" + url.removeprefix("redis+cluster://")


def admission_of(raw: list[Any]) -> Admission:
    """An `_ADMIT` reply as an Admission."""
    if int(raw[0]) == 0:
        return Admission(gen=None, epoch=text_of(raw[1]))
    verdicts = tuple(map(text_of, raw[3]))
    final = len(raw) > 4 and int(raw[4]) == 1
    return Admission(gen=text_of(raw[1]), info=text_of(raw[2]), verdicts=verdicts, final=final)


def text_of(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(slots=True)
class _Target:
    gen: str
    seed: Seed
    left: int
    cap: int
    inflight: int = 0
    held: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)


class MemoryStore:
    """The same counts in this process's memory (one API process, no Redis): the scripts above,
    line for line, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, _Target] = {}
        self._epochs: dict[str, int] = {}

    def admit(
        self, asks: Sequence[tuple[str, Sequence[str]]], now: int, settles: Settles = ()
    ) -> list[Admission]:
        with self._lock:
            self._settle(settles)
            return [self._admit(tag, members, now) for tag, members in asks]

    def _admit(self, tag: str, members: Sequence[str], now: int) -> Admission:
        target = self._targets.get(tag)
        if target is None:
            return Admission(gen=None, epoch=self._epoch(tag))
        seed, verdicts = target.seed, []
        if 0 < seed.until <= now:
            return Admission(gen=target.gen, info=seed.info, verdicts=("pass",) * len(members))
        left = min(target.left, target.cap)
        for member in members:
            held, pending = target.held.get(member, 0), target.pending.get(member, 0)
            until = seed.mode == "until"
            count, cap = (0, 1) if until else (held, seed.limit)
            if (until and held > now) or (not until and held >= seed.limit):
                verdicts.append("already")
            elif pending > 0 and count + pending >= cap:
                verdicts.append("pass")
            elif left < seed.lo:
                verdicts.append("exhausted")
            elif left - target.inflight >= seed.hi:
                target.inflight += seed.hi
                target.pending[member] = pending + 1
                verdicts.append("reserved")
            else:
                verdicts.append("pass")
        return Admission(gen=target.gen, info=seed.info, verdicts=tuple(verdicts))

    def settle(self, settles: Settles) -> None:
        with self._lock:
            self._settle(settles)

    def _settle(self, settles: Settles) -> None:
        for tag, gen, entries in settles:
            target = self._targets.get(tag)
            if target is not None and target.gen == gen:
                _settle(target, entries)

    def install(self, tag: str, epoch: str, gen: str, seed: Seed) -> bool:
        with self._lock:
            if self._epoch(tag) != epoch or tag in self._targets:
                return False
            self._targets[tag] = _Target(gen, seed, seed.left, seed.left, held=dict(seed.members))
            return True

    def forget(self, tag: str) -> None:
        with self._lock:
            self._epochs[tag] = self._epochs.get(tag, 0) + 1
            self._targets.pop(tag, None)

    def flush(self) -> None:
        """Everything gone, as after a Redis FLUSHALL or restart (for the tests)."""
        with self._lock:
            self._targets.clear()
            self._epochs.clear()

    def _epoch(self, tag: str) -> str:
        epoch = self._epochs.get(tag)
        return "" if epoch is None else str(epoch)


def _settle(target: _Target, entries: Sequence[Settlement]) -> None:
    seed = target.seed
    for member, reserved, kind, amount, value in entries:
        if reserved:
            target.inflight -= seed.hi
            left_pending = target.pending.get(member, 0) - 1
            if left_pending > 0:
                target.pending[member] = left_pending
            else:
                target.pending.pop(member, None)
        if kind == "g":
            target.left -= amount
            held = target.held.get(member, 0)
            target.held[member] = held + 1 if seed.mode == "count" else value
        elif kind == "a":
            held = target.held.get(member, 0)
            target.held[member] = max(held, seed.limit) if seed.mode == "count" else value
        elif kind == "x":
            target.cap = min(target.cap, seed.hi - 1)
    target.inflight = max(target.inflight, 0)


Store = RedisStore | MemoryStore
