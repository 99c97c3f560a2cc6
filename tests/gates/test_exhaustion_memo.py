"""The memo of a finally exhausted envelope (gates/memo.py): its answers are the admission
script's, for holders and everyone else, in one process and in two sharing one Redis, across a
flush; only a final exhaustion is kept (not the database's own `cap`, not with a tap in flight),
and a forget or the target's `until` ends it."""

import asyncio
import random
import time
from typing import Any

import pytest

from kinsave.envelopes.grabs import GrabRequest
from kinsave.errors import KinsaveError
from kinsave.gates import make_gates
from kinsave.gates.front_door import FrontDoor
from kinsave.gates.store import RedisStore, Seed
from tests.conftest import REDIS_URL
from tests.gates.conftest import StoreUnderTest, codes, shoppers_with_wallets
from tests.gates.test_front_door import _install, _not_settled, _run
from tests.gates.test_gates import Shop

NOW = int(time.time())


@pytest.fixture
def redis_store() -> RedisStore:
    StoreUnderTest("redis")  # skips without Redis; flushes this test's database
    return RedisStore(REDIS_URL)


def _front_door(target: RedisStore) -> FrontDoor:
    return FrontDoor(target, _not_settled, final_exhaustion=True)


async def _verdicts(front_door: FrontDoor, tag: str, members: list[str], now: int) -> list[str]:
    return [(await front_door.admit(tag, m, now)).verdicts[0] for m in members]


async def _known(front_door: FrontDoor, tag: str) -> bool:
    """Whether the memo keeps `tag`, once the holders asked after the reply have come back."""
    assert front_door.memo is not None
    for _ in range(100):
        if front_door.memo.knows(tag):
            return True
        await asyncio.sleep(0.005)
    return False


def _script(target: RedisStore, tag: str, members: list[str], now: int) -> list[str]:
    return [target.admit([(tag, [m])], now)[0].verdicts[0] for m in members]


def test_the_memo_answers_as_the_script_for_holders_and_others(redis_store) -> None:
    tag, members = "env:final", ["h0", "g0", "g1", "x", "y"]
    gen = _install(redis_store, tag, Seed(left=2, members={"h0": 1}, until=NOW + 3600))
    assert _script(redis_store, tag, ["g0", "g1"], NOW) == ["reserved", "reserved"]
    redis_store.settle([(tag, gen, [("g0", True, "g", 1, 0), ("g1", True, "g", 1, 0)])])
    front_door = _front_door(redis_store)
    assert front_door.memo is not None

    async def check() -> tuple[list[str], bool, list[str]]:
        first = await _verdicts(front_door, tag, ["x"], NOW)  # asked in Redis: final
        known = await _known(front_door, tag)
        from_memo = await _verdicts(front_door, tag, members, NOW)
        await front_door.close()
        return first, known, from_memo

    first, known, from_memo = _run(check())
    assert first == ["exhausted"] and known
    assert from_memo == _script(redis_store, tag, members, NOW)
    assert from_memo == ["already"] * 3 + ["exhausted"] * 2


def test_not_final_is_not_kept(redis_store) -> None:
    """The database's own `envelope_empty` (cap) and a tap still in flight: the script refuses,
    but what it answers can still change (a late grant, the tap's own `pass`): no memo."""
    capped, in_flight = "env:capped", "env:inflight"
    gens = {capped: _install(redis_store, capped, Seed(left=3))}
    gens[in_flight] = _install(redis_store, in_flight, Seed(left=1))
    assert _script(redis_store, capped, ["c0"], NOW) == ["reserved"]
    redis_store.settle([(capped, gens[capped], [("c0", True, "x", 1, 0)])])  # the db: empty
    assert _script(redis_store, in_flight, ["r0", "p0"], NOW) == ["reserved", "pass"]
    # the passed tap's grant settles first; r0's reserved tap is still out
    redis_store.settle([(in_flight, gens[in_flight], [("p0", False, "g", 1, 0)])])
    front_door = _front_door(redis_store)

    async def check() -> list[Any]:
        found = [await _verdicts(front_door, tag, ["z", "r0"], NOW) for tag in (capped, in_flight)]
        found += [await _known(front_door, capped), await _known(front_door, in_flight)]
        redis_store.settle([(in_flight, gens[in_flight], [("r0", True, "x", 1, 0)])])
        found.append(await _verdicts(front_door, in_flight, ["z", "r0", "p0"], NOW))
        found.append(await _known(front_door, in_flight))
        await front_door.close()
        return found

    on_capped, on_in_flight, capped_known, in_flight_known, settled, known_now = _run(check())
    assert on_capped == ["exhausted", "exhausted"] and not capped_known
    assert on_in_flight == ["exhausted", "pass"] and not in_flight_known  # r0 passes: its own
    assert settled == ["exhausted", "exhausted", "already"] and known_now


