"""Sessions kept in Redis (auth/shared_sessions.py): every API process sharing the Redis sees
a sign-in, a logout and a revocation at once; a flushed Redis is filled again from the
database; an expired session never works."""

import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from kinsave.app import create_app
from kinsave.auth import service
from kinsave.auth.shared_sessions import TOMBSTONE, session_key
from kinsave.db import unit_of_work, utcnow


@pytest.fixture
def two_apps(settings, session_factory, redis_url) -> Iterator[tuple[TestClient, TestClient]]:
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
    shared.write(
        [(service.session_token_hash(headers["Authorization"][7:]), "niece", utcnow())],
        (),
        revoke=False,
    )
    assert redis.Redis.from_url(redis_url).get(key) == TOMBSTONE
    assert _refused(second.get("/v1/wallet", headers=headers))


def test_an_expired_session_never_works(two_apps, redis_url):
    first, second = two_apps
    headers, key = _sign_in(first, "cousin")
    store = redis.Redis.from_url(redis_url)
    store.set(key, f"v|{time.time() - 1}|cousin", ex=60)  # Redis has not dropped it yet
    assert _refused(second.get("/v1/wallet", headers=headers))
