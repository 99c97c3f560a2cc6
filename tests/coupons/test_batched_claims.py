"""Coupon claims committed in batches (claims.py): every claim gets its own exact answer, a refusal
writes nothing, and concurrent claims of one shopper never collide on a slot."""

import threading

import pytest
from sqlalchemy import select

from kinsave.coupons import claims
from kinsave.coupons.claims import ClaimRequest
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from tests.coupons.factories import create_template
from tests.factories import login, outcome_codes, shop_key


def _slots(session_factory, template_id: str) -> dict[str, list[int]]:
    with unit_of_work(session_factory) as session:
        rows = session.execute(
            select(Coupon.shopper_id, Coupon.slot)
            .where(Coupon.template_id == template_id)
            .order_by(Coupon.shopper_id, Coupon.slot)
        ).all()
    slots: dict[str, list[int]] = {}
    for shopper, slot in rows:
        slots.setdefault(shopper, []).append(slot)
    return slots


def _issued(session_factory, template_id: str) -> int:
    with unit_of_work(session_factory) as session:
        return session.get_one(CouponTemplate, template_id).issued


@pytest.fixture
def shoppers(api):
    for name in ("aunt", "uncle", "cousin"):
        login(api, name)
    return ("aunt", "uncle", "cousin")


class TestClaimBatch:
    def test_each_claim_in_one_batch_gets_its_own_answer(self, api, session_factory, shoppers):
        template = create_template(api, shop_key(session_factory), stock=3, per_shopper_limit=2)
        batch = [
            ClaimRequest(template["id"], "aunt"),
            ClaimRequest(template["id"], "aunt"),  # a second tap in the same batch: slot 2
            ClaimRequest(template["id"], "aunt"),  # a third: above the limit
            ClaimRequest(template["id"], "uncle"),  # the last unit of stock
            ClaimRequest(template["id"], "cousin"),
            ClaimRequest("ctpl_missing", "cousin"),
        ]
        with unit_of_work(session_factory) as session:
            outcomes = claims.claim_many(session, batch)

        assert outcome_codes(outcomes) == [
            "ok",
            "ok",
            "coupon_limit_reached",
            "ok",
            "coupon_sold_out",
            "not_found",
        ]
        assert _slots(session_factory, template["id"]) == {"aunt": [1, 2], "uncle": [1]}
        assert _issued(session_factory, template["id"]) == 3
        first = outcomes[0]
        assert not isinstance(first, KinsaveError)
        assert (first.template_id, first.amount, first.state) == (template["id"], 2000, "available")

    def test_a_paused_template_refuses_the_whole_batch(self, api, session_factory, shoppers):
        operator = shop_key(session_factory)
        template = create_template(api, operator, stock=3)
        paused = api.post(f"/v1/admin/coupon-templates/{template['id']}/pause", headers=operator)
        assert paused.status_code == 200, paused.text
        with unit_of_work(session_factory) as session:
            outcomes = claims.claim_many(
                session, [ClaimRequest(template["id"], name) for name in shoppers]
            )
        assert outcome_codes(outcomes) == ["coupon_not_claimable"] * 3
        assert _slots(session_factory, template["id"]) == {}

    def test_over_http_the_rush_is_exact(self, api, session_factory):
        template = create_template(api, shop_key(session_factory), stock=2)
        relatives = [login(api, f"relative{i}") for i in range(4)]
        answers = [
            api.post("/v1/coupons/claim", json={"template_id": template["id"]}, headers=r)
            for r in relatives
        ]
        assert [a.status_code for a in answers] == [201, 201, 409, 409]
        assert answers[2].json()["error"]["code"] == "coupon_sold_out"
        assert _issued(session_factory, template["id"]) == 2


class TestConcurrentClaims:
    def test_one_shoppers_simultaneous_taps_take_consecutive_slots(self, api, session_factory):
        # Every claim runs under its template's row lock, so the count of a shopper's coupons it
        # reads is never stale: simultaneous taps never collide on a slot (no 409 conflict).
        template = create_template(api, shop_key(session_factory), stock=10, per_shopper_limit=3)
        login(api, "eager")
        start = threading.Barrier(6)
        codes: list[str] = []

        def tap() -> None:
            start.wait()
            try:
                with unit_of_work(session_factory) as session:
                    claims.claim_coupon(session, "eager", template["id"])
                codes.append("ok")
            except KinsaveError as refusal:
                codes.append(refusal.code)

        threads = [threading.Thread(target=tap) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(codes) == ["coupon_limit_reached"] * 3 + ["ok"] * 3
        assert _slots(session_factory, template["id"]) == {"eager": [1, 2, 3]}
