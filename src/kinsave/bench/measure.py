"""Measurements: throughput, latency percentiles, and the threads that drive in-process load."""

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
# A variant gives each load thread its own caller (so raw drivers get a connection per thread).
# It answers "ok" or the refusal code, or ("ok", amount) when the answer carries an amount.
Answer = str | tuple[str, int | None]
Caller = Callable[[T], Answer]


@dataclass
class Measurement:
    scenario: str
    database: str
    mode: str  # in-process | http
    variant: str
    attempts: int
    seconds: float
    outcomes: dict[str, int]
    p50_ms: float
    p99_ms: float
    notes: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.attempts / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "throughput": round(self.throughput, 1)}


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


@dataclass
class LoadResult:
    seconds: float
    codes: list[str]  # one per attempt, in attempt order: "ok" or the refusal code
    latencies_ms: list[float]
    bodies: list[str] = field(default_factory=list)  # HTTP answers, when the scenario keeps them
    # The amount of each "ok" answer that carries one (a grab, a daily claim), else None.
    amounts: list[int | None] = field(default_factory=list)

    def summary(self) -> tuple[dict[str, int], float, float]:
        ordered = sorted(self.latencies_ms)
        return dict(Counter(self.codes)), percentile(ordered, 0.5), percentile(ordered, 0.99)


def drive_threads(
    items: Sequence[T],
    threads: int,
    make_caller: Callable[[], Caller[T]],
    on_progress: Callable[[int], None] = lambda _done: None,
) -> LoadResult:
    """Hand `items` in order to `threads` workers; each item is one request, timed alone."""
    codes: list[str] = [""] * len(items)
    amounts: list[int | None] = [None] * len(items)
    latencies: list[float] = [0.0] * len(items)
    counter = itertools.count()  # next() on it is atomic under the GIL
    failures: list[BaseException] = []

    def work() -> None:
        try:
            call = make_caller()
            while (index := next(counter)) < len(items):
                started = time.perf_counter()
                answer = call(items[index])
                if isinstance(answer, tuple):
                    codes[index], amounts[index] = answer
                else:
                    codes[index] = answer
                latencies[index] = (time.perf_counter() - started) * 1000
                if index % 500 == 0:
                    on_progress(index)
        except BaseException as error:  # surfaced below: a crashed worker fails the run
            failures.append(error)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return LoadResult(seconds, codes, latencies, amounts=amounts)
