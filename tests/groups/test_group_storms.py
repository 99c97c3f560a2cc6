"""Group storms against the real databases: seats, successes, entitlements and units hold.

- 200 concurrent joins of one 5-person group through the HTTP server: exactly 5 members, one
  success, 5 set_price coupons, every other join refused with group_full.
- 1,000 groups filling at once (threads calling the service, a transaction each): no group over
  its size, entitlements = size x succeeded groups, units never oversold, no shopper in two
  open groups of the deal, even for shoppers racing themselves into two groups.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import chain

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth.models import Shopper
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import joining, starting
from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from tests.factories import login
from tests.groups.factories import create_deal, make_shop, started

pytestmark = pytest.mark.slow


def add_shoppers(session_factory: sessionmaker[Session], ids: list[str]) -> None:
    with unit_of_work(session_factory) as session:
        now = utcnow()
        session.execute(
            insert(Shopper), [{"id": i, "display_name": i, "created_at": now} for i in ids]
        )


def invariants(session_factory: sessionmaker[Session], deal_id: str) -> dict[str, int]:
    """Checks what must hold for the deal whatever raced; returns the counts."""
    with unit_of_work(session_factory) as session:
        deal = session.get(GroupDeal, deal_id)
        assert deal is not None
        groups = list(
            session.execute(select(DealGroup).where(DealGroup.deal_id == deal_id)).scalars()
        )
        rows = Counter(
            session.execute(
                select(GroupMember.group_id).where(GroupMember.deal_id == deal_id)
            ).scalars()
        )
        for group in groups:
            assert rows[group.id] == group.members <= group.size
            if group.status == "succeeded":
                assert group.members == group.size
        by_status = Counter(g.status for g in groups)
        coupons = session.execute(
            select(func.count()).select_from(Coupon).where(Coupon.template_id == deal.template_id)
        ).scalar_one()
        template = session.get(CouponTemplate, deal.template_id)
        assert template is not None and template.issued == coupons
        assert coupons == deal.group_size * by_status["succeeded"]
        holding = by_status["forming"] + by_status["succeeded"]
        assert deal.units_taken == deal.group_size * holding <= deal.units
        open_rows = session.execute(
            select(GroupMember.shopper_id, func.count())
            .join(DealGroup, DealGroup.id == GroupMember.group_id)
            .where(GroupMember.deal_id == deal_id, DealGroup.status == "forming")
            .group_by(GroupMember.shopper_id)
        ).all()
        assert all(n == 1 for _shopper, n in open_rows)
        with_coupons = session.execute(
            select(func.count())
            .select_from(GroupMember)
            .where(GroupMember.deal_id == deal_id, GroupMember.coupon_id.is_not(None))
        ).scalar_one()
        assert with_coupons == coupons
    return {"coupons": coupons, **by_status}


class TestOneGroupRush:
    def test_200_joins_of_a_5_person_group(self, api, session_factory, live_server):
        shop = make_shop(api, session_factory)
        deal = create_deal(api, shop, group_size=5, units=50)
        group = started(api, login(api, "starter"), deal["id"])
        joiners = [login(api, f"rush{i}") for i in range(200)]

        def attempt(headers: dict[str, str]) -> tuple[int, str | None]:
            with httpx.Client(base_url=live_server.url, timeout=120) as client:
                response = client.post(f"/v1/groups/{group['id']}/join", headers=headers)
            code = None if response.is_success else response.json()["error"]["code"]
            return response.status_code, code

        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(attempt, joiners))

        assert sum(1 for status, _ in results if status == 200) == 4
        assert {code for _status, code in results if code} == {"group_full"}
        counts = invariants(session_factory, deal["id"])
        assert (counts["succeeded"], counts["coupons"]) == (1, 5)


def start_or_refuse(factory: sessionmaker[Session], deal_id: str, shopper: str) -> str:
    try:
        with unit_of_work(factory) as session:
            return starting.start_group(session, deal_id, shopper).id
    except KinsaveError as error:
        return error.code


def join_or_refuse(factory: sessionmaker[Session], group_id: str, shopper: str) -> str:
    try:
        with unit_of_work(factory) as session:
            return joining.join_group(session, group_id, shopper).status
    except KinsaveError as error:
        return error.code


class TestThousandGroups:
    SIZE, GROUPS, UNITS = 3, 1000, 2970  # units for 990 groups: ten starts find none left

    def test_filling_at_once(self, api, session_factory, backend):
        # SQLite has one writer: more threads only queue longer for its lock (past the busy
        # timeout on a loaded machine), they race no more.
        threads = 16 if backend == "postgresql" else 4
        shop = make_shop(api, session_factory)
        deal = create_deal(api, shop, group_size=self.SIZE, units=self.UNITS)["id"]
        starters = [f"s{i}" for i in range(self.GROUPS)]
        # Two joiners per group; every 10th group's second seat goes to a "greedy" shopper who
        # also races into the next group at the same moment.
        joiners = [f"j{i}" for i in range(self.GROUPS * 2)]
        add_shoppers(session_factory, starters + joiners)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            starts = list(pool.map(lambda s: start_or_refuse(session_factory, deal, s), starters))
        groups = [g for g in starts if g.startswith("grp_")]
        assert len(groups) == self.UNITS // self.SIZE
        assert Counter(g for g in starts if not g.startswith("grp_")) == {"group_deal_sold_out": 10}

        calls = list(chain.from_iterable(self.joins_of(i, g) for i, g in enumerate(groups)))
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(lambda c: join_or_refuse(session_factory, *c), calls))

        # A greedy shopper is refused by the second group: in it already, or (once the first
        # succeeded) at the per-shopper limit of one group.
        allowed = {"forming", "succeeded", "already_in_group", "group_limit_reached"}
        assert set(outcomes) <= allowed
        counts = invariants(session_factory, deal)
        assert counts["succeeded"] >= len(groups) * 8 // 10
        assert counts["coupons"] == self.SIZE * counts["succeeded"]

    def joins_of(self, index: int, group_id: str) -> list[tuple[str, str]]:
        first, second = f"j{2 * index}", f"j{2 * index + 1}"
        if index % 10 == 0:
            second = f"j{2 * index + 2}"  # the next group's first joiner: in two groups at once
        return [(group_id, first), (group_id, second)]
