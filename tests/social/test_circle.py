"""The family circle: symmetric, idempotent links and the circle's recent activity."""

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.social import service as circle
from tests.factories import create_campaign, login, shop_key


def _shoppers(session_factory: sessionmaker[Session], *ids: str) -> None:
    with unit_of_work(session_factory) as session:
        for shopper_id in ids:
            auth.ensure_shopper(session, shopper_id)


class TestLinkRelatives:
    def test_symmetric_and_idempotent(self, session_factory):
        _shoppers(session_factory, "grandma", "mum")
        for via in ("share", "help"):
            with unit_of_work(session_factory) as session:
                circle.link_relatives(session, "grandma", "mum", via=via)
        with unit_of_work(session_factory) as session:
            circle.link_relatives(session, "mum", "grandma", via="share")
            assert circle.relative_ids(session, "grandma") == ["mum"]
            assert circle.relative_ids(session, "mum") == ["grandma"]
            view = circle.circle_view(session, "grandma")
        assert [(r.shopper_id, r.via) for r in view.relatives] == [("mum", "share")]

    def test_self_link_refused(self, session_factory):
        _shoppers(session_factory, "grandma")
        with pytest.raises(KinsaveError) as refused, unit_of_work(session_factory) as session:
            circle.link_relatives(session, "grandma", "grandma", via="share")
        assert refused.value.code == "invalid_request"
        with unit_of_work(session_factory) as session:
            assert circle.relative_ids(session, "grandma") == []


class TestCircleFeed:
    def test_shows_what_relatives_claimed_or_grabbed(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(
            api, operator, daily_rule={"kind": "uniform", "min": 88, "max": 88}
        )
        grandma, mum = login(api, "grandma"), login(api, "mum")
        with unit_of_work(session_factory) as session:
            circle.link_relatives(session, "grandma", "mum", via="share")
        assert api.post(f"/v1/daily/{campaign['id']}/claim", headers=mum).status_code == 200
        feed = api.get("/v1/circle", headers=grandma).json()
        assert feed["relatives"][0]["shopper_id"] == "mum"
        assert [(a["shopper_id"], a["kind"], a["amount"]) for a in feed["recent"]] == [
            ("mum", "daily_claim", 88)
        ]
        assert api.get("/v1/circle").status_code == 401
