"""Stop Redis while it counts rate limits: the limiter keeps enforcing from the database, and
goes back to Redis by itself when Redis returns."""

import subprocess
import time

import pytest
import redis

from kinsave.errors import KinsaveError
from kinsave.security.ratelimit import Limit, RateLimiter

pytestmark = pytest.mark.slow
START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379"]
START += ["--save", "", "--appendonly", "no"]


def _redis_up(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_redis_stop_falls_back_to_the_database_then_recovers(session_factory, redis_url):
    limiter = RateLimiter(session_factory, redis_url)
    limiter.redis_retry_seconds = 0.5
    limit = Limit(3, 600)
    try:
        limiter.hit("outage", "ip:1", limit)
        assert limiter.last_backend == "redis"
        subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)
        assert not _redis_up(redis_url)
        # The database counts from zero (Redis' count is gone with it): never more than the
        # limit per backend, and the refusal is still the clean 429.
        for _ in range(3):
            limiter.hit("outage", "ip:1", limit)
            assert limiter.last_backend == "database"
        with pytest.raises(KinsaveError) as refused:
            limiter.hit("outage", "ip:1", limit)
        assert refused.value.code == "rate_limited"
    finally:
        if not _redis_up(redis_url):
            subprocess.run(START, capture_output=True, check=True)
    deadline = time.monotonic() + 10
    while not _redis_up(redis_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.6)
    limiter.hit("outage", "ip:2", limit)
    assert limiter.last_backend == "redis"
