"""Support's shopper lookup and manual credit adjustments: through the ledger's transfer, never
below zero, audited with the reason, visible only to the shop that knows the shopper."""

import json

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.security import audit
from kinsave.support import service as support
from tests.sharing.factories import shop_with_campaign


def shop_and_shopper(session_factory: sessionmaker[Session], credit: int = 500) -> tuple[str, str]:
    """A shop whose campaign gave Grandma `credit`; (shop id, campaign id)."""
    from kinsave.campaigns import service as campaigns

    shop_id, campaign_id = shop_with_campaign(session_factory)
    with unit_of_work(session_factory) as session:
        auth.ensure_shopper(session, "grandma", "Grandma Li")
        campaigns.grant_credit(session, shop_id, campaign_id, "grandma", credit, key="welcome")
    return shop_id, campaign_id


def adjust(session_factory, shop_id: str, amount: int, reason: str = "late parcel", **extra):
    with unit_of_work(session_factory) as session:
        return support.adjust_credit(
            session,
            shop_id,
            extra.pop("shopper", "grandma"),
            amount=amount,
            reason=reason,
            actor="ks_op_test",
            **extra,
        )


def state(session_factory, shop_id: str) -> tuple[int, int]:
    """(Grandma's credit at the shop, how many audit entries the shop has)."""
    with unit_of_work(session_factory) as session:
        entries = audit.page(session, shop_id, before_id=None, limit=100).entries
        return ledger.wallet_balance(session, "grandma", shop_id), len(entries)


class TestAdjustCredit:
    def test_adding_credit_moves_it_from_the_shop_and_is_audited(self, session_factory):
        shop_id, _ = shop_and_shopper(session_factory)
        adjust(session_factory, shop_id, 250, reason="  parcel\n arrived   late ", key="k1")
        assert state(session_factory, shop_id) == (750, 1)
        with unit_of_work(session_factory) as session:
            (entry,) = audit.page(session, shop_id, before_id=None, limit=10).entries
            history = ledger.wallet_history(session, "grandma", shop_id=shop_id).entries
            view = support.shopper_at_shop(session, shop_id, "grandma")
        assert entry.action == "support.credit_adjustment" and entry.actor == "ks_op_test"
        assert json.loads(entry.target) == {"shopper_id": "grandma"}
        details = json.loads(entry.details)
        assert (details["amount"], details["reason"]) == (250, "parcel arrived late")
        assert (history[0].kind, history[0].amount, history[0].counterparty_kind) == (
            "credit_adjustment",
            250,
            "shop_funding",
        )
        assert [(a.amount, a.reason) for a in view.adjustments] == [(250, "parcel arrived late")]

    def test_taking_credit_back_down_to_zero(self, session_factory):
        shop_id, _ = shop_and_shopper(session_factory)
        adjust(session_factory, shop_id, -500)
        assert state(session_factory, shop_id) == (0, 1)

    @pytest.mark.parametrize(
        ("amount", "reason", "code"),
        [
            (-501, "typo", "insufficient_funds"),
            (0, "nothing", "invalid_amount"),
            (10**16, "too much", "invalid_amount"),
            (100, "   ", "reason_required"),
        ],
    )
    def test_a_refusal_moves_nothing_and_audits_nothing(
        self, session_factory, amount, reason, code
    ):
        shop_id, _ = shop_and_shopper(session_factory)
        with pytest.raises(KinsaveError) as refused:
            adjust(session_factory, shop_id, amount, reason=reason)
        assert refused.value.code == code
        assert state(session_factory, shop_id) == (500, 0)

    def test_a_shopper_of_another_shop_is_not_found(self, session_factory):
        shop_id, _ = shop_and_shopper(session_factory)
        other_shop, _ = shop_with_campaign(session_factory, shop="Other Shop")
        with pytest.raises(KinsaveError) as refused:
            adjust(session_factory, other_shop, 100)
        assert refused.value.code == "not_found"
        with pytest.raises(KinsaveError):
            adjust(session_factory, shop_id, 100, shopper="nobody")
        assert state(session_factory, shop_id) == (500, 0)


class TestFindShoppers:
    def test_by_id_name_or_host_identity_and_only_the_shops_own(self, session_factory):
        shop_id, _ = shop_and_shopper(session_factory)
        with unit_of_work(session_factory) as session:
            auth.ensure_shopper(session, "grandpa", "Grandpa Li")  # nothing at this shop
            auth.remember_channel_identity(
                session, host="telegram", host_user_id="424242", shopper_id="grandma"
            )
        with unit_of_work(session_factory) as session:
            by_name = support.find_shoppers(session, shop_id, "li")
            by_id = support.find_shoppers(session, shop_id, "grand")
            by_host = support.find_shoppers(session, shop_id, "424242")
            wildcard = support.find_shoppers(session, shop_id, "%")
        assert [(s.shopper_id, s.balance) for s in by_name] == [("grandma", 500)]
        assert [s.shopper_id for s in by_id] == [s.shopper_id for s in by_host] == ["grandma"]
        assert wildcard == []
        with unit_of_work(session_factory) as session, pytest.raises(KinsaveError):
            support.shopper_at_shop(session, shop_id, "grandpa")
