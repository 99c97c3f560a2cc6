"""A claim rush through the real HTTP server: the stock and the per-shopper limit hold."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import unit_of_work
from tests.coupons.factories import create_template
from tests.factories import login, shop_key


@pytest.mark.slow
class TestClaimRush:
    def test_never_oversells_nor_exceeds_limit(self, api, session_factory, live_server):
        template = create_template(api, shop_key(session_factory), stock=20, per_shopper_limit=1)
        shoppers = [login(api, f"rush{i}") for i in range(40)]
        # 60 claims: every shopper once, the first 20 twice, interleaved.
        attempts = shoppers + shoppers[:20]
        attempts = attempts[::2] + attempts[1::2]

        def attempt(headers: dict[str, str]) -> tuple[int, str | None]:
            with httpx.Client(base_url=live_server.url, timeout=120) as client:
                response = client.post(
                    "/v1/coupons/claim", json={"template_id": template["id"]}, headers=headers
                )
            code = None if response.status_code == 201 else response.json()["error"]["code"]
            return response.status_code, code

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(attempt, attempts))

        assert sum(1 for status, _ in results if status == 201) == 20
        refusals = {code for status, code in results if status != 201}
        assert refusals <= {"coupon_sold_out", "coupon_limit_reached"}
        with unit_of_work(session_factory) as session:
            assert session.execute(select(func.count()).select_from(Coupon)).scalar_one() == 20
            per_shopper = session.execute(
                select(Coupon.shopper_id, func.count()).group_by(Coupon.shopper_id)
            ).all()
            assert max(n for _, n in per_shopper) == 1
            issued = session.execute(select(CouponTemplate.issued)).scalar_one()
        assert issued == 20
