"""Real `kinsave serve` processes for fault injection: start, SIGKILL, restart."""

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import _free_port


class ServerProcess:
    """`kinsave serve` in its own process (its own process group, so SIGKILL takes it all)."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.port = _free_port()
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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        command = [sys.executable, "-m", "kinsave.cli", "serve", "--no-migrate"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("kinsave serve did not start")

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
