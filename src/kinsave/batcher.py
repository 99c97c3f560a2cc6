"""The batcher: group commit for short money moves (a transaction boundary, like the request's).

Request handlers hand the batcher an item (a grab, a daily or coupon claim; or a session token
to look up) and wait for its answer. One lane thread takes everything queued, gives the whole
batch to the batch function in ONE unit of work and commits once, so one durable commit (one
fsync) and, on PostgreSQL, one pipelined round trip pay for many moves. Each item still gets its
own answer: the batch function returns one outcome per item, a result or a refusal (a
KinsaveError), and a refused item must have left nothing written. Results are handed back only
after the commit succeeded.

If the shared transaction fails as a whole (a constraint raced by another process, a deadlock, a
lost connection), nothing of it was committed and every item is run again alone in its own unit
of work, exactly as if there had been no batch. So batching never changes an answer.

A batch never waits on anything while it holds its own locks. An item the batch function can not
settle without waiting for another transaction (a grab whose envelope's open shares are all held
by other processes' grabs in flight) gets a RetryLater: the lane puts it back and tries it again
in a later batch a moment later, for up to `retry_seconds`, then answers the refusal it carries;
meanwhile the lane goes on with other items. An item that needs a path of its own gets RUN_ALONE:
the lane runs it by itself right after the batch commits.

With a gate (gates/), a batch first asks it which items it refuses, in one round trip before any
database work: those are answered at once (a batch refused whole checks out no connection). The
gate is told every outcome after the commit (`settle`), or gets its reservations back (`release`);
it sends them with the next batch's admission, or when the lane has nothing queued (`flush`).

Handlers on the event loop `await batcher.answer(...)` (the gate's admission first, on the loop:
a refusal is answered there, an admitted item joins its batch with its admission; then `submit`:
no thread held while the batch commits); threaded callers use `batcher.run(...)`.
"""

import asyncio
import logging
import queue
import threading
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kinsave.batch_answers import EventLoopAnswer, ItemAnswer, deliver
from kinsave.batch_outcomes import (
    RUN_ALONE,
    AloneFunction,
    BatchFunction,
    RetryLater,
    RunAlone,
)
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.ops import metrics

log = logging.getLogger("kinsave.batcher")
Item = TypeVar("Item")
Result = TypeVar("Result")


RETRY_SECONDS = 1.0  # how long an item may keep coming back RETRY_LATER, by default
RETRY_DELAY_SECONDS = 0.002  # between its tries: another transaction commits within a few ms
_MAX_KEYS_IN_TURN = 10_000  # keys_take_turns: past this many keys, new keys go by their hash
ANSWERED = object()  # an item's outcome already handed to its caller (a gate's refusal)


class BatchGate(Protocol):
    """What the batcher asks of a gate (gates/gate.py)."""

    def admit(self, items: Sequence[Any]) -> Any: ...

    def join(self, items: Sequence[Any], fronts: Sequence[Any]) -> Any: ...

    def refusals(self, ticket: Any) -> list[KinsaveError | None]: ...

    async def front(self, item: Any) -> Any: ...

    def load(self, session: Session, ticket: Any) -> None: ...

    def settle(self, ticket: Any, outcomes: Sequence[object | None]) -> None: ...

    def release(self, ticket: Any) -> None: ...

    def flush(self) -> None: ...


def _as_batch_of_one(run_batch: BatchFunction[Item, Result]) -> AloneFunction[Item, Result]:
    def alone(session: Session, item: Item) -> Result | KinsaveError | RunAlone | RetryLater:
        (outcome,) = run_batch(session, [item])
        return outcome

    return alone


