"""Redis dies while the coupon gate (gates/) fronts a coupon rush on a real `kinsave serve`.

The Redis is a private `redis-server` on a free port (the machine's shared one keeps running).
While it is gone the database alone decides every claim: answers stay 201 or 409
`coupon_sold_out`, never a 5xx, the stock is never oversold, a retry with the same
Idempotency-Key returns the first coupon. When Redis returns, the gate counts again by itself.
The rate limiter counts in the same Redis and falls back to the database meanwhile.
"""

import time
from collections.abc import Iterator
from functools import partial

import httpx
import pytest
import redis
from sqlalchemy import func, select

from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import unit_of_work
from kinsave.gates.gate import RETRY_SECONDS
from kinsave.security.models import RateCounter
from tests.coupons.factories import create_template
from tests.factories import Headers, login, shop_key
from tests.reliability.processes import ServerProcess, post_or_none, rush

pytestmark = pytest.mark.slow
SHOPPERS = 30


@pytest.fixture
def gated_server(database_url, session_factory, private_redis) -> Iterator[ServerProcess]:
    # Rate limits on, counted in the same Redis: an outage takes the limiter and the gate at once.
    # Every client here is 127.0.0.1, hence limits that only the per-IP count would ever reach.
    limits = {
        "KINSAVE_RATE_LIMITS_ENABLED": "1",
        "KINSAVE_RATE_LIMIT_LOGIN": "1000/60",
        "KINSAVE_RATE_LIMIT_COUPON_CLAIM": "1000/60",
    }
    server = ServerProcess(database_url, KINSAVE_REDIS_URL=private_redis.url, **limits).start()
    yield server
    server.kill()


def _claim(url: str, template_id: str, shopper: str, headers: Headers) -> httpx.Response | None:
    key = {"Idempotency-Key": f"claim-{template_id}-{shopper}"}
    return post_or_none(f"{url}/v1/coupons/claim", headers | key, {"template_id": template_id})


def _rush(url: str, shoppers: dict[str, Headers], template_id: str, **during):
    calls = {s: partial(_claim, url, template_id, s, h) for s, h in shoppers.items()}
    return rush(calls, **during)


def _outcomes(results) -> dict[str, str]:
    """Each shopper's answer: the coupon id, or the refusal's code."""
    return {
        shopper: response.json()["id"]
        if response.status_code == 201
        else response.json()["error"]["code"]
        for shopper, response in results.items()
    }


def _holders(session_factory, template_id: str) -> tuple[dict[str, str], int]:
    with unit_of_work(session_factory) as session:
        rows = session.execute(
            select(Coupon.shopper_id, Coupon.id).where(Coupon.template_id == template_id)
        ).all()
        issued = session.scalar(
            select(CouponTemplate.issued).where(CouponTemplate.id == template_id)
        )
    return {shopper: coupon_id for shopper, coupon_id in rows}, int(issued or 0)


def _gate_count(redis_url: str, template_id: str) -> int | None:
    # The stock the gate counts as left (gates/store.py): its template's state hash.
    value = redis.Redis.from_url(redis_url).hget(f"{{tpl:{template_id}}}:s", "left")
    return None if value is None else int(value)


def _database_counters(session_factory) -> int:
    with unit_of_work(session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(RateCounter)) or 0)


def _limiter_keys(redis_url: str) -> int:
    return len(list(redis.Redis.from_url(redis_url).scan_iter("kinsave:rl:*")))


def _assert_sold_exactly(session_factory, template_id: str, outcomes, stock: int) -> None:
    holders, issued = _holders(session_factory, template_id)
    assert set(outcomes.values()) - set(holders.values()) == {"coupon_sold_out"}
    assert holders == {s: o for s, o in outcomes.items() if o != "coupon_sold_out"}
    assert issued == len(holders) == stock


class TestRedisGateOutage:
    def test_redis_killed_mid_rush_the_database_decides_then_the_gate_returns(
        self, gated_server, private_redis, session_factory
    ):
        operator = shop_key(session_factory)
        with httpx.Client(base_url=gated_server.url, timeout=30) as client:
            shoppers = {f"q{i}": login(client, f"q{i}") for i in range(SHOPPERS)}
            templates = [create_template(client, operator, stock=n)["id"] for n in (8, 12, 5)]

        # Redis up: the gate counts, and refuses the late claimers by itself.
        before = _outcomes(_rush(gated_server.url, shoppers, templates[0]))
        _assert_sold_exactly(session_factory, templates[0], before, stock=8)
        assert _gate_count(private_redis.url, templates[0]) == 0
        assert _limiter_keys(private_redis.url) > 0 and _database_counters(session_factory) == 0

        # Redis killed once a third have answered: every answer is still a clean one.
        results = _rush(
            gated_server.url, shoppers, templates[1], during=private_redis.kill, after=10
        )
        assert all(r is not None and r.status_code in (201, 409) for r in results.values())
        during = _outcomes(results)
        _assert_sold_exactly(session_factory, templates[1], during, stock=12)
        assert _database_counters(session_factory) > 0  # the limiter fell back to the database
        # Retries (Redis still down) replay the first answers; no second coupon anywhere.
        retried = _outcomes(_rush(gated_server.url, shoppers, templates[1]))
        assert {s: c for s, c in retried.items() if c.startswith("cpn_")} == {
            s: c for s, c in during.items() if c.startswith("cpn_")
        }
        _assert_sold_exactly(session_factory, templates[1], during, stock=12)

        # Redis back (empty, on the same port): once the gate's pause after a failure is over, it
        # reseeds its count from the database and refuses late claimers by itself again.
        private_redis.start()
        time.sleep(RETRY_SECONDS + 0.5)
        after = _outcomes(_rush(gated_server.url, shoppers, templates[2]))
        _assert_sold_exactly(session_factory, templates[2], after, stock=5)
        assert _gate_count(private_redis.url, templates[2]) == 0
