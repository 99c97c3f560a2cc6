"""A py-spy raw profile of the API server, its on-CPU samples split by part of a request.

    py-spy record -p <kinsave serve pid> -r 250 -f raw --threads --gil -o server.txt
    python scripts/spy_parts.py <requests served while sampling> server.txt [other.txt ...]

Each sample goes to the first part (in the order below, innermost first) that one of its frames
names; samples whose innermost frame waits (a lane on its queue, the event loop in select, a
driver waiting for the database) are left out. Microseconds per request assume the sampling
rate given (-r 250: 4 ms a sample). Used for docs/benchmarks.md, "A refused tap's cost,
session 9".
"""

import collections
import sys

SAMPLE_MS = 4.0
WAITS = (
    "_Lane._next_batch",
    "Condition.wait",
    "Runner.run (asyncio/runners.py:118)",
    "Connection.wait",
    "Event.wait",
    "Thread.join",
    "select (selectors",
    "_wait_for_tstate_lock",
    "Lock.acquire",
)
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("answer (error_response)", ("error_response",)),
    ("gate (front door)", ("Gate.front", "FrontDoor.", "Batcher.answer", "_RoundTrips")),
    ("session lane thread (read, wake-ups)", ("SessionCache.resolve_many",)),
    ("shopper dependency on the loop", ("current_shopper", "RateLimitedShopper.__call__")),
    ("FastAPI dependency solving", ("solve_dependencies",)),
    ("endpoint (grab_envelope, batched_or_alone)", ("grab_envelope", "batched_or_alone")),
    (
        "route matching",
        (
            "_IncludedRouter._match",
            "_IncludedRouter.matches",
            "APIRoute.matches",
            "APIRouter.matches",
            "_EffectiveRouteContext.matches",
            "Route.matches",
        ),
    ),
    (
        "FastAPI handler, request/response wrapper, sending",
        (
            "short_handler",
            "get_request_handler",
            "request_response",
            "APIRoute.handle",
            "_handle_selected",
            "Route.handle",
        ),
    ),
    ("route matching", ("APIRouter.app", "Router.__call__")),
    ("access log", ("_log (kinsave/ops/request_log", "StreamHandler", "LogRecord")),
    ("middleware", ("FastAPI.__call__",)),
    (
        "HTTP server (uvicorn, socket writes)",
        ("run_asgi", "HttpToolsProtocol", "OneWritePerTurn", "RequestResponseCycle"),
    ),
    ("grab lane thread (grants, settlements)", ("_Lane._loop",)),
    ("imports, start-up", ("_find_and_load", "Config.load_app", "<module>")),
]
OTHER = "other (event loop, asyncio, GC)"


def split(path: str) -> tuple[collections.Counter[str], int]:
    parts: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            samples, frames = int(count), stack.split(";")
            if any(wait in frames[-1] for wait in WAITS):
                continue
            total += samples
            for name, marks in PARTS:
                if any(mark in frame for frame in frames for mark in marks):
                    parts[name] += samples
                    break
            else:
                parts[OTHER] += samples
    return parts, total


def main(requests: int, paths: list[str]) -> None:
    splits = [split(path) for path in paths]
    names = [*dict.fromkeys(name for name, _ in PARTS), OTHER]
    print("| part | " + " | ".join(paths) + " |")
    for name in names:
        cells = [
            f"{parts[name] * SAMPLE_MS / requests * 1000:.1f} us"
            f" ({100 * parts[name] / total:.0f} %)"
            for parts, total in splits
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    totals = [f"{total * SAMPLE_MS / requests * 1000:.0f} us" for _, total in splits]
    print("| all on-CPU samples | " + " | ".join(totals) + " |")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
