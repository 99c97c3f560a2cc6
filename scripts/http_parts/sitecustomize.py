"""CPU of an HTTP request's parts inside `kinsave serve`, without a profiler's sampling.

    PYTHONPATH=scripts/http_parts:src:examples/store KINSAVE_HTTP_PARTS=3000 \
        python scripts/refusal_http_cpu.py 3000 3

Python imports this module at start-up when its folder is on PYTHONPATH (the bench's server
inherits the variable). In a `kinsave serve` process with KINSAVE_HTTP_PARTS=N it times, with
`time.thread_time()` (this thread's CPU) and `time.perf_counter()` (wall), and prints their
means per request to the server's log (stderr) every N requests: the app under the access log
(`RequestLog`'s call of the app: middleware, routing, the endpoint, the answer), the access line
(`request_log._log`: the metrics and the line written to the log), the socket write
(`OneWritePerTurn.flush`) and the garbage collector's passes (`gc.callbacks`), wherever they
fall (a pass runs inside whichever allocation tips its threshold, so a sampling profiler puts
it in any frame). KINSAVE_HTTP_PARTS_GC="a,b,c" sets gc's thresholds. py-spy samples a thread
that is runnable but not running (preempted) as busy; these figures are what the thread ran.
Each timer costs ~1 us of its own.
"""

import gc
import os
import sys
import time

PARTS = int(os.environ.get("KINSAVE_HTTP_PARTS", "0"))


def _install(every: int) -> None:
    from kinsave.ops import http_protocol, request_log

    totals = {
        "app": [0.0, 0.0],
        "access line": [0.0, 0.0],
        "socket write": [0.0, 0.0],
        "gc": [0.0, 0.0],
    }
    count = [0]
    collecting = [0.0, 0.0]

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[0], collecting[1] = time.thread_time(), time.perf_counter()
        else:
            add("gc", time.thread_time() - collecting[0], time.perf_counter() - collecting[1])

    gc.callbacks.append(on_collection)

    def add(part: str, cpu: float, wall: float) -> None:
        totals[part][0] += cpu
        totals[part][1] += wall

    original_log = request_log._log

    def timed_log(*args, **kwargs):  # type: ignore[no-untyped-def]
        cpu, wall = time.thread_time(), time.perf_counter()
        original_log(*args, **kwargs)
        add("access line", time.thread_time() - cpu, time.perf_counter() - wall)
        count[0] += 1
        if count[0] % every == 0:
            figures = "  ".join(
                f"{part} {c / every * 1e6:.1f}/{w / every * 1e6:.1f}"
                for part, (c, w) in totals.items()
            )
            print(f"HTTP PARTS n={count[0]} us CPU/wall per request: {figures}", file=sys.stderr)
            for pair in totals.values():
                pair[0] = pair[1] = 0.0

    request_log._log = timed_log

    class TimedApp:
        def __init__(self, app):  # type: ignore[no-untyped-def]
            self.app = app

        async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                await self.app(scope, receive, send)
            finally:
                add("app", time.thread_time() - cpu, time.perf_counter() - wall)

    original_init = request_log.RequestLog.__init__

    def timed_init(self, app):  # type: ignore[no-untyped-def]
        original_init(self, TimedApp(app))

    request_log.RequestLog.__init__ = timed_init

    original_flush = http_protocol.OneWritePerTurn.flush

    def timed_flush(self):  # type: ignore[no-untyped-def]
        cpu, wall = time.thread_time(), time.perf_counter()
        original_flush(self)
        add("socket write", time.thread_time() - cpu, time.perf_counter() - wall)

    http_protocol.OneWritePerTurn.flush = timed_flush


if PARTS and "serve" in sys.argv[1:2]:
    _install(PARTS)
    if os.environ.get("KINSAVE_HTTP_PARTS_GC"):
        gc.set_threshold(*(int(n) for n in os.environ["KINSAVE_HTTP_PARTS_GC"].split(",")))
