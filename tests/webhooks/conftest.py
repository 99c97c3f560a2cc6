"""Fixtures shared by the webhook tests."""

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer
from tests.webhooks.receiver import Receiver


@pytest.fixture
def guarded(settings, session_factory) -> Iterator[httpx.Client]:
    """A live server with the check on (the shared test server allows private URLs)."""
    server = LiveServer(settings.model_copy(update={"webhook_allow_private_urls": False}))
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
