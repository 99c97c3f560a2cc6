"""A gate's refusals on the event loop (gates/peek.py) are exactly the admission's, and change
nothing: in memory and in Redis, through random reservations, grants and refusals."""

import asyncio
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kinsave.envelopes.grabs import GrabRequest
from kinsave.gates import make_gates
from kinsave.gates.gate import REFUSED
from kinsave.gates.peek import Peeker
from kinsave.gates.store import ASK, MemoryStore, RedisStore, Seed
from tests.conftest import REDIS_URL
from tests.gates.conftest import StoreUnderTest


def _run(coroutine: Any) -> Any:
    """The coroutine on a loop of its own thread: a browser test earlier in the session may have
    left an event loop running on this one (Playwright's sync API), where asyncio.run refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


MEMBERS = [f"m{i}" for i in range(6)]


def _store(store: StoreUnderTest) -> MemoryStore | RedisStore:
    return RedisStore(REDIS_URL) if store.kind == "redis" else store.memory


def _install(target: MemoryStore | RedisStore, tag: str, seed: Seed) -> str:
    (admission,) = target.admit([(tag, ["nobody"])], int(time.time()))
    assert target.install(tag, admission.epoch, "gen1", seed)
    return "gen1"


def test_a_peek_refuses_exactly_what_the_admission_refuses(store: StoreUnderTest) -> None:
    target, rng = _store(store), random.Random(15)
    seeds = {
        "env:count": Seed(left=4, members={"m0": 1}),
        "tpl:limit": Seed(left=5, limit=2, members={"m1": 2}),
        "camp:until": Seed(left=40, lo=2, hi=9, mode="until", members={"m2": 2**40}),
    }
    peeker = Peeker(target)
    seen: set[str] = set()

    async def check() -> None:
        for tag, seed in seeds.items():
            gen = _install(target, tag, seed)
            in_flight: list[tuple[str, bool]] = []
            for _ in range(40):
                member, now = rng.choice(MEMBERS), int(time.time())
                peeked = await peeker.peek(tag, member, now)
                before = target.admit([(tag, [member])], now)[0].verdicts[0]
                seen.add(peeked)
                assert (peeked if peeked in REFUSED else ASK) == (
                    before if before in REFUSED else ASK
                ), (tag, member, peeked, before)
                if before == "reserved":
                    in_flight.append((member, True))
                if in_flight and rng.random() < 0.6:  # settle one: granted, or refused by the db
                    held_by, reserved = in_flight.pop(rng.randrange(len(in_flight)))
                    kind = rng.choice("gax")
                    amount = seed.hi if kind == "g" else 0
                    target.settle([(tag, gen, [(held_by, reserved, kind, amount, 2**40)])])
        await peeker.close()

    _run(check())
    assert seen == {"already", "exhausted", ASK}


def test_a_peek_changes_nothing(store: StoreUnderTest) -> None:
    target = _store(store)
    _install(target, "env:one", Seed(left=1))
    peeker = Peeker(target)

    async def peek_many() -> list[str]:
        verdicts = await asyncio.gather(*(peeker.peek("env:one", m, 0) for m in MEMBERS))
        await peeker.close()
        return list(verdicts)

    assert _run(peek_many()) == [ASK] * len(MEMBERS)  # together, in one round trip
    (admission,) = target.admit([("env:one", ["m0", "m1"])], 0)
    assert admission.verdicts == ("reserved", "pass")  # no peek had reserved the one share
    assert _run(Peeker(target).peek("env:nothing", "m0", 0)) == ASK  # not seeded


def test_the_gate_refuses_on_the_loop_with_the_databases_words(store: StoreUnderTest) -> None:
    gates = store.gates()
    tag = "env:e1"
    gen = _install(gates.grab.store, tag, Seed(left=1))
    gates.grab.store.settle([(tag, gen, [("holder", False, "g", 1, 0)])])

    async def refusals() -> list[str | None]:
        found = []
        for shopper in ("holder", "late"):
            refusal = await gates.grab.refusal(GrabRequest("e1", shopper))
            found.append(refusal.code if refusal else None)
        gates.grab.forget("env:other")  # a forget the store has taken: refusals go on
        gates.grab._unforgotten.add("env:owed")  # one it owes: nothing refused until taken
        found.append(await gates.grab.refusal(GrabRequest("e1", "late")) and "refused")
        await gates.close()
        return found

    assert _run(refusals()) == ["already_grabbed", "envelope_empty", None]


def test_a_failing_redis_refuses_nothing_on_the_loop() -> None:
    gates = make_gates("redis://127.0.0.1:1/0")  # nothing listens there
    assert _run(gates.grab.refusal(GrabRequest("e1", "s1"))) is None
    assert not gates.grab.in_use  # the batch's database alone decides for a while
