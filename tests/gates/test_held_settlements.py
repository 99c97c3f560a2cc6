"""A batch's settlements ride with the next admission (one store round trip per batch), or are
sent when nothing else would carry them: a batch admitted whole at the front door, a lane with
nothing queued. None is stranded. And a gate's refusals are answered before the batch's commit."""

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy.orm import Session

from kinsave.batcher import Batcher
from kinsave.envelopes.grabs import GrabRequest
from kinsave.errors import KinsaveError
from kinsave.gates.store import MemoryStore, RedisStore, Seed
from tests.gates.conftest import StoreUnderTest


def _install(target: MemoryStore | RedisStore, tag: str, left: int) -> None:
    (admission,) = target.admit([(tag, ["nobody"])], 0)
    assert target.install(tag, admission.epoch, "gen1", Seed(left=left))


def _store_verdict(target: MemoryStore | RedisStore, tag: str, member: str) -> str:
    """The store's own verdict, asked past the gate (so carrying none of its held settlements)."""
    (admission,) = target.admit([(tag, [member])], 0)
    return admission.verdicts[0]


def _front(gate: Any, item: GrabRequest) -> Any:
    async def admit() -> Any:
        ticket = await gate.front(item)
        await gate.close()
        return ticket

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, admit()).result()


def test_a_settlement_goes_with_the_next_admission(store: StoreUnderTest) -> None:
    gate = store.gates().grab
    _install(gate.store, "env:h1", left=1)
    ticket = gate.admit([GrabRequest("h1", "m0")])
    assert ticket.verdicts == ["reserved"]  # the one share
    gate.release(ticket)  # the batch committed nothing: the share is given back, but held
    assert _store_verdict(gate.store, "env:h1", "m1") == "pass"  # still reserved in the store
    # The gate's next admission carries the release first, in the same round trip.
    assert gate.admit([GrabRequest("h1", "m2")]).verdicts == ["reserved"]


def test_flush_sends_what_is_held(store: StoreUnderTest) -> None:
    gate = store.gates().grab
    _install(gate.store, "env:h2", left=1)
    gate.release(gate.admit([GrabRequest("h2", "m0")]))
    gate.flush()
    assert _store_verdict(gate.store, "env:h2", "m1") == "reserved"
    gate.flush()  # nothing held: nothing sent


def test_a_batch_admitted_at_the_front_door_sends_the_held_settlements(
    store: StoreUnderTest,
) -> None:
    gate = store.gates().grab
    _install(gate.store, "env:h3", left=1)
    _install(gate.store, "env:h4", left=5)
    gate.release(gate.admit([GrabRequest("h3", "m0")]))
    front = _front(gate, GrabRequest("h4", "m0"))
    ticket = gate.join([GrabRequest("h4", "m0")], [front])  # asks the store nothing else
    assert ticket.verdicts == ["reserved"]
    assert _store_verdict(gate.store, "env:h3", "m1") == "reserved"  # the release was sent


class _RecordingGate:
    """A gate that refuses items named `no-*`, and records what the lane asks of it."""

    def __init__(self) -> None:
        self.flushed = threading.Event()
        self.settled: list[list[Any]] = []

    def join(self, items: Sequence[str], fronts: Sequence[Any]) -> list[str]:
        self.flushed.clear()
        return list(items)

    def admit(self, items: Sequence[str]) -> list[str]:
        return list(items)

    def refusals(self, ticket: list[str]) -> list[KinsaveError | None]:
        return [KinsaveError("envelope_empty", "empty") if i[:3] == "no-" else None for i in ticket]

    async def front(self, item: str) -> None:
        return None

    def load(self, session: Session, ticket: list[str]) -> None:
        return None

    def settle(self, ticket: list[str], outcomes: Sequence[object | None]) -> None:
        self.settled.append(list(ticket))

    def release(self, ticket: list[str]) -> None:
        self.settled.append(list(ticket))

    def flush(self) -> None:
        self.flushed.set()


def test_refusals_are_answered_before_the_commit_and_an_idle_lane_flushes(
    session_factory,
) -> None:
    gate = _RecordingGate()
    entered, let_go = threading.Event(), threading.Event()
    answers: dict[str, Future[str]] = {}
    seen_done: list[bool] = []

    def run_batch(session: Session, items: list[str]) -> list[str]:
        if items == ["first"]:
            entered.set()
            let_go.wait(5)  # holds the lane while the next batch queues up
        else:
            # the refused caller has its answer while this batch has not committed yet
            seen_done.append(bool(wait([answers["no-1"]], timeout=5).done))
        return [f"ok {item}" for item in items]

    batcher = Batcher(session_factory, run_batch, lanes=1, gate=gate, name="test-held")
    queued = batcher._lanes[0]._queue
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers["first"] = pool.submit(batcher.run, "first")
        assert entered.wait(5)
        answers["no-1"] = pool.submit(batcher.run, "no-1")
        answers["yes-1"] = pool.submit(batcher.run, "yes-1")
        for _ in range(500):  # both queued: they make the next batch together
            if queued.qsize() == 2:
                break
            threading.Event().wait(0.01)
        let_go.set()
        assert answers["first"].result() == "ok first"
        assert answers["yes-1"].result() == "ok yes-1"
        refusal = answers["no-1"].exception()
    assert isinstance(refusal, KinsaveError) and refusal.code == "envelope_empty"
    assert seen_done == [True]  # the refusal was answered before the batch's own work
    assert gate.flushed.wait(5)  # nothing queued after it: the lane sent what it held
    assert sorted(gate.settled[-1]) == ["no-1", "yes-1"]
    batcher.stop()
