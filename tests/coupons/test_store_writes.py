"""The checkout batcher's batch function: writes share one transaction, each in its savepoint."""

import json

from sqlalchemy import select

from kinsave.auth.schemas import ShopPrincipal
from kinsave.coupons import checkout, order_reads
from kinsave.coupons.checkout_schemas import ReserveIn
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
