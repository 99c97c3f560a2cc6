"""Gates: storm refusals answered before any database work (gate.py; docs/reliability.md).

`make_gates(redis_url)` builds the grab, daily and coupon gates on one store: Redis when
KINSAVE_REDIS_URL is set (`redis+cluster://host:port` for a Redis Cluster), else this process's
memory (the embedded default, one API process).
"""

import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from kinsave.db import GATES_TO_FORGET
from kinsave.gates.gate import Gate
from kinsave.gates.kinds import CouponKind, DailyKind, GrabKind
from kinsave.gates.store import MemoryStore, RedisStore, Store


@dataclass(frozen=True, slots=True)
class Gates:
    grab: Gate[Any]
    daily: Gate[Any]
    coupon: Gate[Any]

    async def close(self) -> None:
        """At shutdown, on the event loop that asked their refusals."""
        for gate in (self.grab, self.daily, self.coupon):
            await gate.close()


_GATES: "weakref.WeakSet[Gate[Any]]" = weakref.WeakSet()


def make_gates(redis_url: str | None = None, *, store: Store | None = None) -> Gates:
    store = store or (RedisStore(redis_url) if redis_url else MemoryStore())
    gates = Gates(Gate(GrabKind(), store), Gate(DailyKind(), store), Gate(CouponKind(), store))
    _GATES.update((gates.grab, gates.daily, gates.coupon))
    return gates


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    """A budget that went up (a top-up, an envelope's refund), a campaign or template paused or
    resumed: the gates seed those targets anew (db.forget_gate_after_commit)."""
    tags = session.info.pop(GATES_TO_FORGET, None)
    for gate in list(_GATES) if tags else []:
        for tag in tags:
            gate.forget(tag)  # never raises: a store that fails takes it later


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(GATES_TO_FORGET, None)
