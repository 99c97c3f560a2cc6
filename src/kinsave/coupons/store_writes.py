"""The store's checkout writes (reserve, paid, cancel, refund), committed together by a batcher.

Each is a few short statements, and one durable commit (an fsync, and on SQLite the one writer's
turn) per request cost more than the statements themselves: the checkout's writes ran at 20 to
50 req/s beside quotes at hundreds (docs/benchmarks.md, "Checkout at holiday speed"). So the
routes hand each write to the checkout batcher (batcher.py: one lane thread, one transaction and
one commit for everything queued). The writes run together inside ONE savepoint of that
transaction, not one savepoint each: a savepoint is two statements (SAVEPOINT and RELEASE, two
round trips on PostgreSQL) and a quarter of a write's statements, while almost every write
succeeds. When one is refused (or hits a constraint: a concurrent request of another process),
the savepoint rolls back the whole run, the writes before it run again together (they succeeded
on the same rows a moment ago), the refused one runs in a savepoint of its own so that exactly its
rows go and it is answered as it would be alone (a constraint's write is run again by itself
after the batch), and the rest go on together. A batch with refusals so costs at most twice its
writes, never more. A run's audit entries (one per write) are written together at its end,
inside its savepoint, in one statement. A write with an
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
        answer, entry = self.run_for_entry(session)
        audit.record_rows(session, [entry])
        return answer

    def run_for_entry(self, session: Session) -> tuple[Answer, audit.AuditRow]:
        """The write, and its audit entry for the caller to record in the same transaction."""
        answer = self.run(session)
        return answer, audit.store_action_row(self.store, self.action, order=answer)


def run_store_writes(
    session: Session, writes: Sequence[StoreWrite]
) -> list[Answer | KinsaveError | RunAlone]:
    """The batch function: runs of writes in one savepoint each, a refused write in its own."""
    outcomes: list[Answer | KinsaveError | RunAlone] = []
    rest = list(writes)
    while rest:
        answers, refused_at = _run_together(session, rest)
        outcomes += answers
        if refused_at is None:
            break
        outcomes.append(_run_in_own_savepoint(session, rest[refused_at]))
        rest = rest[refused_at + 1 :]
    return outcomes


class _Refused(Exception):
    """Raised inside a run's savepoint to roll the whole run back."""

    def __init__(self, at: int) -> None:
        self.at = at


def _run_together(session: Session, writes: list[StoreWrite]) -> tuple[list[Answer], int | None]:
    """The writes in one savepoint, kept when all succeed; else the answers of those before the
    first refused one (run again together and kept) and its index, nothing of it kept."""
    try:
        with session.begin_nested():
            answers: list[Answer] = []
            entries: list[audit.AuditRow] = []
            for at, write in enumerate(writes):
                try:
                    answer, entry = write.run_for_entry(session)
                except (KinsaveError, IntegrityError) as refusal:
                    raise _Refused(at) from refusal
                answers.append(answer)
                entries.append(entry)
            audit.record_rows(session, entries)
    except _Refused as refused:
        if refused.at == 0:
            return [], 0
        before, again = _run_together(session, writes[: refused.at])
        if again is not None:  # a write that succeeded a moment ago was refused now
            return before, again
        return before, refused.at
    return answers, None


def _run_in_own_savepoint(session: Session, write: StoreWrite) -> Answer | KinsaveError | RunAlone:
    try:
        with session.begin_nested():
            return write(session)
    except KinsaveError as refusal:  # its savepoint rolled back: nothing of it was kept
        return refusal
    except IntegrityError:  # raced by another transaction: settle it by itself
        return RUN_ALONE


def run_store_write(session: Session, write: StoreWrite) -> Answer:
    """A write by itself, in its own unit of work (after a failed batch, or RUN_ALONE)."""
    return write(session)
