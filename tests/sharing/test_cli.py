"""`kinsave expire` also pays referral rewards whose hold has ended."""

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from kinsave.cli import app
from kinsave.config import get_settings
from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from kinsave.sharing.attribution import attribute_order
from tests.sharing.factories import share, shop_with_campaign, shopper


def test_expire_pays_due_rewards(session_factory, database_url, monkeypatch):
    shop_id, campaign_id = shop_with_campaign(
        session_factory, referral={"amount": 300, "hold_seconds": 60}
    )
    past = datetime.now(UTC) - timedelta(hours=1)
    code = share(session_factory, "grandma", campaign_id, past)
    shopper(session_factory, "grandson")
    with unit_of_work(session_factory) as session:
        attribute_order(
            session,
            shop_id=shop_id,
            order_id="o1",
            shopper_id="grandson",
            amount_paid=1000,
            attribution=code,
            now=past,
        )
    monkeypatch.setenv("KINSAVE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["expire"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "paid 1 referral rewards, 300 in total" in result.output
    with unit_of_work(session_factory) as session:
        assert ledger.wallet_balance(session, "grandma", shop_id) == 300
