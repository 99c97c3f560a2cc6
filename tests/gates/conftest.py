"""The gates under test: the same tests run on the in-memory store and on Redis."""

import asyncio
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth.models import Shopper
from kinsave.batcher import Batcher
from kinsave.coupons import claims
from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import daily, grabs
from kinsave.errors import KinsaveError
from kinsave.gates import Gates, make_gates
from kinsave.gates.store import MemoryStore
from kinsave.ledger import service as ledger
from tests.conftest import REDIS_URL, _unreachable


class StoreUnderTest:
    """A gate store and the means to wipe it (FLUSHALL on this test's own Redis database)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.memory = MemoryStore()
        if kind == "redis":
            try:
                redis.Redis.from_url(REDIS_URL).ping()
            except redis.RedisError as error:
                _unreachable("Redis", error)
            self.flush()

    def gates(self) -> Gates:
        """A new set of gates on the shared store: another API process."""
        if self.kind == "redis":
            return make_gates(REDIS_URL)
        return make_gates(store=self.memory)

    def flush(self) -> None:
        if self.kind == "redis":
            redis.Redis.from_url(REDIS_URL).flushdb()
        else:
            self.memory.flush()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StoreUnderTest]:
    yield StoreUnderTest(request.param)


def shoppers_with_wallets(
    session_factory: sessionmaker[Session], shop_id: str, names: Sequence[str]
) -> None:
    with unit_of_work(session_factory) as session:
        for name in names:
            session.add(Shopper(id=name, display_name=name, created_at=utcnow()))
        session.flush()
        for name in names:
            ledger.wallet_account(session, name, shop_id)


def codes(outcomes: Sequence[Any]) -> list[str]:
    return [o.code if hasattr(o, "code") else "ok" for o in outcomes]


BATCH_FUNCTIONS: dict[str, Any] = {
    "grab": (grabs.book_grabs, grabs.grab_alone),
    "daily": (daily.book_daily_claims, None),
    "coupon": (claims.claim_many, None),
}


class Taps:
    """A batcher per movement with its gate (or without: the database alone). A tap is asked as
    the routes ask it: `Batcher.answer` on an event loop (its own thread here), so the gate's
    admissions on the loop (gates/front_door.py) and the batch's join are both under test."""

    def __init__(self, session_factory: sessionmaker[Session], gates: Gates | None) -> None:
        self.gates = gates
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._loop_thread.start()
        self.batchers = {
            name: Batcher(
                session_factory,
                batch,
                run_alone=alone,
                lanes=2,
                max_batch=32,
                gate=getattr(gates, name) if gates else None,
                name=f"test-{name}",
            )
            for name, (batch, alone) in BATCH_FUNCTIONS.items()
        }

    def tap(self, kind: str, item: Any, order_key: str = "") -> Any:
        answer = self.batchers[kind].answer(item, order_key=order_key)
        try:
            return asyncio.run_coroutine_threadsafe(answer, self.loop).result()
        except KinsaveError as refusal:
            return refusal

    def stop(self) -> None:
        for batcher in self.batchers.values():
            batcher.stop()
        if self.gates is not None:
            asyncio.run_coroutine_threadsafe(self.gates.close(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join()
        self.loop.close()


@pytest.fixture
def taps_for(session_factory) -> Iterator[Any]:
    made: list[Taps] = []

    def make(gates: Gates | None) -> Taps:
        made.append(Taps(session_factory, gates))
        return made[-1]

    yield make
    for taps in made:
        taps.stop()
