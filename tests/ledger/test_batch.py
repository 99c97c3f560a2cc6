"""The ledger's batch booking and `ledger.transfer` (a batch of one) refuse the same bad postings,
and a refused posting in a batch leaves the others booked and writes nothing of its own."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.ledger import batch
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind, Transfer
from kinsave.ledger.schemas import MAX_AMOUNT
from tests.ledger.test_ledger import open_pair, open_shop


@pytest.fixture
def accounts(session_factory):
    """A shop's funding account, grandma's wallet holding 100, and the bakery's funding."""
    funding, wallet = open_pair(session_factory)
    bakery = open_shop(session_factory, "Corner Bakery")
    with unit_of_work(session_factory) as session:
        ledger.transfer(
            session, from_account_id=funding, to_account_id=wallet, amount=100, kind="t", key="k0"
        )
        bakery_funding = ledger.open_account(session, AccountKind.SHOP_FUNDING, bakery, bakery)
        shop_id = ledger.shop_of(session, wallet)
    return {"funding": funding, "wallet": wallet, "bakery": bakery_funding, "shop": shop_id}


BAD = {  # posting fields (accounts by name) -> the refusal both paths give
    "zero": ({"amount": 0}, "invalid_amount"),
    "negative": ({"amount": -5}, "invalid_amount"),
    "too much": ({"amount": MAX_AMOUNT + 1}, "invalid_amount"),
    "one account": ({"to": "wallet"}, "invalid_request"),
    "no such account": ({"to": 987654321}, "not_found"),
    "across shops": ({"to": "bakery"}, "cross_shop_transfer"),
    "overdraft": ({"amount": 101}, "insufficient_funds"),
    "overdraft, caller's code": (
        {"amount": 101, "insufficient_code": "budget_exhausted"},
        "budget_exhausted",
    ),
}


def _posting(accounts, key: str, **fields) -> batch.Posting:
    def account(name):
        return accounts.get(name, name)

    return batch.Posting(
        account(fields.get("from", "wallet")),
        account(fields.get("to", "funding")),
        fields.get("amount", 10),
        "test",
        key,
        insufficient_code=fields.get("insufficient_code", "insufficient_funds"),
    )


def _totals(session_factory):
    with unit_of_work(session_factory) as session:
        transfers = session.execute(select(func.count(Transfer.id))).scalar_one()
        balances = dict(session.execute(select(Account.id, Account.balance)).all())
    return transfers, balances


class TestSameRefusals:
    @pytest.mark.parametrize("case", list(BAD))
    def test_transfer_and_batch_refuse_alike(self, session_factory, accounts, case):
        fields, code = BAD[case]
        posting = _posting(accounts, "bad", **fields)
        before = _totals(session_factory)
        assert isinstance(posting.from_account, int) and isinstance(posting.to_account, int)
        with pytest.raises(KinsaveError) as alone, unit_of_work(session_factory) as session:
            ledger.transfer(
                session,
                from_account_id=posting.from_account,
                to_account_id=posting.to_account,
                amount=posting.amount,
                kind=posting.kind,
                key=posting.key,
                insufficient_code=posting.insufficient_code,
            )
        assert alone.value.code == code
        with unit_of_work(session_factory) as session:
            good = [_posting(accounts, "good-1", amount=30), _posting(accounts, "good-2")]
            outcomes = batch.book(session, [good[0], posting, good[1]])
        assert isinstance(outcomes[1], KinsaveError) and outcomes[1].code == code
        assert all(isinstance(o, int) for o in (outcomes[0], outcomes[2]))
        transfers, balances = _totals(session_factory)
        assert transfers == before[0] + 2  # the refused posting wrote nothing
        assert balances[accounts["wallet"]] == before[1][accounts["wallet"]] - 40

    def test_a_reused_key_raises_in_both(self, session_factory, accounts):
        with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
            ledger.transfer(
                session,
                from_account_id=accounts["wallet"],
                to_account_id=accounts["funding"],
                amount=1,
                kind="t",
                key="k0",
            )
        with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
            batch.book(session, [_posting(accounts, "k0")])
        with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
            batch.book(session, [_posting(accounts, "twice"), _posting(accounts, "twice")])
        assert _totals(session_factory)[0] == 1


