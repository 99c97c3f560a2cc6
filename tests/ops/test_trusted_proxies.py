"""Forwarded headers count only from the proxies KINSAVE_TRUSTED_PROXIES names, so a client
cannot rotate X-Forwarded-For to escape the per-IP rate limits."""

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from kinsave.config import Settings
from tests.reliability.processes import ServerProcess

LIMIT = 3


def signed_in_statuses(server: ServerProcess, forwarded_for: list[str]) -> list[int]:
    statuses = []
    for n, address in enumerate(forwarded_for):
        response = httpx.post(
            f"{server.url}/v1/auth/dev-login",
            json={"user_id": f"rotating{n}"},
            headers={"X-Forwarded-For": address},
            timeout=10,
        )
        statuses.append(response.status_code)
    return statuses


@pytest.fixture
def serve(
    database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[Callable[[str], ServerProcess]]:
    started: list[ServerProcess] = []

    def start(trusted: str) -> ServerProcess:
        server = ServerProcess(
            database_url,
            KINSAVE_RATE_LIMITS_ENABLED="1",
            KINSAVE_RATE_LIMIT_LOGIN=f"{LIMIT}/600",
            KINSAVE_TRUSTED_PROXIES=trusted,
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


class TestTrustedProxies:
    def test_rotating_forwarded_for_from_an_untrusted_peer_is_still_limited(
        self, serve: Callable[[str], ServerProcess]
    ) -> None:
        server = serve("")  # the default: nobody is trusted, not even loopback
        rotating = [f"203.0.113.{n}" for n in range(1, LIMIT + 4)]
        statuses = signed_in_statuses(server, rotating)
        assert statuses[:LIMIT] == [200] * LIMIT
        assert statuses[LIMIT:] == [429] * 3

    def test_a_trusted_proxy_forwards_each_clients_address(
        self, serve: Callable[[str], ServerProcess]
    ) -> None:
        server = serve("127.0.0.1")
        rotating = [f"203.0.113.{n}" for n in range(1, LIMIT + 4)]
        assert signed_in_statuses(server, rotating) == [200] * (LIMIT + 3)
        # One forwarded client is still limited on its own address.
        same = ["198.51.100.7"] * (LIMIT + 1)
        assert signed_in_statuses(server, same) == [200] * LIMIT + [429]

    def test_a_trusted_network_by_cidr(self, serve: Callable[[str], ServerProcess]) -> None:
        server = serve("127.0.0.0/8, ::1")
        rotating = [f"203.0.113.{n}" for n in range(1, LIMIT + 2)]
        assert signed_in_statuses(server, rotating) == [200] * (LIMIT + 1)


class TestSetting:
    def test_entries_must_be_addresses_or_networks(self) -> None:
        assert Settings(trusted_proxies=" 10.0.0.0/8 ,::1").trusted_proxies == "10.0.0.0/8,::1"
        assert Settings(trusted_proxies="*").trusted_proxies == "*"
        with pytest.raises(ValueError, match="not an IP address or CIDR"):
            Settings(trusted_proxies="10.0.0.300")
