"""A gate's refusals asked on the event loop, before a tap joins a batch (Gate.refusal).

A storm is mostly refusals (an empty envelope, a second tap, a sold-out coupon). Handing each to
a batcher lane and back (a thread wake-up each way) cost a refused tap more than the refusal
itself; `peek` answers it in the request's own task instead: what the admission would refuse
now (`already`, `exhausted`), or `ask` (the batch admits and decides, as before). It reserves
nothing and writes nothing, so it needs no settling and stays exact for the same reason the
admission does: it reads only the committed truth.

In process memory a peek is a call under the store's lock. In Redis it is the `_PEEK` script
below, from redis.asyncio: the peeks asked while one round trip is out wait for the next, which
carries all of them (one script per target in one pipeline), so a flood of refusals costs one
round trip per turn, not one per tap.
"""

import asyncio
import hashlib
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster

from kinsave.gates.store import ASK, OPTIONS, MemoryStore, RedisStore, Store, keys_of, plain_url

# What `_ADMIT` (store.py) would refuse now, changing nothing: `already` (a) and `exhausted` (x)
# exactly where it answers them, `ask` (?) wherever it would reserve or pass; one letter per
# member in one string (one reply to parse, not one per member); an empty string for a target
# not seeded or past its `until` (the batch seeds it, or the database answers first).
_PEEK = """
local st = redis.call('HMGET', KEYS[1], 'gen', 'left', 'lo', 'limit', 'mode', 'until', 'cap')
if not st[1] then return '' end
local now = tonumber(ARGV[1])
local untl = tonumber(st[6])
if untl > 0 and now >= untl then return '' end
local left = math.min(tonumber(st[2]), tonumber(st[7] or st[2]))
local lo, limit, mode = tonumber(st[3]), tonumber(st[4]), st[5]
local out = {}
for i = 2, #ARGV do
  local m = ARGV[i]
  local held = tonumber(redis.call('HGET', KEYS[2], m) or '0')
  local pending = tonumber(redis.call('HGET', KEYS[3], m) or '0')
  local count = held
  if mode == 'until' then count = 0 end
  local cap = limit
  if mode == 'until' then cap = 1 end
  local v = '?'
  if (mode == 'until' and held > now) or (mode == 'count' and held >= limit) then
    v = 'a'
  elseif pending > 0 and count + pending >= cap then
    v = '?'
  elseif left < lo then
    v = 'x'
  end
  out[#out + 1] = v
end
return table.concat(out)
"""
_PEEK_SHA = hashlib.sha1(_PEEK.encode()).hexdigest()
_VERDICTS = {ord("a"): "already", ord("x"): "exhausted", ord("?"): ASK}
_Waiting = tuple[str, str, int, "asyncio.Future[str]"]


class Peeker:
    """A store's peeks: `await peeker.peek(tag, member, now)`."""

    def __init__(self, store: Store) -> None:
        self._memory = store if isinstance(store, MemoryStore) else None
        self._url = store.url if isinstance(store, RedisStore) else ""
        self._round_trips: _RoundTrips | None = None

    async def peek(self, tag: str, member: str, now: int) -> str:
        if self._memory is not None:
            return self._memory.peek(tag, member, now)
        loop = asyncio.get_running_loop()
        trips = self._round_trips
        if trips is None or trips.loop is not loop:  # a client belongs to the loop it runs on
            trips = self._round_trips = _RoundTrips(loop, _async_client(self._url))
        return await trips.ask(tag, member, now)

    async def close(self) -> None:
        """Close the event loop's Redis connections (at shutdown, on that loop)."""
        trips, self._round_trips = self._round_trips, None
        if trips is not None and trips.loop is asyncio.get_running_loop():
            await trips.client.aclose()


def _async_client(url: str) -> Any:
    if url.startswith("redis+cluster://"):
        return redis.asyncio.cluster.RedisCluster.from_url(plain_url(url), **OPTIONS)
    return redis.asyncio.Redis.from_url(url, **OPTIONS)


class _RoundTrips:
    """One event loop's peeks in Redis: at most one round trip out at a time; the peeks asked
    meanwhile go together in the next."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Any) -> None:
        self.loop, self.client = loop, client
        self._waiting: list[_Waiting] = []
        self._sending: asyncio.Task[None] | None = None

    async def ask(self, tag: str, member: str, now: int) -> str:
        answer: asyncio.Future[str] = self.loop.create_future()
        self._waiting.append((tag, member, now, answer))
        if self._sending is None:
            self._sending = self.loop.create_task(self._send_all())
        return await answer

    async def _send_all(self) -> None:
        await asyncio.sleep(0)  # the requests read in this same turn ask too
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                try:
                    verdicts = await self._round_trip(waiting)
                except Exception as error:  # noqa: BLE001 - each asker decides what it means
                    _answer(waiting, error=error)
                else:
                    _answer(waiting, verdicts)
        finally:
            self._sending = None

    async def _round_trip(self, waiting: list[_Waiting]) -> list[str]:
        by_tag: dict[str, list[int]] = {}
        for i, (tag, *_) in enumerate(waiting):
            by_tag.setdefault(tag, []).append(i)
        now = max(entry[2] for entry in waiting)
        raw: list[Any] = []
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for tag, at in by_tag.items():
                pipe.evalsha(_PEEK_SHA, 4, *keys_of(tag), now, *(waiting[i][1] for i in at))
            try:
                raw = await pipe.execute()
                break
            except redis.exceptions.NoScriptError:  # a restarted or flushed Redis
                if attempt == 2:
                    raise
                await self.client.script_load(_PEEK)
        verdicts = [ASK] * len(waiting)
        for at, letters in zip(by_tag.values(), raw, strict=True):
            for i, letter in zip(at, letters, strict=False):  # none: not seeded
                verdicts[i] = _VERDICTS[letter]
        return verdicts


def _answer(
    waiting: list[_Waiting], verdicts: list[str] | None = None, error: Exception | None = None
) -> None:
    for position, (*_, answer) in enumerate(waiting):
        if answer.done():  # a client that went away cancelled its answer
            continue
        if verdicts is None:
            answer.set_exception(error or RuntimeError("no verdict"))
        else:
            answer.set_result(verdicts[position])
