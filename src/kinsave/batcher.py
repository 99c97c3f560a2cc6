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

An item the batch function can not settle without waiting on locks held by other transactions
gets RUN_ALONE: the lane runs it by itself right after the batch commits, so a batch never waits
on anything while it holds its own locks.

Handlers on the event loop `await batcher.submit(...)` (no thread held while the batch commits);
threaded callers use `batcher.run(...)`.
"""

import asyncio
import logging
import queue
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError

log = logging.getLogger("kinsave.batcher")
Item = TypeVar("Item")
Result = TypeVar("Result")
Result_co = TypeVar("Result_co", covariant=True)


class RunAlone:
    """The outcome "run this item by itself after the batch": see the module docstring."""


RUN_ALONE = RunAlone()
BatchFunction = Callable[[Session, Sequence[Item]], Sequence[Result | KinsaveError | RunAlone]]


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
    ) -> None:
        self._lanes = [_Lane(session_factory, run_batch, max_batch) for _ in range(lanes)]

    def submit(self, item: Item, *, order_key: str = "") -> "asyncio.Future[Result]":
        """Queue `item`; the awaitable answer (its result, or its KinsaveError raised).

        `order_key` picks the lane and sorts a batch, so that batchers in two processes take hot
        rows in the same order and do not deadlock each other.
        """
        answer: _LoopAnswer[Result] = _LoopAnswer(asyncio.get_running_loop())
        self._lane(order_key).put(item, order_key, answer)
        return answer.future

    def run(self, item: Item, *, order_key: str = "") -> Result:
        """`submit` for a thread: blocks until the item's batch committed (or refused it)."""
        future: Future[Result] = Future()
        self._lane(order_key).put(item, order_key, future)
        return future.result()

    def stop(self) -> None:
        for lane in self._lanes:
            lane.stop()

    def _lane(self, order_key: str) -> "_Lane[Item, Result]":
        return self._lanes[zlib.crc32(order_key.encode()) % len(self._lanes)]


class _Answer(Protocol[Result_co]):
    """Where an item's outcome goes: a thread's Future, or a handler's _LoopAnswer."""

    def set_result(self, result: Any, /) -> None: ...

    def set_exception(self, exception: BaseException | None, /) -> None: ...


class _LoopAnswer(Generic[Result]):
    """The answer to a handler on an event loop. The lane records the outcome and hands a whole
    batch's answers to each loop in one call (`deliver`): one wake-up of the loop per batch,
    not one per item."""

    __slots__ = ("future", "loop", "outcome")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[Result] = loop.create_future()
        self.outcome: tuple[bool, Any] | None = None

    def set_result(self, result: Any, /) -> None:
        self.outcome = (True, result)

    def set_exception(self, exception: BaseException | None, /) -> None:
        self.outcome = (False, exception)

    def settle(self) -> None:  # on the loop's own thread
        if self.outcome is None or self.future.done():
            return  # the handler went away (a client that disconnected cancels its future)
        ok, value = self.outcome
        if ok:
            self.future.set_result(value)
        else:
            self.future.set_exception(value)


def deliver(answers: list[_Answer[Any]]) -> None:
    """Hand recorded outcomes to their event loops, one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_LoopAnswer[Any]]] = {}
    for answer in answers:
        if isinstance(answer, _LoopAnswer):
            by_loop.setdefault(answer.loop, []).append(answer)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_all, group)
        except RuntimeError:  # the loop is closed: the server is shutting down
            log.debug("dropped %d answers for a closed event loop", len(group))


def _settle_all(answers: list[_LoopAnswer[Any]]) -> None:
    for answer in answers:
        answer.settle()


class _Lane(Generic[Item, Result]):
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        run_batch: BatchFunction[Item, Result],
        max_batch: int,
    ) -> None:
        self._session_factory = session_factory
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Item, _Answer[Result]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, item: Item, order_key: str, answer: _Answer[Result]) -> None:
        self._ensure_started()
        self._queue.put((order_key, item, answer))

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
            batch.sort(key=lambda entry: entry[0])
            self._commit([item for _, item, _ in batch], [answer for _, _, answer in batch])

    def _next_batch(self) -> list[tuple[str, Item, _Answer[Result]]] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
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

    def _commit(self, items: list[Item], answers: list[_Answer[Result]]) -> None:
        try:
            with unit_of_work(self._session_factory) as session:
                outcomes: Sequence[Result | KinsaveError | RunAlone] = self._run_batch(
                    session, items
                )
        except Exception:  # the shared transaction is gone: run each item alone
            log.debug("batch of %d failed; running each alone", len(items), exc_info=True)
            outcomes = [RUN_ALONE] * len(items)
        alone: list[tuple[Item, _Answer[Result]]] = []
        settled: list[_Answer[Result]] = []
        for item, answer, outcome in zip(items, answers, outcomes, strict=True):
            if isinstance(outcome, RunAlone):
                alone.append((item, answer))
                continue
            if isinstance(outcome, KinsaveError):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)
            settled.append(answer)
        deliver(settled)  # the committed answers first: none waits for an item run alone
        for item, answer in alone:
            self._run_alone(item, answer)
            deliver([answer])

    def _run_alone(self, item: Item, answer: _Answer[Result]) -> None:
        try:
            with unit_of_work(self._session_factory) as session:
                (outcome,) = self._run_batch(session, [item])
                if isinstance(outcome, KinsaveError):
                    raise outcome  # roll back whatever the refusal's checks touched
                if isinstance(outcome, RunAlone):
                    raise KinsaveError("service_unavailable", "busy; retry")
        except BaseException as error:  # the caller re-raises it
            answer.set_exception(error)
        else:
            answer.set_result(outcome)
