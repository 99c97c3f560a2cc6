"""The budget burn report and the shop's envelope list that the console draws from."""

from datetime import timedelta

from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import service as envelopes
from kinsave.jobs import expire_envelopes
from tests.factories import create_campaign, give_credit, login, shop_key


class TestBudgetBurn:
    def test_spending_and_refunds_by_local_day(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator, budget=10_000)
        login(api, "grandma")
        give_credit(api, operator, campaign["id"], "grandma", 1_500)
        sent = api.post(
            f"/v1/admin/campaigns/{campaign['id']}/envelopes",
            json={"total": 2_000, "shares": 4},
            headers=operator,
        )
        assert sent.status_code == 201, sent.text
        expire_envelopes(session_factory, now=utcnow() + timedelta(days=2))
        burn = api.get(f"/v1/admin/campaigns/{campaign['id']}/burn", headers=operator).json()
        first, last = burn["points"][0], burn["points"][-1]
        assert (first["funded"], first["spent"], first["remaining"]) == (10_000, 3_500, 6_500)
        # The refund lands on the day the envelope expired, two days later (gap days included).
        assert len(burn["points"]) == 3 and last["spent"] == -2_000
        # The whole envelope came back ungrabbed: only the credit stays spent.
        assert (last["spent_to_date"], last["remaining"]) == (1_500, 8_500)

    def test_another_shops_burn_is_not_found(self, api, session_factory):
        campaign = create_campaign(api, shop_key(session_factory, "Other Shop"))
        mine = shop_key(session_factory)
        response = api.get(f"/v1/admin/campaigns/{campaign['id']}/burn", headers=mine)
        assert response.status_code == 404


class TestShopEnvelopes:
    def test_lists_only_this_shops_envelopes_one_page_at_a_time(self, api, session_factory):
        operator = shop_key(session_factory)
        other = shop_key(session_factory, "Other Shop")
        mine = create_campaign(api, operator)
        theirs = create_campaign(api, other)
        for headers, campaign, count in ((operator, mine, 3), (other, theirs, 1)):
            for _ in range(count):
                api.post(
                    f"/v1/admin/campaigns/{campaign['id']}/envelopes",
                    json={"total": 100, "shares": 2},
                    headers=headers,
                )
        with unit_of_work(session_factory) as session:
            shop_id = mine["shop_id"]
            first = envelopes.list_shop_envelopes(
                session, shop_id, campaign_id=None, limit=2, offset=0
            )
            second = envelopes.list_shop_envelopes(
                session, shop_id, campaign_id=None, limit=2, offset=2
            )
            foreign = envelopes.list_shop_envelopes(
                session, shop_id, campaign_id=theirs["id"], limit=10, offset=0
            )
        assert len(first.envelopes) == 2 and first.next_offset == 2
        assert len(second.envelopes) == 1 and second.next_offset is None
        assert foreign.envelopes == []
