"""What a batch function answers for each item, and the shapes of batch functions.

A batch function (`BatchFunction`) gets a session and a batch of items and returns one outcome
per item: a result, a refusal (a KinsaveError), `RUN_ALONE` or a `RetryLater` (the batcher's
module docstring says what the lane does with each). `AloneFunction` runs one item by itself.
"""

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from kinsave.errors import KinsaveError

Item = TypeVar("Item")
Result = TypeVar("Result")


class RunAlone:
    """The outcome "run this item by itself after the batch": see kinsave.batcher."""


class RetryLater:
    """The outcome "try this item again in a later batch": see kinsave.batcher. `refusal`
    is the item's answer once it has come back for `retry_seconds`."""

    __slots__ = ("refusal",)

    def __init__(self, refusal: KinsaveError | None = None) -> None:
        self.refusal = refusal or KinsaveError("service_unavailable", "busy; retry")

    def give_up(self) -> KinsaveError:
        """The refusal, as a new exception (one raised for each item that gives up)."""
        return KinsaveError(self.refusal.code, self.refusal.message, details=self.refusal.details)


RUN_ALONE = RunAlone()
RETRY_LATER = RetryLater()
BatchFunction = Callable[
    [Session, Sequence[Item]], Sequence[Result | KinsaveError | RunAlone | RetryLater]
]
AloneFunction = Callable[[Session, Item], Result | KinsaveError | RunAlone | RetryLater]


def in_rounds(keys: Sequence[object]) -> list[list[int]]:
    """The indexes of a batch's items, in rounds where no key appears twice (a shopper tapping
    twice in one batch): each round is settled before the next, so a second tap sees the first
    exactly as it would one request later."""
    rounds: list[list[int]] = []
    seen: dict[object, int] = {}
    for index, key in enumerate(keys):
        round_number = seen.get(key, -1) + 1
        seen[key] = round_number
        if round_number == len(rounds):
            rounds.append([])
        rounds[round_number].append(index)
    return rounds
