"""Rate limits on a live server with tiny limits: 429 rate_limited with Retry-After, per shopper,
device and IP; counted in the database, or in Redis when configured (and in the database while
Redis is down). Share-code guessing is refused and audited."""

from collections.abc import Iterator

import httpx
import pytest

from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.security.models import AuditEntry
from kinsave.security.ratelimit import Limit, RateLimiter
from tests.conftest import LiveServer
from tests.factories import create_campaign, error_code, login, shop_key, wallet_balance

# Hour-long windows: a window that ended mid-test would weigh its count less and flake.
TINY = {
    "rate_limits_enabled": True,
    "rate_limit_login": "5/3600",
    "rate_limit_claim": "2/3600",
    "rate_limit_grab": "3/3600",
    "rate_limit_resolve": "100/3600",
    "rate_limit_token_unknown": "3/3600",
}


def _server(settings, **extra) -> Iterator[httpx.Client]:
    server = LiveServer(settings.model_copy(update=TINY | extra))
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def limited(settings, session_factory) -> Iterator[httpx.Client]:
    yield from _server(settings)


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429 and error_code(response) == "rate_limited", response.text
    # A sliding window: the hits of this hour still weigh during the next one.
    assert 1 <= int(response.headers["Retry-After"]) <= 2 * 3600


class TestLimits:
    def test_login_is_limited_per_ip(self, limited):
        codes = [
            limited.post("/v1/auth/dev-login", json={"user_id": f"u{i}"}).status_code
            for i in range(6)
        ]
        assert codes == [200] * 5 + [429]
        _assert_limited(limited.post("/v1/auth/dev-login", json={"user_id": "late"}))

    def test_daily_claim_is_limited_per_shopper_and_nothing_moves(self, limited, session_factory):
        operator = shop_key(session_factory)
        rule = {"kind": "uniform", "min": 1, "max": 1}
        campaign = create_campaign(limited, operator, budget=100, daily_rule=rule)
        shopper = login(limited, "grandma")
        path = f"/v1/daily/{campaign['id']}/claim"
        first, second = limited.post(path, headers=shopper), limited.post(path, headers=shopper)
        assert first.status_code == 200 and error_code(second) == "already_claimed_today"
        _assert_limited(limited.post(path, headers=shopper))
        assert wallet_balance(limited, shopper) == 1

    def test_grab_is_limited_per_device_across_shoppers(self, limited):
        device = {"X-Device-Hash": "phone-1"}
        codes = []
        for i in range(4):
            shopper = login(limited, f"g{i}") | device
            codes.append(limited.post("/v1/envelopes/nope/grab", headers=shopper).status_code)
        assert codes == [404, 404, 404, 429]


class TestShareCodeGuessing:
    def test_guessing_is_refused_then_audited(self, limited, session_factory):
        store = shop_key(session_factory, role="store")
        texts = [f"￥AAAAAAAAAA{i}￥" for i in range(4)]
        codes = [
            limited.post("/v1/store/tokens/resolve", json={"text": t}, headers=store) for t in texts
        ]
        assert [c.status_code for c in codes[:3]] == [404] * 3
        _assert_limited(codes[3])
        with unit_of_work(session_factory) as session:
            entries = session.query(AuditEntry).all()
            # Both the IP and the store key crossed the line: one entry each.
            assert sorted(e.target.split(":")[0] for e in entries) == ["caller", "ip"]
            assert {e.action for e in entries} == {"share_code_guessing"}

    def test_unknown_short_links_are_limited_per_ip(self, limited):
        codes = [limited.get(f"/s/AAAAAAAAAA{i}").status_code for i in range(4)]
        assert codes == [404, 404, 404, 429]