class Batcher(Generic[Item, Result]):
    """`lanes` threads, each committing its queued items in shared transactions.

    Items with the same `order_key` (an envelope, a campaign) always go to the same lane, so two
    lanes of one process never fight over one hot row, and each lane keeps its own connection busy.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        run_batch: BatchFunction[Item, Result],
        *,
        max_batch: int = 64,
        lanes: int = 4,
        retry_seconds: float = RETRY_SECONDS,
        run_alone: AloneFunction[Item, Result] | None = None,
        name: str = "batch",
        gate: BatchGate | None = None,
        keys_take_turns: bool = False,
    ) -> None:
        """`run_alone(session, item)` runs an item by itself (RUN_ALONE, or the rerun of a failed
        batch); by default the batch function with a batch of one. `name` labels its metrics.
        `gate` answers refusals before the database (see the module docstring).
        `keys_take_turns`: each new order key takes the next lane in turn and keeps it, for a
        batcher of few busy keys (the checkout's shops), which a hash may put on one lane."""
        alone = run_alone or _as_batch_of_one(run_batch)
        self.gate = gate
        self._lanes: list[_Lane[Item, Result]] = [
            _Lane(session_factory, run_batch, alone, max_batch, retry_seconds, name, gate)
            for _ in range(lanes)
        ]
        self._keys_take_turns = keys_take_turns and lanes > 1
        self._lane_of_key: dict[str, _Lane[Item, Result]] = {}
        self._turns = threading.Lock()

    def submit(
        self, item: Item, *, order_key: str = "", admitted: object = None
    ) -> "asyncio.Future[Result]":
        """Queue `item`; the awaitable answer (its result, or its KinsaveError raised).

        `order_key` picks the lane and sorts a batch, so that batchers in two processes take hot
        rows in the same order and do not deadlock each other. `admitted`: the gate's admission
        of the item already made (`answer`), which its batch then uses instead of asking again.
        """
        answer: EventLoopAnswer[Result] = EventLoopAnswer(asyncio.get_running_loop())
        self._lane(order_key).put(item, order_key, answer, admitted)
        return answer.future

    async def answer(self, item: Item, *, order_key: str = "") -> Result:
        """`submit` behind the gate's front door (gates/front_door.py): the item is admitted on
        the event loop; a refusal (most of a storm's answers) is raised at once, without a lane,
        and an admitted item is submitted with its admission, which its batch uses: one store
        round trip per tap before the database, refused or granted."""
        admitted = await self.gate.front(item) if self.gate is not None else None
        if isinstance(admitted, KinsaveError):
            try:
                raise admitted
            finally:
                # The raised refusal's traceback holds this frame, whose `admitted` holds the
                # refusal: a cycle only the garbage collector frees, and with it every object the
                # request's frames hold. Without it, refcounting frees each refusal at once.
                del admitted
        return await self.submit(item, order_key=order_key, admitted=admitted)

    def run(self, item: Item, *, order_key: str = "") -> Result:
        """`submit` for a thread: blocks until the item's batch committed (or refused it)."""
        future: Future[Result] = Future()
        self._lane(order_key).put(item, order_key, future)
        return future.result()

    def stop(self) -> None:
        for lane in self._lanes:
            lane.stop()

    def _lane(self, order_key: str) -> "_Lane[Item, Result]":
        lane = self._lane_of_key.get(order_key) if self._keys_take_turns else None
        if lane is not None:
            return lane
        by_hash = self._lanes[zlib.crc32(order_key.encode()) % len(self._lanes)]
        if not self._keys_take_turns:
            return by_hash
        with self._turns:
            # A key keeps its lane for good (its items never run on two lanes at once); past
            # _MAX_KEYS_IN_TURN keys the turns are moot, and new keys go by their hash.
            if len(self._lane_of_key) >= _MAX_KEYS_IN_TURN:
                return self._lane_of_key.get(order_key, by_hash)
            turn = self._lanes[len(self._lane_of_key) % len(self._lanes)]
            return self._lane_of_key.setdefault(order_key, turn)


@dataclass(slots=True, eq=False)  # entries are compared by identity
class _Entry(Generic[Item, Result]):
    order_key: str
    item: Item
    answer: ItemAnswer
    admitted: object = None  # the gate's admission made before it was queued (its first try)
    give_up_at: float | None = None  # set by its first RETRY_LATER
    due: float = 0.0  # not tried again before (time.monotonic())


class _Lane(Generic[Item, Result]):
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        run_batch: BatchFunction[Item, Result],
        run_alone: AloneFunction[Item, Result],
        max_batch: int,
        retry_seconds: float,
        name: str,
        gate: BatchGate | None = None,
    ) -> None:
        self._gate = gate
        self._batch_size = metrics.BATCH_SIZE.labels(name)
        self._queue_depth = metrics.QUEUE_DEPTH.labels(name)
        self._session_factory = session_factory
        self._run_batch = run_batch
        self._run_alone_fn = run_alone
        self._max_batch = max_batch
        self._retry_seconds = retry_seconds
        self._queue: queue.SimpleQueue[_Entry[Item, Result] | None] = queue.SimpleQueue()
        self._later: list[_Entry[Item, Result]] = []  # RETRY_LATER items; the lane thread's own
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, item: Item, order_key: str, answer: ItemAnswer, admitted: object = None) -> None:
        self._ensure_started()
        self._queue.put(_Entry(order_key, item, answer, admitted))

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="kinsave-batcher", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            batch.sort(key=lambda entry: entry.order_key)
            self._commit(batch)
        self._give_up(self._later)
        if self._gate is not None:
            self._gate.flush()

    def _next_batch(self) -> list[_Entry[Item, Result]] | None:
        """Items due for another try, and what is queued; blocks until there is something."""
        while True:
            batch = self._due_later()
            if not batch and self._gate is not None and self._queue.empty():
                self._gate.flush()  # no next batch to carry the gate's held settlements
            try:
                first = self._queue.get(block=not batch, timeout=self._until_next_try())
            except queue.Empty:
                if batch:
                    return batch
                continue  # an item waiting for another try is due now
            if first is None:
                self._give_up(batch)
                return None
            batch.append(first)
            while len(batch) < self._max_batch:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(entry)
            return batch

    def _due_later(self) -> list[_Entry[Item, Result]]:
        now = time.monotonic()
        due = [entry for entry in self._later if entry.due <= now][: self._max_batch]
        self._later = [entry for entry in self._later if entry not in due]  # identity: eq=False
        return due

    def _until_next_try(self) -> float | None:
        if not self._later:
            return None
        return max(0.0, min(entry.due for entry in self._later) - time.monotonic())

    def _commit(self, batch: list[_Entry[Item, Result]]) -> None:
        self._batch_size.observe(len(batch))
        self._queue_depth.set(self._queue.qsize())
        outcomes = self._outcomes(batch)
        alone: list[_Entry[Item, Result]] = []
        settled: list[ItemAnswer] = []
        for entry, outcome in zip(batch, outcomes, strict=True):
            if outcome is ANSWERED:
                continue
            if isinstance(outcome, RunAlone):
                alone.append(entry)
                continue
            if isinstance(outcome, RetryLater):
                if self._try_later(entry):
                    continue
                outcome = outcome.give_up()
            if isinstance(outcome, KinsaveError):
                entry.answer.set_exception(outcome)
            else:
                entry.answer.set_result(outcome)
            settled.append(entry.answer)
        deliver(settled)  # the committed answers first: none waits for an item run alone
        for entry in alone:
            self._run_alone(entry.item, entry.answer)
            deliver([entry.answer])

    def _outcomes(self, batch: list[_Entry[Item, Result]]) -> list[Any]:
        """One outcome per item: the gate's refusals, answered at once (ANSWERED: a refusal is
        final whatever the batch does, and its caller need not wait for the commit), then the
        batch function's in one unit of work for the rest (none at all when the gate refused
        every item)."""
        gate, items = self._gate, [entry.item for entry in batch]
        ticket = gate.join(items, [entry.admitted for entry in batch]) if gate is not None else None
        for entry in batch:
            entry.admitted = None  # settled with this batch: a retry is admitted anew
        outcomes: list[Any] = (
            _answer_refusals(batch, gate.refusals(ticket))
            if gate is not None
            else [None] * len(items)
        )
        todo = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if not todo:
            return outcomes
        try:
            with unit_of_work(self._session_factory) as session:
                if gate is not None:
                    gate.load(session, ticket)  # seeds targets it has never seen; else nothing
                    refusals = gate.refusals(ticket)
                    for i in todo:
                        outcomes[i] = refusals[i]
                    todo = [i for i in todo if outcomes[i] is None]
                ran = self._run_batch(session, [items[i] for i in todo]) if todo else []
        except Exception:  # the shared transaction is gone: run each item alone
            log.debug("batch of %d failed; running each alone", len(todo), exc_info=True)
            if gate is not None:
                gate.release(ticket)
            for i in todo:
                outcomes[i] = RUN_ALONE
            return outcomes
        for i, outcome in zip(todo, ran, strict=True):
            outcomes[i] = outcome
        if gate is not None:
            gate.settle(ticket, outcomes)
        return outcomes

    def _try_later(self, entry: _Entry[Item, Result]) -> bool:
        """Put an item back for a later batch; False once it has been retried long enough."""
        now = time.monotonic()
        if entry.give_up_at is None:
            entry.give_up_at = now + self._retry_seconds
        if now >= entry.give_up_at:
            return False
        entry.due = now + RETRY_DELAY_SECONDS
        self._later.append(entry)
        return True

    def _give_up(self, entries: list[_Entry[Item, Result]]) -> None:
        for entry in entries:
            entry.answer.set_exception(KinsaveError("service_unavailable", "busy; retry"))
        deliver([entry.answer for entry in entries])

    def _run_alone(self, item: Item, answer: ItemAnswer) -> None:
        try:
            with unit_of_work(self._session_factory) as session:
                outcome = self._run_alone_fn(session, item)
                if isinstance(outcome, KinsaveError):
                    raise outcome  # roll back whatever the refusal's checks touched
                if isinstance(outcome, RetryLater):
                    raise outcome.give_up()
                if isinstance(outcome, RunAlone):
                    raise KinsaveError("service_unavailable", "busy; retry")
        except BaseException as error:  # the caller re-raises it
            answer.set_exception(error)
        else:
            answer.set_result(outcome)


def _answer_refusals(
    batch: Sequence[_Entry[Any, Any]], refusals: list[KinsaveError | None]
) -> list[Any]:
    """Hand the gate's refusals to their callers now; ANSWERED in their place, None elsewhere."""
    answered = []
    for entry, refusal in zip(batch, refusals, strict=True):
        if refusal is not None:
            entry.answer.set_exception(refusal)
            answered.append(entry.answer)
    deliver(answered)
    return [None if refusal is None else ANSWERED for refusal in refusals]
