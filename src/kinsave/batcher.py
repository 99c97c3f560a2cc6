"""The batcher: group commit for short money moves (a transaction boundary, like the request's).

Request threads hand the batcher a piece of work (a function of a session) and wait. One batcher
thread takes everything queued, runs the pieces one after the other in ONE unit of work and
commits once, so one durable commit (one fsync) pays for many grabs. Each piece still gets its own
answer: a refusal (KinsaveError) is that piece's answer and must leave nothing written; a result
is handed back only after the commit succeeded.

If the shared transaction fails as a whole (a constraint raced by another process, a deadlock, a
lost connection), nothing of it was committed and every piece is run again alone in its own unit
of work, exactly as if there had been no batch. So batching never changes an answer.
"""

import logging
import queue
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError

log = logging.getLogger("kinsave.batcher")
T = TypeVar("T")
Work = Callable[[Session], Any]
_Item = tuple[str, Work, "Future[Any]"]


class Batcher:
    """`lanes` threads, each committing its queued work in shared transactions.

    Work with the same `order_key` (an envelope) always goes to the same lane, so two lanes never
    fight over one hot row (the envelope's escrow) and each lane keeps its own connection busy.
    """

    def __init__(
        self, session_factory: sessionmaker[Session], *, max_batch: int = 64, lanes: int = 4
    ) -> None:
        self._lanes = [_Lane(session_factory, max_batch) for _ in range(lanes)]

    def run(self, work: Callable[[Session], T], *, order_key: str = "") -> T:
        """Run `work` in the next batch and return its result (or raise its KinsaveError).

        `order_key` picks the lane and sorts a batch, so that batchers in two processes take hot
        rows in the same order and do not deadlock each other.
        """
        lane = self._lanes[zlib.crc32(order_key.encode()) % len(self._lanes)]
        result: T = lane.run(work, order_key)
        return result

    def stop(self) -> None:
        for lane in self._lanes:
            lane.stop()


class _Lane:
    def __init__(self, session_factory: sessionmaker[Session], max_batch: int) -> None:
        self._session_factory = session_factory
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, work: Work, order_key: str) -> Any:
        self._ensure_started()
        future: Future[Any] = Future()
        self._queue.put((order_key, work, future))
        return future.result()

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
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            batch.sort(key=lambda entry: entry[0])
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        try:
            with unit_of_work(self._session_factory) as session:
                outcomes = [_attempt(session, work) for _, work, _ in batch]
        except Exception:  # the shared transaction is gone: run each piece alone
            log.debug("batch of %d failed; running each alone", len(batch), exc_info=True)
            for _, work, future in batch:
                _run_alone(self._session_factory, work, future)
            return
        for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


def _attempt(session: Session, work: Work) -> tuple[bool, Any]:
    try:
        return True, work(session)
    except KinsaveError as refusal:
        return False, refusal


def _run_alone(session_factory: sessionmaker[Session], work: Work, future: "Future[Any]") -> None:
    try:
        with unit_of_work(session_factory) as session:
            result = work(session)
    except BaseException as error:  # the caller's thread re-raises it
        future.set_exception(error)
    else:
        future.set_result(result)