class TestCounters:
    def test_database_counter_windows(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        limit = Limit(2, 60)
        counts = [limiter.count("t", "s", limit, add=1, now=120.0)[0] for _ in range(3)]
        assert counts == [1, 2, 3]
        # The next window: the previous one's 3 weigh fully at its start, half at its middle.
        assert limiter.count("t", "s", limit, add=1, now=180.0)[0] == 4
        assert limiter.count("t", "s", limit, add=0, now=210.0)[0] == 1 + 2
        # The window after: 180's window (1 hit) weighs, 120's no longer does.
        assert limiter.count("t", "s", limit, add=0, now=240.0)[0] == 1

    def test_redis_counter_windows(self, session_factory, redis_url):
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        limiter = RateLimiter(session_factory, redis_url)
        limit = Limit(2, 60)
        counts = [limiter.count("t", "s", limit, add=1, now=120.0)[0] for _ in range(3)]
        assert counts == [1, 2, 3] and limiter.last_backend == "redis"
        assert limiter.count("t", "s", limit, add=1, now=180.0)[0] == 4
        assert limiter.count("t", "s", limit, add=0, now=210.0)[0] == 1 + 2
        assert limiter.count("t", "s", limit, add=0, now=240.0)[0] == 1

    def test_redis_cluster_counter_windows(self, session_factory, redis_cluster):
        """On a 3-node Redis Cluster (`redis+cluster://`): a hit's MULTI and a check's MGET
        each touch one slot, whatever the subject, so nothing falls back to the database."""
        limiter = RateLimiter(session_factory, redis_cluster)
        limit = Limit(2, 60)
        # Braces in a subject (a device hash is the caller's) must not split its keys' slot.
        subjects = [f"ip:10.0.0.{n}" for n in range(12)] + ["device:a}b{", "device:{x}"]
        for subject in subjects:
            counts = [limiter.count("t", subject, limit, add=1, now=120.0)[0] for _ in range(3)]
            assert counts == [1, 2, 3] and limiter.last_backend == "redis", subject
            assert limiter.count("t", subject, limit, add=1, now=180.0)[0] == 4
            assert limiter.count("t", subject, limit, add=0, now=210.0)[0] == 1 + 2
            assert limiter.count("t", subject, limit, add=0, now=240.0)[0] == 1
            assert limiter.last_backend == "redis"
        cluster = limiter.redis
        for subject in subjects:  # a subject's two windows: one slot
            assert len({cluster.keyslot(f"kinsave:rl:{{t:{subject}}}:{w}") for w in (2, 3)}) == 1
        nodes = {cluster.get_node_from_key(f"kinsave:rl:{{t:{s}}}:2").port for s in subjects}
        assert len(nodes) > 1  # the subjects spread over the nodes
        with pytest.raises(KinsaveError):
            limiter.hit("t", "ip:10.0.0.1", limit, now=180.0)

    def test_unreachable_redis_falls_back_to_the_database(self, session_factory):
        limiter = RateLimiter(session_factory, "redis://127.0.0.1:1/0")
        assert limiter.count("t", "s", Limit(2, 60), add=1)[0] == 1
        assert limiter.last_backend == "database"

    def test_limit_parse(self):
        assert Limit.parse("20/60") == Limit(20, 60) and Limit.parse("0/1").count == 0
        with pytest.raises(ValueError):
            Limit.parse("-1/60")


GUESSES = Limit(20, 600)
EDGE = 1_800_000_000.0  # a window edge for 600 s windows


def _passed(limiter: RateLimiter, subject: str, times: list[float]) -> int:
    passed = 0
    for at in times:
        try:
            limiter.hit("token_unknown", subject, GUESSES, now=at)
            passed += 1
        except KinsaveError as error:
            assert error.code == "rate_limited"
    return passed


class TestSlidingWindow:
    """The issue: with 20 per 600 s, 40 guesses back to back across a window edge got 40 through
    a fixed window. The bound (security/sliding_window.py): a burst lasting d seconds lets at most
    L + floor(L * d / W) through."""

    @pytest.mark.parametrize("backend_kind", ["database", "redis"])
    @pytest.mark.parametrize("before_edge", [1, 10, 20, 30, 39])
    def test_forty_guesses_across_a_window_edge(
        self, session_factory, redis_url, backend_kind, before_edge
    ):
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        limiter = RateLimiter(session_factory, redis_url if backend_kind == "redis" else None)
        # 40 attempts one second apart, `before_edge` of them before the edge.
        times = [EDGE - before_edge + i for i in range(40)]
        passed = _passed(limiter, f"ip:{before_edge}", times)
        assert limiter.last_backend == backend_kind
        span = times[-1] - times[0]
        assert passed <= GUESSES.count + int(GUESSES.count * span // GUESSES.seconds) == 21
        assert passed == 20  # refused guesses count too: none gets in after the edge

    def test_a_burst_at_the_end_of_a_window_then_one_later(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        assert _passed(limiter, "ip:x", [EDGE - 1.0] * 20) == 20
        # Half a window later the previous 20 still weigh 10: 10 more pass, not 20.
        assert _passed(limiter, "ip:x", [EDGE + 300.0] * 20) == 10

    def test_retry_after_is_when_the_next_hit_passes(self, session_factory):
        limiter = RateLimiter(session_factory, None)
        assert _passed(limiter, "ip:r", [EDGE + 100.0] * 21) == 20
        with pytest.raises(KinsaveError) as refused:
            limiter.hit("token_unknown", "ip:r", GUESSES, now=EDGE + 100.0)
        retry_after = refused.value.details["retry_after"]
        assert 600 - 100 < retry_after < 2 * 600  # this window's 22 hits weigh into the next
        with pytest.raises(KinsaveError):  # `check` does not count: the probe changes nothing
            limiter.check("token_unknown", "ip:r", GUESSES, now=EDGE + 100.0 + retry_after - 1)
        limiter.check("token_unknown", "ip:r", GUESSES, now=EDGE + 100.0 + retry_after)
        assert _passed(limiter, "ip:r", [EDGE + 100.0 + retry_after]) == 1
