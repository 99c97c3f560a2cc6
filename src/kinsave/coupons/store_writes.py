"""The store's checkout writes (reserve, paid, cancel, refund), committed together by a batcher.

Each is a few short statements, and one durable commit (an fsync, and on SQLite the one writer's
turn) per request cost more than the statements themselves: the checkout's writes ran at 20 to
50 req/s beside quotes at hundreds (docs/benchmarks.md, "Checkout at holiday speed"). So the
routes hand each write to the checkout batcher (batcher.py: one lane thread, one transaction and
one commit for everything queued). Each write runs in its own SAVEPOINT inside that transaction:
a refusal rolls back exactly its own rows and is answered as it would be alone, and a write that
hits a constraint (a concurrent request of another process) is run again by itself after the
batch. Its audit entry is written with it, inside the same savepoint. A write with an
Idempotency-Key runs alone (api.batched_or_alone), so that a retry replays its first answer.

The batch's order key is the shop: one shop's writes (which share its SHOP_REDEEMED account)
always go to the same lane, so two lanes never wait on each other's rows.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.auth.schemas import ShopPrincipal
from kinsave.batch_outcomes import RUN_ALONE, RunAlone
from kinsave.coupons.checkout_schemas import OrderOut, RefundOut
from kinsave.errors import KinsaveError
from kinsave.security import audit

Answer = OrderOut | RefundOut


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """One store request's write: the service call and the audit entry that records it."""

    store: ShopPrincipal
    action: str  # reserve, paid, cancel, refund: the audit entry's action
    run: Callable[[Session], Answer]

    def __call__(self, session: Session) -> Answer:
        answer = self.run(session)
        audit.record_store_action(session, self.store, self.action, order=answer)
        return answer


def run_store_writes(
    session: Session, writes: Sequence[StoreWrite]
) -> list[Answer | KinsaveError | RunAlone]:
    """The batch function: each write in its own savepoint of the batch's transaction."""
    outcomes: list[Answer | KinsaveError | RunAlone] = []
    for write in writes:
        try:
            with session.begin_nested():
                outcomes.append(write(session))
        except KinsaveError as refusal:  # its savepoint rolled back: nothing of it was kept
            outcomes.append(refusal)
        except IntegrityError:  # raced by another transaction: settle it by itself
            outcomes.append(RUN_ALONE)
    return outcomes


def run_store_write(session: Session, write: StoreWrite) -> Answer:
    """A write by itself, in its own unit of work (after a failed batch, or RUN_ALONE)."""
    return write(session)
