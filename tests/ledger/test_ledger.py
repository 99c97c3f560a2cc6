"""The ledger directly: transfers, limits, history and reconcile."""

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind


def open_pair(session_factory):
    with unit_of_work(session_factory) as session:
        funding = ledger.open_account(session, AccountKind.SHOP_FUNDING, "shop_1")
        wallet = ledger.open_account(session, AccountKind.WALLET, "grandma")
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
        with unit_of_work(session_factory) as session:
            first = ledger.open_account(session, AccountKind.WALLET, "grandma")
            assert ledger.open_account(session, AccountKind.WALLET, "grandma") == first


class TestHistory:
    def test_history_is_signed_newest_first_and_paginates(self, session_factory):
        funding, wallet = open_pair(session_factory)
        for index in range(5):
            move(session_factory, funding, wallet, 10 + index, f"in{index}")
        move(session_factory, wallet, funding, 7, "out")
        with unit_of_work(session_factory) as session:
            page = ledger.history(session, wallet, limit=4)
            rest = ledger.history(session, wallet, limit=4, before=page.next_before)
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