def test_a_forget_and_the_until_end_the_memo(redis_store) -> None:
    gates = make_gates(REDIS_URL)
    memo = gates.grab._front_door.memo
    assert memo is not None
    _install(redis_store, "env:f", Seed(left=0, members={"h": 1}))
    # From now, not from the module's import: the front door asks at the clock's time.
    until = int(time.time()) + 600
    _install(redis_store, "env:u", Seed(left=0, members={"h": 1}, until=until))

    async def check() -> list[Any]:
        found: list[Any] = []
        for tag in ("env:f", "env:u"):
            refusal = await gates.grab.front(GrabRequest(tag.removeprefix("env:"), "s"))
            assert isinstance(refusal, KinsaveError) and refusal.code == "envelope_empty"
        front_door = gates.grab._front_door
        found.append((await _known(front_door, "env:f"), await _known(front_door, "env:u")))
        gates.grab.forget("env:f")  # the store took it: the memo is stale
        found.append(memo.knows("env:f"))
        ticket = await gates.grab.front(GrabRequest("f", "h"))
        found.append(ticket.verdicts)  # type: ignore[union-attr]
        found.append(await _verdicts(front_door, "env:u", ["h", "s"], until))
        found.append(memo.knows("env:u"))
        await gates.close()
        return found

    known, after_forget, missed, after_until, known_after_until = _run(check())
    assert known == (True, True) and not after_forget
    assert missed == ["miss"]  # asked in Redis: the forget deleted the target
    assert after_until == ["pass", "pass"] == _script(redis_store, "env:u", ["h", "s"], until)
    assert not known_after_until


def test_the_memory_store_has_no_memo() -> None:
    gates = make_gates()
    assert gates.grab._front_door.memo is None


def test_only_grabs_are_memoised(redis_store) -> None:
    gates = make_gates(REDIS_URL)
    assert gates.grab._front_door.memo is not None
    assert gates.daily._front_door.memo is None and gates.coupon._front_door.memo is None


def _kept(taps: Any, gates: Any, envelope_id: str, name: str) -> bool:
    """Tap until this process's memo keeps the envelope (a settlement or the holders' read may
    still be on its way)."""
    for _ in range(100):
        if gates.grab._front_door.memo.knows(f"env:{envelope_id}"):
            return True
        taps.tap("grab", GrabRequest(envelope_id, name))
        time.sleep(0.01)
    return False


@pytest.fixture
def shop(session_factory, settings) -> Shop:
    return Shop(session_factory, settings)


def test_two_processes_with_memos_answer_as_the_database(shop, taps_for) -> None:
    """Two API processes on one Redis and a twin envelope without any gate, tapped alike: the
    same answers before and after the envelope empties, and after a Redis flush with both memos
    in place (one process reseeds under a new generation, the other answers from its memo)."""
    store = StoreUnderTest("redis")
    first, second = store.gates(), store.gates()
    gated = [taps_for(first), taps_for(second)]
    plain = taps_for(None)
    names = [f"w{i}" for i in range(14)]
    shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
    gated_id, plain_id = shop.envelope(5), shop.envelope(5)
    rng = random.Random(11)

    def round_of(taps: int) -> list[tuple[list[str], list[str]]]:
        answers = []
        for i in range(taps):
            name = rng.choice(names)
            answer = codes([gated[i % 2].tap("grab", GrabRequest(gated_id, name))])
            answers.append((answer, codes([plain.tap("grab", GrabRequest(plain_id, name))])))
        return answers

    answers = round_of(60)
    assert all(g == p for g, p in answers), answers
    assert _kept(gated[0], first, gated_id, names[0]) and _kept(
        gated[1], second, gated_id, names[0]
    )
    store.flush()  # Redis FLUSHALL / restart: the memos stay, the counts are gone
    again = round_of(40)
    assert all(g == p for g, p in again), again
    assert {a[0][0] for a in answers + again} == {"ok", "already_grabbed", "envelope_empty"}
    assert shop.open_shares(gated_id) == 0 == shop.open_shares(plain_id)


def test_refusals_from_the_memo_need_no_redis(shop, taps_for) -> None:
    """With the memo in place the refusals need no Redis at all: the store's keys are gone and
    its scripts too, yet the front door answers (no round trip to reseed them)."""
    store = StoreUnderTest("redis")
    gates = store.gates()
    taps = taps_for(gates)
    names = [f"q{i}" for i in range(4)]
    shoppers_with_wallets(shop.session_factory, shop.shop_id, names)
    envelope_id = shop.envelope(2)
    first = codes([taps.tap("grab", GrabRequest(envelope_id, s)) for s in names])
    assert first == ["ok", "ok", "envelope_empty", "envelope_empty"]
    assert _kept(taps, gates, envelope_id, names[3])
    store.flush()

    async def fronts() -> list[str]:
        found = [await gates.grab.front(GrabRequest(envelope_id, s)) for s in names]
        return [f.code if isinstance(f, KinsaveError) else str(f) for f in found]

    fronted = asyncio.run_coroutine_threadsafe(fronts(), taps.loop).result()
    assert fronted == ["already_grabbed"] * 2 + ["envelope_empty"] * 2
    assert gates.grab.store.client.dbsize() == 0  # answered without asking Redis
