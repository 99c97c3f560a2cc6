"""The checkout batcher's batch function: writes share one transaction and one savepoint;
a refused write runs again in its own."""

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.auth.schemas import ShopPrincipal
from kinsave.batch_outcomes import RUN_ALONE
from kinsave.coupons import checkout, order_reads
from kinsave.coupons.checkout_schemas import OrderOut, ReserveIn
from kinsave.coupons.store_writes import StoreWrite, run_store_writes
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.security.models import AuditEntry
from tests.coupons.test_checkout import CART, balances, shop  # noqa: F401


def _reserve(store: ShopPrincipal, order_id: str, credit: int) -> StoreWrite:
    data = ReserveIn.model_validate(
        {**CART, "order_id": order_id, "coupons": [], "use_credit": credit}
    )
    return StoreWrite(
        store,
        "reserve",
        lambda session: checkout.reserve_checkout(session, store.shop_id, data, 600),
    )


def test_a_refused_write_leaves_nothing_and_the_others_commit(session_factory, shop):  # noqa: F811
    store = ShopPrincipal(shop_id=shop.shop_id, role="store", key_prefix="ks_store_test")
    # Grandma holds 3,000: the second reserve is refused by the ledger after its order and lines
    # were written in the shared transaction; the third still finds 2,000 - 1,000 left.
    writes = [
        _reserve(store, "b-1", 1000),
        _reserve(store, "b-2", 2500),
        _reserve(store, "b-3", 1000),
    ]
    with unit_of_work(session_factory) as session:
        outcomes = run_store_writes(session, writes)

    assert [getattr(o, "order_id", None) for o in outcomes] == ["b-1", None, "b-3"]
    assert isinstance(outcomes[1], KinsaveError) and outcomes[1].code == "insufficient_funds"
    assert balances(session_factory, shop, "b-1") == (1000, 1000, 0)
    assert balances(session_factory, shop, "b-3")[1] == 1000
    assert balances(session_factory, shop, "b-2")[1] == 0
    with unit_of_work(session_factory) as session:
        assert order_reads.find_order(session, shop.shop_id, "b-2") is None
        targets = session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "store.reserve")
        ).all()
    assert sorted(json.loads(t)["order_id"] for t in targets) == ["b-1", "b-3"]


def test_refusals_anywhere_in_the_batch_each_leave_nothing(session_factory, shop):  # noqa: F811
    store = ShopPrincipal(shop_id=shop.shop_id, role="store", key_prefix="ks_store_test")
    # Grandma holds 3,000. The writes run together in one savepoint until one is refused; every
    # refusal (the first write, two in a row, the last) must roll back exactly its own rows, and
    # the writes between them, run again after each refusal, must be kept once.
    writes = [
        _reserve(store, "c-1", 3500),  # refused first
        _reserve(store, "c-2", 1000),
        _reserve(store, "c-3", 2500),  # refused: 2,000 left
        _reserve(store, "c-4", 2100),  # refused
        _reserve(store, "c-5", 1500),
        _reserve(store, "c-2", 100),  # refused: c-2 above took its id, with other terms
        _reserve(store, "c-6", 600),  # refused last: 500 left
    ]
    with unit_of_work(session_factory) as session:
        outcomes = run_store_writes(session, writes)

    assert [getattr(o, "order_id", getattr(o, "code", None)) for o in outcomes] == [
        "insufficient_funds",
        "c-2",
        "insufficient_funds",
        "insufficient_funds",
        "c-5",
        "order_state_invalid",
        "insufficient_funds",
    ]
    assert balances(session_factory, shop, "c-2")[1] == 1000
    assert balances(session_factory, shop, "c-5")[1] == 1500
    with unit_of_work(session_factory) as session:
        for refused in ("c-1", "c-3", "c-4", "c-6"):
            assert order_reads.find_order(session, shop.shop_id, refused) is None
        targets = session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "store.reserve")
        ).all()
    assert sorted(json.loads(t)["order_id"] for t in targets) == ["c-2", "c-5"]


def test_a_raced_write_leaves_nothing_and_runs_alone_after(session_factory, shop):  # noqa: F811
    store = ShopPrincipal(shop_id=shop.shop_id, role="store", key_prefix="ks_store_test")
    reserve = _reserve(store, "d-2", 500)

    def raced(session: Session) -> OrderOut:
        reserve.run(session)  # its rows written, then a concurrent request's constraint
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    writes = [
        _reserve(store, "d-1", 1000),
        StoreWrite(store, "reserve", raced),
        _reserve(store, "d-3", 1000),
    ]
    with unit_of_work(session_factory) as session:
        outcomes = run_store_writes(session, writes)

    assert getattr(outcomes[0], "order_id", None) == "d-1"
    assert outcomes[1] is RUN_ALONE
    assert getattr(outcomes[2], "order_id", None) == "d-3"
    assert balances(session_factory, shop, "d-2")[1] == 0
    with unit_of_work(session_factory) as session:
        assert order_reads.find_order(session, shop.shop_id, "d-2") is None
        targets = session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "store.reserve")
        ).all()
    assert sorted(json.loads(t)["order_id"] for t in targets) == ["d-1", "d-3"]
