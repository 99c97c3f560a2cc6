"""The ledger directly: transfers, limits, history, reconcile, and shops kept apart."""

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.exc import IntegrityError

from kinsave.auth import service as auth
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind, Transfer


def open_shop(session_factory, name: str = "Harvest Market") -> str:
    with unit_of_work(session_factory) as session:
        return auth.ensure_shop(session, name).id


def open_pair(session_factory, shop_id: str | None = None):
    shop_id = shop_id or open_shop(session_factory)
    with unit_of_work(session_factory) as session:
        funding = ledger.open_account(session, AccountKind.SHOP_FUNDING, shop_id, shop_id)
        wallet = ledger.wallet_account(session, "grandma", shop_id)
    return funding, wallet


def move(session_factory, source, target, amount, key, **extra):
    with unit_of_work(session_factory) as session:
        return ledger.transfer(
            session,
            from_account_id=source,
            to_account_id=target,
            amount=amount,
            kind="test",
            key=key,
            **extra,
        )


class TestTransfer:
    def test_outside_money_may_go_negative_and_everything_sums_to_zero(self, session_factory):
        funding, wallet = open_pair(session_factory)
        move(session_factory, funding, wallet, 500, "t1")
        with unit_of_work(session_factory) as session:
            assert ledger.balance(session, funding) == -500
            assert ledger.balance(session, wallet) == 500
            assert ledger.reconcile(session).sum_of_balances == 0

    def test_a_wallet_never_goes_below_zero(self, session_factory):
        funding, wallet = open_pair(session_factory)
        move(session_factory, funding, wallet, 100, "t1")
        with pytest.raises(KinsaveError) as refused:
            move(session_factory, wallet, funding, 101, "t2")
        assert refused.value.code == "insufficient_funds"
        with unit_of_work(session_factory) as session:
            assert ledger.balance(session, wallet) == 100
            assert ledger.reconcile(session).transfers == 1

    def test_the_refusal_code_can_be_the_callers(self, session_factory):
        funding, wallet = open_pair(session_factory)
        with pytest.raises(KinsaveError) as refused:
            move(session_factory, wallet, funding, 1, "t1", insufficient_code="budget_exhausted")
        assert refused.value.code == "budget_exhausted"

    @pytest.mark.parametrize("amount", [0, -1])
    def test_amount_must_be_positive(self, session_factory, amount):
        funding, wallet = open_pair(session_factory)
        with pytest.raises(KinsaveError) as refused:
            move(session_factory, funding, wallet, amount, "t1")
        assert refused.value.code == "invalid_amount"

    def test_a_key_books_one_transfer_only(self, session_factory):
        funding, wallet = open_pair(session_factory)
        move(session_factory, funding, wallet, 100, "same")
        with pytest.raises(IntegrityError):
            move(session_factory, funding, wallet, 100, "same")
        with unit_of_work(session_factory) as session:
            assert ledger.balance(session, wallet) == 100

    def test_opening_an_account_twice_returns_the_same_account(self, session_factory):
        shop_id = open_shop(session_factory)
        with unit_of_work(session_factory) as session:
            first = ledger.wallet_account(session, "grandma", shop_id)
            assert ledger.wallet_account(session, "grandma", shop_id) == first


class TestHistory:
    def test_history_is_signed_newest_first_and_paginates(self, session_factory):
        funding, wallet = open_pair(session_factory)
        for index in range(5):
            move(session_factory, funding, wallet, 10 + index, f"in{index}")
        move(session_factory, wallet, funding, 7, "out")
        with unit_of_work(session_factory) as session:
            page = ledger.history(session, [wallet], limit=4)
            rest = ledger.history(session, [wallet], limit=4, before=page.next_before)
        amounts = [e.amount for e in page.entries] + [e.amount for e in rest.entries]
        assert amounts == [-7, 14, 13, 12, 11, 10]
        assert rest.next_before is None
        assert page.entries[0].counterparty_kind == "shop_funding"


class TestReconcile:
    def test_a_tampered_balance_is_found(self, session_factory):
        funding, wallet = open_pair(session_factory)
        move(session_factory, funding, wallet, 100, "t1")
        with unit_of_work(session_factory) as session:
            session.execute(update(Account).where(Account.id == wallet).values(balance=150))
        with unit_of_work(session_factory) as session:
            report = ledger.reconcile(session)
        assert not report.clean
        assert [
            (m.account_id, m.stored_balance, m.computed_balance) for m in report.mismatches
        ] == [(wallet, 150, 100)]
        assert report.sum_of_balances == 50
        with unit_of_work(session_factory) as session:  # put it back for the teardown check
            session.execute(update(Account).where(Account.id == wallet).values(balance=100))