class TestBatch:
    def test_a_payer_pays_in_order_counting_the_postings_before(self, session_factory, accounts):
        with unit_of_work(session_factory) as session:
            outcomes = batch.book(
                session,
                [_posting(accounts, f"p{i}", amount=a) for i, a in enumerate([60, 60, 30, 11])],
            )
        codes = [o.code if isinstance(o, KinsaveError) else "ok" for o in outcomes]
        assert codes == ["ok", "insufficient_funds", "ok", "insufficient_funds"]
        with unit_of_work(session_factory) as session:
            assert ledger.balance(session, accounts["wallet"]) == 10

    def test_a_wallet_opens_with_its_first_credit_only(self, session_factory, accounts):
        newcomer = batch.Wallet("newcomer", accounts["shop"])
        refused = batch.Wallet("refused", accounts["shop"])
        with unit_of_work(session_factory) as session:
            outcomes = batch.book(
                session,
                [
                    batch.Posting(accounts["funding"], newcomer, 25, "t", "new"),
                    batch.Posting(accounts["wallet"], refused, 500, "t", "too-much"),
                    batch.Posting(accounts["funding"], newcomer, 5, "t", "again"),
                ],
            )
        assert isinstance(outcomes[0], int) and isinstance(outcomes[2], int)
        assert isinstance(outcomes[1], KinsaveError)
        with unit_of_work(session_factory) as session:
            assert ledger.wallet_balance(session, "newcomer", accounts["shop"]) == 30
            assert (
                ledger.find_account(session, AccountKind.WALLET, "refused", accounts["shop"])
                is None
            )

    def test_a_wallet_never_opened_pays_nothing(self, session_factory, accounts):
        stranger = batch.Wallet("stranger", accounts["shop"])
        with unit_of_work(session_factory) as session:
            (outcome,) = batch.book(
                session, [batch.Posting(stranger, accounts["funding"], 1, "t", "s")]
            )
        assert isinstance(outcome, KinsaveError) and outcome.code == "insufficient_funds"


class TestShopAccounts:
    def test_a_shops_account_named_by_kind_opens_with_its_first_booking_then_is_found(
        self, session_factory, accounts
    ):
        redeemed = batch.ShopAccount(AccountKind.SHOP_REDEEMED, accounts["shop"])
        for key in ("first", "second"):
            with unit_of_work(session_factory) as session:
                (outcome,) = batch.book(
                    session, [batch.Posting(accounts["wallet"], redeemed, 30, "t", key)]
                )
            assert isinstance(outcome, int)
        with unit_of_work(session_factory) as session:
            shop = accounts["shop"]
            assert ledger.balance_of(session, AccountKind.SHOP_REDEEMED, shop, shop) == 60
            assert ledger.balance(session, accounts["wallet"]) == 40
            opened = session.execute(
                select(func.count(Account.id)).where(Account.kind == "shop_redeemed")
            ).scalar_one()
        assert opened == 1

    def test_it_pays_back_only_what_it_holds_and_never_across_shops(
        self, session_factory, accounts
    ):
        redeemed = batch.ShopAccount(AccountKind.SHOP_REDEEMED, accounts["shop"])
        bakery = ledger_shop_of(session_factory, accounts["bakery"])
        with unit_of_work(session_factory) as session:
            outcomes = batch.book(
                session,
                [
                    batch.Posting(redeemed, accounts["wallet"], 1, "t", "never-opened"),
                    batch.Posting(accounts["wallet"], redeemed, 20, "t", "in"),
                    batch.Posting(redeemed, accounts["wallet"], 21, "t", "too-much"),
                    batch.Posting(redeemed, batch.Wallet("grandma", bakery), 5, "t", "across"),
                    batch.Posting(redeemed, accounts["wallet"], 20, "t", "back"),
                ],
            )
        codes = [o.code if isinstance(o, KinsaveError) else "ok" for o in outcomes]
        assert codes == [
            "insufficient_funds",
            "ok",
            "insufficient_funds",
            "cross_shop_transfer",
            "ok",
        ]
        with unit_of_work(session_factory) as session:
            assert ledger.balance(session, accounts["wallet"]) == 100
            shop = accounts["shop"]
            assert ledger.balance_of(session, AccountKind.SHOP_REDEEMED, shop, shop) == 0


def ledger_shop_of(session_factory, account_id: int) -> str:
    with unit_of_work(session_factory) as session:
        return ledger.shop_of(session, account_id)
