"""The optional Redis gate in front of claims: it refuses early, the database still decides."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from kinsave.auth import service as auth
from kinsave.coupons import claims, service
from kinsave.coupons.gate import ClaimGate
from kinsave.coupons.models import Coupon
from kinsave.coupons.schemas import TemplateIn
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError


def setup(session_factory, shoppers: int, stock: int) -> str:
    with unit_of_work(session_factory) as session:
        shop = auth.ensure_shop(session, "Gate Shop")
        for n in range(shoppers):
            auth.ensure_shopper(session, f"g{n}")
        template = service.create_template(
            session,
            shop.id,
            TemplateIn(name="¥5 off", kind="amount_off", amount=500, stock=stock, valid_days=1),
        )
    return template.id


def claim(session_factory, gate: ClaimGate, shopper: str, template_id: str) -> str:
    try:
        with unit_of_work(session_factory) as session:
            claims.claim_coupon(session, shopper, template_id, gate=gate)
        return "ok"
    except KinsaveError as refusal:
        return refusal.code


def coupons(session_factory) -> int:
    with unit_of_work(session_factory) as session:
        return session.execute(select(func.count()).select_from(Coupon)).scalar_one()


class TestClaimGate:
    def test_rush_through_the_gate_never_oversells(self, session_factory, redis_url):
        template_id = setup(session_factory, shoppers=30, stock=5)
        gate = ClaimGate(redis_url)
        redis.Redis.from_url(redis_url).delete(gate.key(template_id))
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(
                pool.map(lambda n: claim(session_factory, gate, f"g{n}", template_id), range(30))
            )
        assert results.count("ok") == 5 and set(results) == {"ok", "coupon_sold_out"}
        assert coupons(session_factory) == 5
        assert int(redis.Redis.from_url(redis_url).get(gate.key(template_id)) or 0) == 0

    def test_limit_refusal_gives_the_unit_back(self, session_factory, redis_url):
        template_id = setup(session_factory, shoppers=2, stock=2)
        gate = ClaimGate(redis_url)
        client = redis.Redis.from_url(redis_url)
        client.delete(gate.key(template_id))
        assert claim(session_factory, gate, "g0", template_id) == "ok"
        assert claim(session_factory, gate, "g0", template_id) == "coupon_limit_reached"
        assert int(client.get(gate.key(template_id)) or 0) == 1
        assert claim(session_factory, gate, "g1", template_id) == "ok"

    def test_a_give_back_after_the_count_expired_creates_no_count(self, session_factory, redis_url):
        # Found by `kinsave bench` coupon-rush: INCR on the expired key made a TTL-less count of 1
        # and the gate refused "sold out" for good while stock was left.
        template_id = setup(session_factory, shoppers=2, stock=5)
        gate = ClaimGate(redis_url)
        client = redis.Redis.from_url(redis_url)
        client.delete(gate.key(template_id))
        gate.give_back(template_id, 1)  # a claim refused by the database after its count expired
        assert not client.exists(gate.key(template_id))
        for shopper in ("g0", "g1"):
            assert claim(session_factory, gate, shopper, template_id) == "ok"
        assert client.ttl(gate.key(template_id)) > 0

    def test_a_drifted_count_heals_from_the_database(self, session_factory, redis_url):
        template_id = setup(session_factory, shoppers=1, stock=3)
        gate = ClaimGate(redis_url)
        client = redis.Redis.from_url(redis_url)
        client.set(gate.key(template_id), 0, ex=60)  # as if a crash lost units
        assert claim(session_factory, gate, "g0", template_id) == "coupon_sold_out"
        assert coupons(session_factory) == 0
        client.delete(gate.key(template_id))  # what the TTL does on its own
        assert claim(session_factory, gate, "g0", template_id) == "ok"

    def test_redis_down_lets_the_database_decide(self, session_factory):
        template_id = setup(session_factory, shoppers=1, stock=1)
        gate = ClaimGate("redis://127.0.0.1:1/0")
        assert claim(session_factory, gate, "g0", template_id) == "ok"
        assert coupons(session_factory) == 1


def decisions(outcome: str) -> float:
    sample = REGISTRY.get_sample_value(
        "kinsave_gate_decisions_total", {"gate": "coupon", "outcome": outcome}
    )
    return sample or 0.0


class TestGateMetrics:
    """/metrics counts what the gate decided: admitted to the database, refused before it, or
    not decided at all (Redis unreachable: a miss, the database decides)."""

    def test_admits_and_refusals_are_counted(self, session_factory, redis_url):
        template_id = setup(session_factory, shoppers=3, stock=1)
        gate = ClaimGate(redis_url)
        before = {outcome: decisions(outcome) for outcome in ("admit", "refuse", "miss")}
        results = [claim(session_factory, gate, f"g{n}", template_id) for n in range(3)]
        assert results == ["ok", "coupon_sold_out", "coupon_sold_out"]
        assert decisions("admit") - before["admit"] == 1
        assert decisions("refuse") - before["refuse"] == 2
        assert decisions("miss") == before["miss"]

    def test_a_gate_that_cannot_decide_counts_a_miss(self, session_factory):
        template_id = setup(session_factory, shoppers=2, stock=5)
        gate = ClaimGate("redis://127.0.0.1:1/0")
        before = decisions("miss")
        assert [claim(session_factory, gate, f"g{n}", template_id) for n in range(2)] == [
            "ok",
            "ok",
        ]
        assert decisions("miss") - before == 2  # the first failed call, then the pause


@pytest.fixture(autouse=True)
def _clean_gate_keys(redis_url):
    yield
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("kinsave:coupon-stock-left:*"):
        client.delete(key)


class TestHungRedis:
    def test_a_hung_redis_costs_one_timeout_per_pause_then_the_gate_returns(
        self, session_factory, private_redis, caplog
    ):
        template_id = setup(session_factory, shoppers=20, stock=30)
        gate = ClaimGate(private_redis.url, retry_seconds=1.0)
        assert claim(session_factory, gate, "g0", template_id) == "ok"
        assert int(redis.Redis.from_url(private_redis.url).get(gate.key(template_id)) or 0) == 29
        private_redis.freeze()  # connections are accepted, nothing is answered
        try:
            started = time.monotonic()
            results = [claim(session_factory, gate, f"g{n}", template_id) for n in range(1, 20)]
            elapsed = time.monotonic() - started
        finally:
            private_redis.thaw()
        assert results == ["ok"] * 19 and coupons(session_factory) == 20
        # Each timeout (0.5 s) is followed by a 1 s pause without Redis: not one per claim.
        timeouts = [r for r in caplog.records if "claim gate unavailable" in r.getMessage()]
        assert 1 <= len(timeouts) <= elapsed / 1.5 + 1 and len(timeouts) < 19
        time.sleep(1.1)
        assert gate.in_use
        other = setup(session_factory, shoppers=1, stock=3)
        assert claim(session_factory, gate, "g0", other) == "ok"
        assert int(redis.Redis.from_url(private_redis.url).get(gate.key(other)) or 0) == 2
