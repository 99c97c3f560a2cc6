"""HTTP runs: `kinsave serve` as a subprocess on a free port, load from loadgen.py's process."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from kinsave.bench.context import HttpTarget
from kinsave.bench.measure import LoadResult
from kinsave.config import Settings

Which = Callable[[str, int, int], bool]  # (process name, process group, pid): count it?


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(settings: Settings) -> dict[str, str]:
    """The bench's settings as the KINSAVE_* variables the server reads."""
    env = dict(os.environ)
    for name in (
        "database_url",
        "grab_batch_max",
        "session_cache_seconds",
        "bench_endpoints",
        "sweeper_enabled",
        "db_pool_size",
        "sqlite_synchronous",
        "rate_limits_enabled",
    ):
        env[f"KINSAVE_{name.upper()}"] = str(getattr(settings, name))
    if settings.redis_url:
        env["KINSAVE_REDIS_URL"] = settings.redis_url
    else:
        env.pop("KINSAVE_REDIS_URL", None)
    return env


class ApiServer:
    """`kinsave serve --workers N --server S` against the bench database, stopped on exit."""

    def __init__(self, settings: Settings, workers: int, server: str = "uvicorn") -> None:
        self.port = _free_port()
        self.workers = workers
        self.server = server
        self._env = server_environment(settings)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "ApiServer":
        kinsave = Path(sys.executable).parent / "kinsave"
        command = [
            str(kinsave),
            "serve",
            "--port",
            str(self.port),
            "--no-migrate",
            "--workers",
            str(self.workers),
            "--server",
            self.server,
        ]
        # One access line per request: into a file, not over the bench's own report.
        self.log_path = Path(tempfile.gettempdir()) / f"kinsave-bench-server-{self.port}.log"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, env=self._env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 180  # a loaded machine starts two workers slowly
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"kinsave serve exited while starting (see {self.log_path})")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__(None, None, None)  # no server left behind (its workers too)
        raise RuntimeError(f"kinsave serve did not start within 180 s (see {self.log_path})")

    def cpu_seconds(self) -> float:
        """CPU time so far of the server and its worker processes (its process group)."""
        return process_cpu_seconds(self.is_mine)

    def is_mine(self, _name: str, group: int, _pid: int) -> bool:
        assert self._process is not None
        return group == self._process.pid

    def __exit__(
        self, _type: type[BaseException] | None, _e: BaseException | None, _t: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # the server and its worker processes
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()


def run_load(
    port: int, targets: list[HttpTarget], connections: int, *, keep_bodies: bool = False
) -> tuple[LoadResult, float]:
    """Send every target once from a separate process; returns the load and its CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="kinsave-load-") as folder:
        job, result = Path(folder) / "job.json", Path(folder) / "result.json"
        job.write_text(
            json.dumps(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "connections": connections,
                    "targets": [[t.method, t.path, t.token, t.body] for t in targets],
                    "keep_bodies": keep_bodies,
                }
            )
        )
        subprocess.run(
            [sys.executable, "-m", "kinsave.bench.loadgen", str(job), str(result)], check=True
        )
        data = json.loads(result.read_text())
    load = LoadResult(
        data["seconds"], data["codes"], data["latencies_ms"], data["bodies"], data["amounts"]
    )
    return load, data["cpu_seconds"]


class CpuMeter:
    """CPU seconds (user + system) that the processes `which(name, process group)` picks spent
    since the meter started, read from /proc (Linux; 0.0 where it is missing). Counted per
    process, so one that ends meanwhile (a database backend of another session) takes nothing
    away; one that starts meanwhile counts from zero."""

    def __init__(self, which: Which) -> None:
        self._which = which
        self._start = _ticks(which)

    def seconds(self) -> float:
        now = _ticks(self._which)
        spent = sum(max(0, t - self._start.get(pid, 0)) for pid, t in now.items())
        return spent / os.sysconf("SC_CLK_TCK")


def _ticks(which: Which) -> dict[int, int]:
    """Clock ticks of CPU (user + system) so far, per process that `which` picks."""
    ticks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if which(name, int(fields[2]), int(stat.parent.name)):
            ticks[int(stat.parent.name)] = int(fields[11]) + int(fields[12])
    return ticks


def process_cpu_seconds(which: Which) -> float:
    """CPU seconds so far of the live processes `which(name, process group)` picks."""
    return sum(_ticks(which).values()) / os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_postgres(name: str, _group: int, _pid: int) -> bool:
    """This machine's PostgreSQL processes, every database's."""
    return name == "postgres" or name.startswith("postgres:")


def postgres_of(database: str) -> Which:
    """The PostgreSQL backends connected to `database` (`postgres: ... <user> <database> host`):
    the server is shared with other sessions, whose backends are not ours to count. (Shared
    processes, the WAL writer and the checkpointer, are left out.)"""
    return lambda name, group, pid: (
        is_postgres(name, group, pid) and f" {database} " in _cmdline(pid)
    )


def redis_of(url: str | None) -> Which:
    """The Redis servers behind `url`: the one on its port, or every node of a local cluster
    (`redis+cluster://`: `redis-server host:port [cluster]`)."""
    cluster = bool(url and url.startswith("redis+cluster://"))
    port = f":{make_url_port(url)}" if url else ""

    def which(name: str, _group: int, pid: int) -> bool:
        if name != "redis-server" or not url:
            return False
        words = _cmdline(pid).split()
        if cluster:
            return "[cluster]" in words
        return len(words) > 1 and words[1].endswith(port)  # redis-server 127.0.0.1:6379

    return which


def make_url_port(url: str) -> int:
    """The port of a redis:// or redis+cluster:// URL (6379 when it names none)."""
    return urlsplit(url.replace("redis+cluster://", "redis://", 1)).port or 6379


def postgres_cpu_seconds() -> float:
    """CPU seconds so far of this machine's PostgreSQL processes."""
    return process_cpu_seconds(is_postgres)
