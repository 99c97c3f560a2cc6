"""A gate's admission of one tap on the event loop, before it joins a batch (Gate.front).

A storm is mostly refusals (an empty envelope, a second tap, a sold-out coupon). Handing each to
a batcher lane and back (a thread wake-up each way) cost a refused tap more than the refusal
itself, so the tap is admitted in the request's own task: the store's very admission (`_ADMIT`
in Redis, `MemoryStore.admit` in memory), which refuses, reserves or passes. A refused tap is
answered at once; an admitted one joins its batch with its admission (`Gate.join`), and the lane
asks the store nothing more for it: a grant pays one admission round trip, not a read-only peek
on the loop and then the batch's admission in the lane.

In Redis the admissions asked while one round trip is out wait for the next, which carries all
of them (one script per target in one pipeline), so a flood of taps costs one round trip per
turn, not one per tap. A reservation whose asker went away before it was answered (a client
that disconnected) is given back, so that none waits for a settle that never comes.

A target whose exhaustion is final (an envelope whose every share is grabbed) is answered from
this process's memo of it (gates/memo.py), without the round trip, once a reply said so.
"""

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster

from kinsave.gates.memo import ExhaustionMemo, FinalTarget
from kinsave.gates.store import (
    ADMIT_SCRIPT,
    HOLDERS_SCRIPT,
    OPTIONS,
    Admission,
    MemoryStore,
    RedisStore,
    Store,
    admission_of,
    keys_of,
    plain_url,
    text_of,
)

_ADMIT_SHA = hashlib.sha1(ADMIT_SCRIPT.encode()).hexdigest()
_Waiting = tuple[str, str, int, "asyncio.Future[Admission]"]
# Told (tag, gen, member) of a reservation nobody will settle (its asker went away).
Orphaned = Callable[[str, str, str], None]


class FrontDoor:
    """A store's admissions of single taps: `await front_door.admit(tag, member, now)`."""

    def __init__(self, store: Store, orphaned: Orphaned, *, final_exhaustion: bool = False):
        """`final_exhaustion`: the kind's exhaustion is final (`Spec.exhaustion_is_final`), so
        its final targets are answered from memory (gates/memo.py; Redis only: the memory
        store answers in memory already)."""
        self._memory = store if isinstance(store, MemoryStore) else None
        self._url = store.url if isinstance(store, RedisStore) else ""
        self._orphaned = orphaned
        self._round_trips: _RoundTrips | None = None
        self.memo = ExhaustionMemo() if final_exhaustion and self._memory is None else None

    async def admit(self, tag: str, member: str, now: int) -> Admission:
        """This member's admission at this target (one verdict), as the batch's would be."""
        if self._memory is not None:
            (admission,) = self._memory.admit([(tag, [member])], now)
            return admission
        if self.memo is not None and (known := self.memo.answer(tag, member, now)) is not None:
            return known
        loop = asyncio.get_running_loop()
        trips = self._round_trips
        if trips is None or trips.loop is not loop:  # a client belongs to the loop it runs on
            trips = _RoundTrips(loop, _async_client(self._url), self._orphaned, self.memo)
            self._round_trips = trips
        return await trips.ask(tag, member, now)

    def forget(self, tag: str) -> None:
        """The store took a forget of `tag`: its memo, if any, is stale."""
        if self.memo is not None:
            self.memo.forget(tag)

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
    """One event loop's admissions in Redis: at most one round trip out at a time; the ones
    asked meanwhile go together in the next."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: Any,
        orphaned: Orphaned,
        memo: ExhaustionMemo | None,
    ) -> None:
        self.loop, self.client, self._orphaned, self._memo = loop, client, orphaned, memo
        self._waiting: list[_Waiting] = []
        self._sending: asyncio.Task[None] | None = None

    async def ask(self, tag: str, member: str, now: int) -> Admission:
        answer: asyncio.Future[Admission] = self.loop.create_future()
        self._waiting.append((tag, member, now, answer))
        if self._sending is None:
            self._sending = self.loop.create_task(self._send_all())
        try:
            return await asyncio.shield(answer)  # a cancelled asker leaves the answer to come
        except asyncio.CancelledError:
            answer.add_done_callback(lambda done: self._give_back(tag, member, done))
            raise

    def _give_back(self, tag: str, member: str, answer: "asyncio.Future[Admission]") -> None:
        """The reservation of an asker that went away, given back (nobody will settle it)."""
        if answer.cancelled() or answer.exception() is not None:
            return
        admission = answer.result()
        if admission.verdicts == ("reserved",) and admission.gen is not None:
            self._orphaned(tag, admission.gen, member)

    async def _send_all(self) -> None:
        await asyncio.sleep(0)  # the requests read in this same turn ask too
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                version = self._memo.version if self._memo is not None else 0
                try:
                    admissions = await self._round_trip(waiting)
                except Exception as error:  # noqa: BLE001 - each asker decides what it means
                    for *_, answer in waiting:
                        answer.set_exception(error)
                    continue
                for (*_, answer), admission in zip(waiting, admissions, strict=True):
                    answer.set_result(admission)
                await self._learn_final(waiting, admissions, version)
        finally:
            self._sending = None

    async def _learn_final(
        self, waiting: list[_Waiting], admissions: list[Admission], version: int
    ) -> None:
        """Memoise the holders of each target the replies called final (once per target)."""
        memo = self._memo
        if memo is None:
            return
        finals = {tag: a.gen for (tag, *_), a in zip(waiting, admissions, strict=True) if a.final}
        for tag, gen in finals.items():
            if gen is None or memo.knows(tag):
                continue
            try:
                raw = await self.client.eval(HOLDERS_SCRIPT, 4, *keys_of(tag), gen)
            except Exception:  # noqa: BLE001 - only an optimisation: the next tap asks the store
                return
            if raw:  # 0: no longer final under `gen` (a forget, a flush came between)
                until, info = int(raw[0]), text_of(raw[1])
                holders = frozenset(map(text_of, raw[2]))
                memo.keep(tag, FinalTarget(gen, info, until, holders), version)

    async def _round_trip(self, waiting: list[_Waiting]) -> list[Admission]:
        by_tag: dict[str, list[int]] = {}
        for i, (tag, *_) in enumerate(waiting):
            by_tag.setdefault(tag, []).append(i)
        now = max(entry[2] for entry in waiting)
        raw: list[Any] = []
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for tag, at in by_tag.items():
                pipe.evalsha(_ADMIT_SHA, 4, *keys_of(tag), now, *(waiting[i][1] for i in at))
            try:
                raw = await pipe.execute()
                break
            except redis.exceptions.NoScriptError:  # a restarted or flushed Redis
                if attempt == 2:
                    raise
                await self.client.script_load(ADMIT_SCRIPT)
        admissions: list[Admission] = [Admission(gen=None)] * len(waiting)
        for at, reply in zip(by_tag.values(), raw, strict=True):
            whole = admission_of(reply)
            for position, i in enumerate(at):
                verdicts = whole.verdicts[position : position + 1]
                admissions[i] = Admission(whole.gen, whole.info, verdicts, whole.epoch, whole.final)
        return admissions
