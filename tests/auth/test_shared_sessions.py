"""Sessions kept in Redis (auth/shared_sessions.py): every API process sharing the Redis sees
a sign-in, a logout and a revocation at once; a flushed Redis is filled again from the
database; an expired session never works."""

import gc
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from kinsave.app import create_app
from kinsave.auth import service
from kinsave.auth.shared_sessions import (
    BACKFILL_SECONDS,
    TOMBSTONE,
    SharedSessions,
    database_of,
    session_key,
)
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from tests.factories import login


@pytest.fixture
def postgresql_only(backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("sessions are kept in Redis for PostgreSQL; SQLite reads them on the loop")


def test_sqlite_keeps_no_sessions_in_redis_and_still_ends_them_everywhere(
    sqlite_settings_with_redis,
):
    settings = sqlite_settings_with_redis
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        assert first.app.state.session_cache.shared is None  # type: ignore[attr-defined]
        headers, key = _sign_in(first, "auntie")
        assert redis.Redis.from_url(settings.redis_url).get(key) is None
        assert second.get("/v1/wallet", headers=headers).status_code == 200
        assert first.post("/v1/auth/logout", headers=headers).status_code == 204
        assert _refused(second.get("/v1/wallet", headers=headers))  # the row, read on the loop


@pytest.fixture
def sqlite_settings_with_redis(settings, backend, redis_url):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    return settings.model_copy(update={"redis_url": redis_url})


@pytest.fixture
def two_apps(
    postgresql_only, settings, session_factory, redis_url
) -> Iterator[tuple[TestClient, TestClient]]:
    redis.Redis.from_url(redis_url).flushdb()
    shared = settings.model_copy(update={"redis_url": redis_url})
    with TestClient(create_app(shared)) as first, TestClient(create_app(shared)) as second:
        yield first, second


def _sign_in(client: TestClient, user_id: str) -> tuple[dict[str, str], str]:
    response = client.post("/v1/auth/dev-login", json={"user_id": user_id})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    return {"Authorization": f"Bearer {token}"}, session_key(service.session_token_hash(token))


def _refused(response) -> bool:
    return response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_sign_in_is_in_redis_and_a_logout_ends_it_in_every_process(two_apps, redis_url):
    first, second = two_apps
    headers, key = _sign_in(first, "aunt")
    assert redis.Redis.from_url(redis_url).get(key).endswith(b"|aunt")
    assert second.get("/v1/wallet", headers=headers).status_code == 200
    assert first.post("/v1/auth/logout", headers=headers).status_code == 204
    assert redis.Redis.from_url(redis_url).get(key) == TOMBSTONE
    assert _refused(second.get("/v1/wallet", headers=headers))


def test_a_revocation_from_outside_the_api_ends_the_session_at_once(
    two_apps, session_factory, redis_url
):
    first, second = two_apps
    headers, key = _sign_in(first, "uncle")
    assert second.get("/v1/wallet", headers=headers).status_code == 200
    with unit_of_work(session_factory) as session:  # as `kinsave revoke-sessions` does
        assert service.revoke_shopper_sessions(session, "uncle") == 1
    assert _refused(second.get("/v1/wallet", headers=headers))
    assert _refused(first.get("/v1/wallet", headers=headers))


def test_a_flushed_redis_is_filled_again_and_never_revives_a_revoked_session(
    two_apps, session_factory, redis_url
):
    first, second = two_apps
    headers, key = _sign_in(first, "niece")
    gone, gone_key = _sign_in(first, "nephew")
    assert first.post("/v1/auth/logout", headers=gone).status_code == 204
    redis.Redis.from_url(redis_url).flushdb()
    assert second.get("/v1/wallet", headers=headers).status_code == 200
    assert redis.Redis.from_url(redis_url).get(key).endswith(b"|niece")  # written back
    assert _refused(second.get("/v1/wallet", headers=gone))
    # A backfill that read the row before the revocation committed never overwrites it.
    redis.Redis.from_url(redis_url).set(key, TOMBSTONE)
    shared = second.app.state.session_cache.shared  # type: ignore[attr-defined]
    token_hash = service.session_token_hash(headers["Authorization"].removeprefix("Bearer "))
    shared.remember([(token_hash, "niece", utcnow() + timedelta(hours=1))])
    assert redis.Redis.from_url(redis_url).get(key) == TOMBSTONE
    assert _refused(second.get("/v1/wallet", headers=headers))


def test_a_written_back_session_is_kept_for_a_bounded_time_only(
    two_apps, session_factory, redis_url
):
    first, second = two_apps
    headers, key = _sign_in(first, "godson")
    store = redis.Redis.from_url(redis_url)
    assert store.ttl(key) > BACKFILL_SECONDS  # a sign-in's key lives as long as its session
    store.flushdb()
    assert second.get("/v1/wallet", headers=headers).status_code == 200
    # Written back by the database's read: read again after BACKFILL_SECONDS, so a flush that
    # raced a revocation can not keep a revoked session alive until it expires.
    assert 0 < store.ttl(key) <= BACKFILL_SECONDS + 1  # EXAT rounds up to the second


def test_an_expired_session_never_works(two_apps, redis_url):
    first, second = two_apps
    headers, key = _sign_in(first, "cousin")
    store = redis.Redis.from_url(redis_url)
    store.set(key, f"v|{time.time() - 1}|cousin", ex=60)  # Redis has not dropped it yet
    assert _refused(second.get("/v1/wallet", headers=headers))


def test_sessions_in_a_redis_cluster(postgresql_only, settings, session_factory, redis_cluster):
    shared = settings.model_copy(update={"redis_url": redis_cluster})
    with TestClient(create_app(shared)) as first, TestClient(create_app(shared)) as second:
        crowd = [_sign_in(first, f"guest{n}")[0] for n in range(12)]  # keys on every node
        with ThreadPoolExecutor(max_workers=12) as pool:  # lookups of one turn: one MGET
            owners = list(pool.map(lambda h: second.get("/v1/wallet", headers=h), crowd))
        assert [r.json()["shopper_id"] for r in owners] == [f"guest{n}" for n in range(12)]
        assert first.post("/v1/auth/logout", headers=crowd[0]).status_code == 204
        assert _refused(second.get("/v1/wallet", headers=crowd[0]))
        assert second.get("/v1/wallet", headers=crowd[1]).status_code == 200


def test_a_revocation_redis_can_not_take_is_not_made(api, session_factory):
    headers = login(api, "grandpa")
    engine = session_factory.kw["bind"]
    unreachable = SharedSessions("redis://127.0.0.1:1/0", database_of(engine))  # nothing there
    try:
        with pytest.raises(KinsaveError) as refused, unit_of_work(session_factory) as session:
            service.revoke_shopper_sessions(session, "grandpa")
        assert refused.value.code == "service_unavailable"
        with unit_of_work(session_factory) as session:  # rolled back: still live, not half-done
            assert service.resolve_session(session, headers["Authorization"][7:]).shopper_id
    finally:
        del unreachable
        gc.collect()


def test_a_hung_redis_costs_one_timeout_per_pause(
    postgresql_only, settings, session_factory, private_redis
):
    """SIGSTOP: Redis accepts connections and answers nothing. Sessions are read from the
    database meanwhile, after one socket timeout, not one per request."""
    shared = settings.model_copy(update={"redis_url": private_redis.url})
    with TestClient(create_app(shared)) as client:
        crowd = [_sign_in(client, f"hung{n}")[0] for n in range(5)]
        private_redis.freeze()
        try:
            owners = [client.get("/v1/wallet", headers=h).json()["shopper_id"] for h in crowd]
            # Paused after the first timeout: the other requests did not ask Redis.
            assert not client.app.state.session_cache.shared.in_use  # type: ignore[attr-defined]
        finally:
            private_redis.kill()
    assert owners == [f"hung{n}" for n in range(5)]
