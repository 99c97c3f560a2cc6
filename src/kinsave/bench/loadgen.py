"""The HTTP load generator: a separate process (`python -m kinsave.bench.loadgen job.json`).

A small asyncio HTTP/1.1 client on uvloop over keep-alive connections: no client library in the
hot loop, so one core drives far more requests than the API answers (the do-nothing endpoint run
shows where its own ceiling is). It reports its own CPU time, so the bench can tell whether the
generator, rather than the server, was the bottleneck.
"""

import asyncio
import itertools
import json
import resource
import sys
import time
from typing import Any


async def _connection(
    job: dict[str, Any],
    counter: Any,
    codes: list[str],
    lat: list[float],
    bodies: list[str],
    amounts: list[int | None],
) -> None:
    host, port, targets = job["host"], job["port"], job["targets"]
    reader, writer = await asyncio.open_connection(host, port)
    while (index := next(counter)) < len(targets):
        method, path, token, payload = targets[index]
        content = payload.encode()
        kind = "Content-Type: application/json\r\n" if content else ""
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"{kind}Content-Length: {len(content)}\r\n\r\n"
        ).encode() + content
        started = time.perf_counter()
        writer.write(request)
        status, body, keep_alive = await _response(reader)
        lat[index] = (time.perf_counter() - started) * 1000
        codes[index] = "ok" if status < 300 else _error_code(status, body)
        if job.get("keep_bodies"):
            bodies[index] = body.decode()
        if status < 300 and b'"amount"' in body:  # a grab's or a claim's amount
            amounts[index] = _amount(body)
        if not keep_alive:
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
    writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    status = int((await reader.readline()).split()[1])
    length, keep_alive = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    return status, await reader.readexactly(length), keep_alive


def _amount(body: bytes) -> int | None:
    try:
        amount = json.loads(body).get("amount")
    except (ValueError, AttributeError):
        return None
    return amount if isinstance(amount, int) else None


def _error_code(status: int, body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{status}"


async def _run(job: dict[str, Any]) -> dict[str, Any]:
    count = len(job["targets"])
    codes, latencies, bodies = [""] * count, [0.0] * count, [""] * count
    amounts: list[int | None] = [None] * count
    counter = itertools.count()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(job, counter, codes, latencies, bodies, amounts)
            for _ in range(job["connections"])
        )
    )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": seconds,
        "codes": codes,
        "latencies_ms": latencies,
        "bodies": bodies if job.get("keep_bodies") else [],
        "amounts": amounts,
        "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
    }


def main() -> None:
    job_path, result_path = sys.argv[1], sys.argv[2]
    with open(job_path) as handle:
        job = json.load(handle)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio works, just slower
        pass
    result = asyncio.run(_run(job))
    with open(result_path, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
