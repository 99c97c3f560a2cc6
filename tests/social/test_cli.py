"""The jobs' entry points: `kinsave expire`, `kinsave deliver-webhooks` and the sweeper."""

import time
from datetime import timedelta

from kinsave.cli import app
from kinsave.db import unit_of_work, utcnow
from kinsave.jobs import Sweeper
from kinsave.social import help_offers, help_requests
from kinsave.social.schemas import HelpOfferIn
from tests.factories import create_campaign, login, shop_key


def test_expire_and_deliver_commands(api, session_factory, cli):
    operator = shop_key(session_factory)
    started = utcnow() - timedelta(hours=2)
    campaign = create_campaign(
        api, operator, budget=1000, starts_at=(started - timedelta(hours=1)).isoformat()
    )
    login(api, "grandma")
    with unit_of_work(session_factory) as session:
        offer = help_offers.create_offer(
            session,
            campaign["shop_id"],
            campaign["id"],
            HelpOfferIn(helpers_needed=2, hours=1, reward=300),
        )
        help_requests.start_request(session, offer.id, "grandma", now=started)
    result = cli.invoke(app, ["expire"])
    assert result.exit_code == 0, result.output
    assert "expired 1 help requests, refunded 300" in result.output
    assert cli.invoke(app, ["expire"]).output.count("expired 0 help requests") == 1
    delivered = cli.invoke(app, ["deliver-webhooks"])
    assert delivered.exit_code == 0, delivered.output
    assert "sent 0" in delivered.output
    assert cli.invoke(app, ["reconcile"]).exit_code == 0


def test_sweeper_refunds_overdue_requests(api, session_factory, settings):
    operator = shop_key(session_factory)
    started = utcnow() - timedelta(hours=2)
    campaign = create_campaign(
        api, operator, budget=1000, starts_at=(started - timedelta(hours=1)).isoformat()
    )
    login(api, "grandma")
    with unit_of_work(session_factory) as session:
        offer = help_offers.create_offer(
            session,
            campaign["shop_id"],
            campaign["id"],
            HelpOfferIn(helpers_needed=2, hours=1, reward=300),
        )
        request = help_requests.start_request(session, offer.id, "grandma", now=started)
    sweeper = Sweeper(session_factory, interval=0.05, settings=settings)
    sweeper.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with unit_of_work(session_factory) as session:
                if help_requests.request_view(session, request.id).closed_at is not None:
                    break
            time.sleep(0.05)
    finally:
        sweeper.stop()
    budget = api.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
    assert budget["budget_remaining"] == 1000
