"""The checkout quote's answers per process, as the JSON bytes the route sends.

A store quotes the same cart on every view. The answer is a pure function of what the route
reads on every quote (the shopper, the cart's lines with their categories, the fee, the credit
asked, the wallet balance, the held coupons with their terms and expiry, the channel and its
payment methods), so an answer found under the same key is the answer: nothing is ever
invalidated by hand, and any change of the shopper's coupons or wallet is a different key.

The answers are kept as bytes, not as the optimiser's objects: a repeated quote then costs no
serialisation, and the garbage collector has nothing to walk in them (4,096 answers of 80 objects
each made its full passes longer, pauses of the only event loop).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class AnswerMemory:
    """At most `max_entries` answers, the least recently used out first. Thread-safe."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def answer(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The answer remembered under `key`, else `make()`'s, then remembered."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
                return answer
        answer = make()
        with self._lock:
            self._answers[key] = answer
            if len(self._answers) > self._max_entries:
                self._answers.popitem(last=False)
        return answer