class TestShops:
    """Credit is per shop: a wallet per (shopper, shop), and money never crosses shops."""

    def two_shops(self, session_factory):
        market, bakery = open_shop(session_factory), open_shop(session_factory, "Corner Bakery")
        market_funding, market_wallet = open_pair(session_factory, market)
        bakery_funding, bakery_wallet = open_pair(session_factory, bakery)
        move(session_factory, market_funding, market_wallet, 300, "market-credit")
        move(session_factory, bakery_funding, bakery_wallet, 500, "bakery-credit")
        return market, bakery, market_wallet, bakery_wallet, bakery_funding

    def test_a_shopper_holds_one_balance_per_shop(self, session_factory):
        market, bakery, market_wallet, bakery_wallet, _ = self.two_shops(session_factory)
        assert market_wallet != bakery_wallet
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "grandma", market) == 300
            assert ledger.wallet_balance(session, "grandma", bakery) == 500
            assert ledger.wallet_balance(session, "mum", market) == 0  # never opened
            listed = {b.shop_id: b.balance for b in ledger.wallet_balances(session, "grandma")}
            assert listed == {market: 300, bakery: 500}
            report = ledger.reconcile(session)
        assert report.clean and not report.unbalanced_shops and not report.cross_shop_transfers

    def test_a_transfer_across_shops_is_refused_and_moves_nothing(self, session_factory):
        market, bakery, market_wallet, _, bakery_funding = self.two_shops(session_factory)
        with pytest.raises(KinsaveError) as refused:
            move(session_factory, market_wallet, bakery_funding, 100, "crossing")
        assert refused.value.code == "cross_shop_transfer"
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "grandma", market) == 300
            assert ledger.balance(session, bakery_funding) == -500
            assert ledger.reconcile(session).transfers == 2

    def test_the_database_refuses_a_raw_transfer_across_shops(self, session_factory):
        market, bakery, market_wallet, _, bakery_funding = self.two_shops(session_factory)
        for shop_id in (market, bakery):  # either shop: one of the two accounts is not its
            with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
                session.execute(
                    insert(Transfer).values(
                        idempotency_key=f"raw-{shop_id}",
                        from_account_id=market_wallet,
                        to_account_id=bakery_funding,
                        shop_id=shop_id,
                        amount=100,
                        kind="raw",
                        created_at=utcnow(),
                    )
                )
        with unit_of_work(session_factory) as session:
            assert ledger.reconcile(session).transfers == 2

    def test_reconcile_catches_money_that_crossed_shops_behind_the_keys(
        self, session_factory, backend
    ):
        market, bakery, market_wallet, bakery_wallet, bakery_funding = self.two_shops(
            session_factory
        )
        with unit_of_work(session_factory) as session:
            market_funding = ledger.open_account(session, AccountKind.SHOP_FUNDING, market, market)
        # A raw write with the foreign keys switched off (a buggy migration, a hand fix).
        with unit_of_work(session_factory) as session:
            if backend == "postgresql":
                session.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                session.execute(text("PRAGMA defer_foreign_keys = ON"))
            crossing = raw_move(session, market_funding, bakery_wallet, 100, shop_id=market)
            report = ledger.reconcile(session)
            session.rollback()
        assert not report.clean
        assert report.cross_shop_transfers == [crossing]
        assert report.unbalanced_shops == {market: -100, bakery: 100}
        assert report.sum_of_balances == 0  # the old all-accounts check alone saw nothing


def raw_move(session, source: int, target: int, amount: int, *, shop_id: str) -> int:
    for account_id, delta in ((source, -amount), (target, amount)):
        session.execute(
            update(Account).where(Account.id == account_id).values(balance=Account.balance + delta)
        )
    transfer_id: int = session.execute(
        insert(Transfer)
        .values(
            idempotency_key="raw-crossing",
            from_account_id=source,
            to_account_id=target,
            shop_id=shop_id,
            amount=amount,
            kind="raw",
            created_at=utcnow(),
        )
        .returning(Transfer.id)
    ).scalar_one()
    return transfer_id
