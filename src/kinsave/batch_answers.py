"""How a batch's answers reach their callers: a thread's Future, or a handler's event loop.

The lane records each item's outcome; `deliver` then wakes each event loop once per batch, not
once per item.
"""

import asyncio
import logging
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("kinsave.batcher")
Result = TypeVar("Result")


class ItemAnswer(Protocol):
    """Where an item's outcome goes: a thread's Future, or a handler's EventLoopAnswer."""

    def set_result(self, result: Any, /) -> None: ...

    def set_exception(self, exception: BaseException | None, /) -> None: ...


class EventLoopAnswer(Generic[Result]):
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


def deliver(answers: list[ItemAnswer]) -> None:
    """Hand recorded outcomes to their event loops, one call per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[EventLoopAnswer[Any]]] = {}
    for answer in answers:
        if isinstance(answer, EventLoopAnswer):
            by_loop.setdefault(answer.loop, []).append(answer)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_all, group)
        except RuntimeError:  # the loop is closed: the server is shutting down
            log.debug("dropped %d answers for a closed event loop", len(group))


def _settle_all(answers: list[EventLoopAnswer[Any]]) -> None:
    for answer in answers:
        answer.settle()
