"""A tap's admission on the event loop (gates/front_door.py) is the batch's admission: the same
verdicts and reservations, in memory and in Redis, coalesced into one round trip; a reservation
whose asker went away is given back; a batch joins front tickets with its own admissions."""

import asyncio
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kinsave.envelopes.grabs import GrabRequest
from kinsave.errors import KinsaveError
from kinsave.gates import make_gates
from kinsave.gates.front_door import FrontDoor
from kinsave.gates.gate import Ticket
from kinsave.gates.store import MemoryStore, RedisStore, Seed
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


def _install(target: MemoryStore | RedisStore, tag: str, seed: Seed, gen: str = "gen1") -> str:
    (admission,) = target.admit([(tag, ["nobody"])], int(time.time()))
    assert target.install(tag, admission.epoch, gen, seed)
    return gen


def _not_settled(tag: str, gen: str, member: str) -> None:
    raise AssertionError(f"nothing should be given back here: {tag} {gen} {member}")


def test_the_front_door_admits_exactly_as_the_batch_does(store: StoreUnderTest) -> None:
    """Two twin targets with the same history: taps admitted together at the front door (one
    round trip) on one, and by the batch's admission on the other, get the same verdicts."""
    target, rng = _store(store), random.Random(15)
    seeds = {
        "count": Seed(left=4, members={"m0": 1}),
        "limit": Seed(left=5, limit=2, members={"m1": 2}),
        "until": Seed(left=40, lo=2, hi=9, mode="until", members={"m2": 2**40}),
    }
    front_door = FrontDoor(target, _not_settled)
    seen: set[str] = set()

    async def check() -> None:
        for name, seed in seeds.items():
            front, batch = f"env:front-{name}", f"env:batch-{name}"
            gens = {front: _install(target, front, seed), batch: _install(target, batch, seed)}
            in_flight: list[str] = []
            for _ in range(12):
                members, now = rng.choices(MEMBERS, k=3), int(time.time())
                admissions = await asyncio.gather(
                    *(front_door.admit(front, m, now) for m in members)
                )
                (admitted,) = target.admit([(batch, members)], now)
                verdicts = tuple(a.verdicts[0] for a in admissions)
                assert verdicts == admitted.verdicts, (name, members)
                assert {a.gen for a in admissions} == {"gen1"}
                seen.update(verdicts)
                in_flight += [m for m, v in zip(members, verdicts, strict=True) if v == "reserved"]
                while in_flight and rng.random() < 0.6:  # settle one: granted, or refused
                    member = in_flight.pop(rng.randrange(len(in_flight)))
                    kind = rng.choice("gax")
                    entry = (member, True, kind, seed.hi if kind == "g" else 0, 2**40)
                    target.settle([(tag, gens[tag], [entry]) for tag in (front, batch)])
        await front_door.close()

    _run(check())
    assert seen == {"already", "exhausted", "reserved", "pass"}


def test_a_reservation_whose_asker_went_away_is_given_back() -> None:
    target = RedisStore(REDIS_URL)
    target.forget("env:gone")
    gen = _install(target, "env:gone", Seed(left=1))
    given_back: list[tuple[str, str, str]] = []

    def give_back(tag: str, gen: str, member: str) -> None:
        given_back.append((tag, gen, member))
        target.settle([(tag, gen, [(member, True, "-", 0, 0)])])

    front_door = FrontDoor(target, give_back)

    async def ask_and_leave() -> None:
        asker = asyncio.ensure_future(front_door.admit("env:gone", "m0", 0))
        await asyncio.sleep(0)  # asked: its round trip is on its way
        asker.cancel()
        for _ in range(50):
            if given_back:
                break
            await asyncio.sleep(0.01)
        await front_door.close()

    _run(ask_and_leave())
    assert given_back == [("env:gone", gen, "m0")]
    (admission,) = target.admit([("env:gone", ["m1"])], 0)
    assert admission.verdicts == ("reserved",)  # the one share is free again


def test_the_gate_refuses_at_the_front_with_the_databases_words(store: StoreUnderTest) -> None:
    gates = store.gates()
    tag = "env:e1"
    gen = _install(gates.grab.store, tag, Seed(left=2))
    gates.grab.store.settle([(tag, gen, [("holder", False, "g", 1, 0)])])

    async def fronts() -> list[Any]:
        found: list[Any] = []
        for shopper in ("holder", "next", "late"):
            admitted = await gates.grab.front(GrabRequest("e1", shopper))
            found.append(admitted.code if isinstance(admitted, KinsaveError) else admitted)
        gates.grab.forget("env:other")  # a forget the store has taken: admissions go on
        gates.grab._unforgotten.add("env:owed")  # one it owes: the batch admits until taken
        found.append(await gates.grab.front(GrabRequest("e1", "last")))
        await gates.close()
        return found

    holder, next_, late, last = _run(fronts())
    assert holder == "already_grabbed"
    assert isinstance(next_, Ticket) and next_.verdicts == ["reserved"]
    assert isinstance(late, Ticket) and late.verdicts == ["pass"]  # the last share is reserved
    assert last is None


def test_a_batch_joins_front_tickets_and_its_own_admissions(store: StoreUnderTest) -> None:
    gates = store.gates()
    gate, target = gates.grab, gates.grab.store
    _install(target, "env:j", Seed(left=5))
    first = _run(gate.front(GrabRequest("j", "m0")))
    target.forget("env:j")  # a top-up between two taps: the target is seeded anew
    _install(target, "env:j", Seed(left=5), gen="gen2")
    second = _run(gate.front(GrabRequest("j", "m1")))
    items = [GrabRequest("j", "m0"), GrabRequest("j", "m1"), GrabRequest("j", "m2")]
    ticket = gate.join(items, [first, second, None])
    assert ticket.gens == {"env:j": "gen1"}  # the first ticket's generation stays
    assert ticket.verdicts == ["reserved", "pass", "pass"]
    # m1's reservation under gen2 was given back: its next tap is reserved, not passed
    (admission,) = target.admit([("env:j", ["m1"])], 0)
    assert admission.gen == "gen2" and admission.verdicts == ("reserved",)


def test_a_front_ticket_that_missed_is_admitted_again_when_its_batch_joins(
    store: StoreUnderTest,
) -> None:
    """A tap that found its target unseeded at the front holds nothing; seeded since (by an
    earlier batch), its batch admits it again and has nothing left to seed."""
    gates = store.gates()
    gate, target = gates.grab, gates.grab.store
    target.forget("env:m")
    missed = _run(gate.front(GrabRequest("m", "m0")))
    assert isinstance(missed, Ticket) and missed.verdicts == ["miss"]
    _install(target, "env:m", Seed(left=1, members={"m1": 1}))
    items = [GrabRequest("m", "m0"), GrabRequest("m", "m1")]
    ticket = gate.join(items, [missed, None])
    assert ticket.verdicts == ["reserved", "already"]
    assert ticket.gens == {"env:m": "gen1"}
    (admission,) = target.admit([("env:m", ["m3"])], 0)
    assert admission.verdicts == ("pass",)  # the one share is reserved for m0


def test_a_failing_redis_refuses_nothing_at_the_front() -> None:
    gates = make_gates("redis://127.0.0.1:1/0")  # nothing listens there
    assert _run(gates.grab.front(GrabRequest("e1", "s1"))) is None
    assert not gates.grab.in_use  # the batch's database alone decides for a while
