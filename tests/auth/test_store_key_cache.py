"""Store keys remembered per process: a revoked key stops working within the documented TTL."""

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from kinsave.app import create_app
from kinsave.auth import service as auth
from kinsave.auth.key_cache import STORE_KEY_TTL_SECONDS, StoreKeyCache
from kinsave.auth.schemas import ShopPrincipal
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from tests.factories import link_shopper

T = TypeVar("T")
QUOTE = {"shopper_id": "grandma", "lines": [{"sku": "rice", "quantity": 1, "unit_price": 100}]}


def run_apart(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on an event loop of its own thread: the browser tests leave a running loop
    on the main thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main).result()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestStoreKeyCache:
    def test_remembered_until_the_ttl(self):
        clock = Clock()
        cache = StoreKeyCache(ttl_seconds=5, clock=clock)
        principal = ShopPrincipal(shop_id="shop_1", role="store")

        cache.remember("hash", principal)
        clock.now += 4.9
        assert cache.peek("hash") == principal
        clock.now += 0.2
        assert cache.peek("hash") is None

    def test_off_remembers_nothing(self):
        cache = StoreKeyCache(ttl_seconds=0)
        cache.remember("hash", ShopPrincipal(shop_id="shop_1", role="store"))
        assert cache.peek("hash") is None

    def test_forget_at_once(self):
        cache = StoreKeyCache()
        cache.remember("hash", ShopPrincipal(shop_id="shop_1", role="store"))
        cache.forget("hash")
        assert cache.peek("hash") is None


class TestRevokedStoreKey:
    def test_stops_working_within_the_ttl(self, settings, session_factory):
        with unit_of_work(session_factory) as session:
            shop_id = auth.ensure_shop(session, "Key Shop").id
            key = auth.create_api_key(session, shop_id, "store")
        link_shopper(session_factory, shop_id, "grandma")
        headers = {"Authorization": f"Bearer {key}"}
        clock = Clock()
        with TestClient(create_app(settings)) as client:
            client.app.state.store_key_cache = StoreKeyCache(clock=clock)  # type: ignore[attr-defined]
            assert client.post("/v1/store/checkout/quote", json=QUOTE, headers=headers).is_success
            with unit_of_work(session_factory) as session:
                assert auth.revoke_shop_keys(session, shop_id, "store") == 1

            clock.now += STORE_KEY_TTL_SECONDS - 0.1  # the documented bound: still remembered
            remembered = client.post("/v1/store/checkout/quote", json=QUOTE, headers=headers)
            clock.now += 0.2
            refused = client.post("/v1/store/checkout/quote", json=QUOTE, headers=headers)

        assert remembered.status_code == 200
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"

    def test_an_unknown_key_is_never_remembered(self, settings, session_factory):
        with TestClient(create_app(settings)) as client:
            first = client.post(
                "/v1/store/checkout/quote", json=QUOTE, headers={"Authorization": "Bearer ks_x"}
            )
            assert first.status_code == 401
            with unit_of_work(session_factory) as session:
                shop_id = auth.ensure_shop(session, "Key Shop").id
                key = auth.create_api_key(session, shop_id, "store")
            link_shopper(session_factory, shop_id, "grandma")
            fresh = client.post(
                "/v1/store/checkout/quote", json=QUOTE, headers={"Authorization": f"Bearer {key}"}
            )
        assert fresh.status_code == 200


class TestOneReadPerKey:
    """A key not remembered is read once for every request asking for it meanwhile."""

    def test_concurrent_askers_share_one_read(self):
        cache = StoreKeyCache()
        principal = ShopPrincipal(shop_id="shop_1", role="store")
        reads = 0

        async def read() -> ShopPrincipal:
            nonlocal reads
            reads += 1
            await asyncio.sleep(0.01)
            return principal

        async def ask() -> list[ShopPrincipal]:
            return list(await asyncio.gather(*(cache.principal("hash", read) for _ in range(32))))

        answers = run_apart(ask())
        assert answers == [principal] * 32
        assert reads == 1
        assert cache.peek("hash") == principal

    def test_a_remembered_key_is_answered_without_a_read(self):
        cache = StoreKeyCache()
        principal = ShopPrincipal(shop_id="shop_1", role="store")
        cache.remember("hash", principal)

        async def read() -> ShopPrincipal:
            raise AssertionError("a remembered key was read again")

        assert run_apart(cache.principal("hash", read)) == principal

    def test_a_refusal_reaches_every_asker_and_is_not_remembered(self):
        cache = StoreKeyCache()
        reads = 0

        async def refuse() -> ShopPrincipal:
            nonlocal reads
            reads += 1
            await asyncio.sleep(0.01)
            raise KinsaveError("unauthorized", "unknown key")

        async def ask() -> list[object]:
            asks = (cache.principal("hash", refuse) for _ in range(4))
            return list(await asyncio.gather(*asks, return_exceptions=True))

        answers = run_apart(ask())
        assert [getattr(a, "code", None) for a in answers] == ["unauthorized"] * 4
        assert reads == 1
        assert cache.peek("hash") is None
        run_apart(ask())
        assert reads == 2  # asked again: read again
