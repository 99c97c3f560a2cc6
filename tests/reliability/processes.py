"""Real `kinsave serve` processes for fault injection: start, SIGKILL, restart."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.conftest import _free_port

START_SECONDS = 120


class ServerProcess:
    """`kinsave serve` in its own process (its own process group, so SIGKILL takes it all)."""

    def __init__(self, database_url: str, *args: str, **env: str) -> None:
        self.port = _free_port()
        self.args = args  # more `kinsave serve` options
        self.env = {
            **os.environ,
            "KINSAVE_DATABASE_URL": database_url,
            "KINSAVE_DEV_LOGIN": "1",
            "KINSAVE_SWEEPER_ENABLED": "0",
            "KINSAVE_RATE_LIMITS_ENABLED": "0",
            "KINSAVE_DB_POOL_SIZE": "8",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None  # where its output goes (else nowhere)
        self.start_seconds = START_SECONDS  # how long it may take to answer /healthz

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        # The port _free_port found free may be taken before the server binds it (other tests
        # run beside this one): a server that exits before answering starts again on another.
        for _ in range(3):
            if self._launch():
                return self
            self.port = _free_port()
        raise RuntimeError("kinsave serve exited before answering, three times")

    def _launch(self) -> bool:
        """True once it answers /healthz; False when it exited first."""
        command = [sys.executable, "-m", "kinsave.cli", "serve", "--no-migrate"]
        output = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), *self.args],
            env=self.env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        if self.log is not None:
            output.close()  # type: ignore[union-attr]  # the server has its own copy
        # Each process of `--workers N` imports the whole app: 10 to 25 s apiece when the
        # machine is loaded (2 cores shared by several test runs). This bounds a wait only.
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                time.sleep(0.1)
        exited = self.process.poll() is not None
        self.kill()
        if not exited:
            raise RuntimeError(f"kinsave serve did not answer within {self.start_seconds} s")
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback sent, connections just drop."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def rush(
    calls: dict[str, Callable[[], httpx.Response | None]],
    *,
    during: Callable[[], None] | None = None,
    after: int = 1,
    threads: int = 8,
) -> dict[str, httpx.Response | None]:
    """Run every call from `threads` client threads; `during()` runs once `after` have answered.

    A call returns None when no answer came back: the client cannot know what happened.
    """
    results: dict[str, httpx.Response | None] = {}
    answered = threading.Event()

    def one(name: str) -> None:
        results[name] = calls[name]()
        if len(results) >= after:
            answered.set()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(one, name) for name in calls]
        if during is not None:
            answered.wait(30)
            during()
        for future in futures:
            future.result()
    return results


def post_or_none(url: str, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response | None:
    """The response, or None when the connection failed or dropped before an answer."""
    try:
        return httpx.post(url, headers=headers, json=body, timeout=10)
    except httpx.HTTPError:
        return None


class RedisProcess:
    """A private `redis-server` on a free port, so that stopping it disturbs no one else."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisProcess":
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.is_up():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.kill()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        return self

    def is_up(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: Redis vanishes with everything it held (it saves nothing)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # also ends a frozen (SIGSTOP) server
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: Redis still accepts connections but answers nothing (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
