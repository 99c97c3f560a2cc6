"""Coupon and help faults with real `kinsave serve` processes: SIGKILL in the middle of a coupon
rush (on SQLite and PostgreSQL), and two API processes on PostgreSQL whose sweepers race to
release expired checkout reservations and to refund expired help requests. Nothing acknowledged
is lost, nothing is half applied or given back twice, and the ledger reconciles (the
session_factory fixture checks it)."""

import time
from datetime import timedelta
from functools import partial

import httpx
import pytest
from sqlalchemy import func, select, update

from kinsave.coupons.models import CheckoutOrder, Coupon, CouponTemplate
from kinsave.db import unit_of_work, utcnow
from kinsave.ledger.models import Transfer
from kinsave.social.models import HelpRequest
from tests.coupons.factories import RICE_PRODUCTS, create_template, my_coupon_states, push_products
from tests.factories import (
    Headers,
    create_campaign,
    funded_shopper,
    link_shopper,
    login,
    shop_key,
    wallet_balance,
)
from tests.reliability.processes import ServerProcess, post_or_none, rush

pytestmark = pytest.mark.slow
SHOPPERS = 40
STOCK = 25  # fewer coupons than shoppers: the rush ends sold out


@pytest.fixture
def postgresql_url(database_url, backend, session_factory) -> str:
    if backend != "postgresql":
        pytest.skip("process crashes are injected on PostgreSQL")
    return database_url


def _claim(url: str, template_id: str, shopper: str, headers: Headers) -> httpx.Response | None:
    key = {"Idempotency-Key": f"claim-{template_id}-{shopper}"}
    body = {"template_id": template_id}
    return post_or_none(f"{url}/v1/coupons/claim", headers | key, body)


def _held_coupons(session_factory, template_id: str) -> tuple[dict[str, str], int]:
    """({shopper: coupon id} in the database, the template's issued counter)."""
    with unit_of_work(session_factory) as session:
        rows = session.execute(
            select(Coupon.shopper_id, Coupon.id).where(Coupon.template_id == template_id)
        ).all()
        issued = session.scalar(
            select(CouponTemplate.issued).where(CouponTemplate.id == template_id)
        )
    held = {shopper: coupon_id for shopper, coupon_id in rows}
    assert len(held) == len(rows), "a shopper holds two coupons of a limit-1 template"
    return held, int(issued or 0)


class TestSigkillMidCouponRush:
    def test_acknowledged_claims_survive_and_retries_replay(self, database_url, session_factory):
        """On both databases: SQLite (WAL, synchronous=FULL as in production) too."""
        server = ServerProcess(database_url).start()
        try:
            operator = shop_key(session_factory)
            with httpx.Client(base_url=server.url, timeout=30) as client:
                shoppers = {f"c{i}": login(client, f"c{i}") for i in range(SHOPPERS)}
                template_id = create_template(client, operator, stock=STOCK)["id"]
            claims = {
                s: partial(_claim, server.url, template_id, s, h) for s, h in shoppers.items()
            }
            first = rush(claims, during=server.kill, after=SHOPPERS // 3)

            acknowledged = {
                s: r.json()["id"]
                for s, r in first.items()
                if r is not None and r.status_code == 201
            }
            refused = {s for s, r in first.items() if r is not None and r.status_code != 201}
            assert all(first[s].json()["error"]["code"] == "coupon_sold_out" for s in refused)
            # Every acknowledged claim is in the database; nothing is half applied: the stock
            # counter equals the coupons that exist, whatever the kill interrupted.
            held, issued = _held_coupons(session_factory, template_id)
            assert {s: held[s] for s in acknowledged} == acknowledged
            assert issued == len(held) <= STOCK

            server = ServerProcess(database_url).start()
            retried = {s: _claim(server.url, template_id, s, h) for s, h in shoppers.items()}
            for shopper, coupon_id in acknowledged.items():
                response = retried[shopper]
                assert response is not None and response.status_code == 201
                assert response.json()["id"] == coupon_id
                assert response.headers.get("Idempotent-Replayed") == "true"
            statuses = {s: r.status_code for s, r in retried.items() if r is not None}
            assert len(statuses) == SHOPPERS and set(statuses.values()) <= {201, 409}
            final, issued = _held_coupons(session_factory, template_id)
            assert final == {s: r.json()["id"] for s, r in retried.items() if r.status_code == 201}
            assert issued == len(final) == STOCK
            unanswered = SHOPPERS - len(acknowledged) - len(refused)
            print(f"acknowledged before the kill: {len(acknowledged)}, unanswered: {unanswered}")
        finally:
            server.kill()


ORDERS = 8
CART = [{"sku": "rice-5kg", "quantity": 2, "unit_price": 5900}]


def _transfers(session_factory, kind: str) -> int:
    with unit_of_work(session_factory) as session:
        count = session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == kind)
        )
    return int(count or 0)


def _order_statuses(session_factory) -> dict[str, str]:
    with unit_of_work(session_factory) as session:
        rows = session.execute(select(CheckoutOrder.order_id, CheckoutOrder.status))
        return {order_id: status for order_id, status in rows}


def _reserve(url: str, store: Headers, order_id: str, shopper: str, coupon_id: str) -> None:
    body = {
        "order_id": order_id,
        "shopper_id": shopper,
        "lines": CART,
        "coupons": [coupon_id],
        "use_credit": 1000,
    }
    response = httpx.post(f"{url}/v1/store/checkout/reserve", json=body, headers=store)
    assert response.status_code == 200 and response.json()["status"] == "reserved", response.text


SWEEPING = {"KINSAVE_SWEEPER_ENABLED": "1", "KINSAVE_SWEEPER_INTERVAL_SECONDS": "0.1"}


class TestTwoProcessesReleaseReservations:
    def test_each_expired_reservation_is_released_once(self, postgresql_url, session_factory):
        """Both processes take reservations and both sweep every 0.1 s; holds last 3 s. Half the
        orders are paid in time (never released); the other half expire under both sweepers."""
        env = SWEEPING | {"KINSAVE_CHECKOUT_HOLD_SECONDS": "3"}
        servers = [ServerProcess(postgresql_url, **env), ServerProcess(postgresql_url, **env)]
        try:
            for server in servers:
                server.start()
            operator = shop_key(session_factory)
            store = shop_key(session_factory, role="store")
            shoppers: dict[str, tuple[Headers, str]] = {}
            with httpx.Client(base_url=servers[0].url, timeout=30) as client:
                push_products(client, store, RICE_PRODUCTS)
                campaign = create_campaign(client, operator)
                template_id = create_template(client, operator, amount=500)["id"]
                for i in range(ORDERS):
                    headers = funded_shopper(client, operator, campaign["id"], f"r{i}", 3000)
                    claimed = client.post(
                        "/v1/coupons/claim", json={"template_id": template_id}, headers=headers
                    )
                    shoppers[f"r{i}"] = (headers, claimed.json()["id"])
                    link_shopper(session_factory, campaign["shop_id"], f"r{i}")
            for i, (shopper, (_headers, coupon_id)) in enumerate(shoppers.items()):
                _reserve(servers[i % 2].url, store, f"o-{i}", shopper, coupon_id)
                if i % 2 == 0:  # paid at once, through the other process, well inside the hold
                    paid_url = f"{servers[(i + 1) % 2].url}/v1/store/orders/o-{i}/paid"
                    paid = httpx.post(paid_url, json={}, headers=store)
                    assert paid.json()["status"] == "paid", paid.text

            deadline = time.monotonic() + 30
            while (
                time.monotonic() < deadline
                and "reserved" in _order_statuses(session_factory).values()
            ):
                time.sleep(0.3)
            time.sleep(1)  # both sweepers keep passing over the released orders
            statuses = _order_statuses(session_factory)
            assert statuses == {
                f"o-{i}": "paid" if i % 2 == 0 else "expired" for i in range(ORDERS)
            }
            assert _transfers(session_factory, "checkout_release") == ORDERS // 2
            with httpx.Client(base_url=servers[0].url, timeout=30) as client:
                for i, (headers, coupon_id) in enumerate(shoppers.values()):
                    released = i % 2 == 1
                    assert wallet_balance(client, headers) == (3000 if released else 2000)
                    state = my_coupon_states(client, headers)[coupon_id]
                    assert state == ("available" if released else "used")
        finally:
            for server in servers:
                server.kill()


REQUESTS = 6


def _help_states(session_factory) -> list[str]:
    with unit_of_work(session_factory) as session:
        return list(session.execute(select(HelpRequest.state)).scalars())


class TestTwoProcessesExpireHelpRequests:
    def test_each_expired_help_request_is_refunded_once(self, postgresql_url, session_factory):
        """Requests started and helped through both processes; then their deadline is moved into
        the past (the shortest offer lasts an hour) and both sweepers race for the refunds."""
        servers = [
            ServerProcess(postgresql_url, **SWEEPING),
            ServerProcess(postgresql_url, **SWEEPING),
        ]
        try:
            for server in servers:
                server.start()
            operator = shop_key(session_factory)
            with httpx.Client(base_url=servers[0].url, timeout=30) as client:
                campaign = create_campaign(client, operator, budget=10_000)
                offer = client.post(
                    f"/v1/admin/campaigns/{campaign['id']}/help-offers",
                    json={"helpers_needed": 3, "hours": 1, "reward": 500},
                    headers=operator,
                ).json()
                people = {
                    name: login(client, name)
                    for n in range(REQUESTS)
                    for name in (f"a{n}", f"h{n}")
                }
            for n in range(REQUESTS):
                url = servers[n % 2].url
                started = httpx.post(
                    f"{url}/v1/help-requests",
                    json={"offer_id": offer["id"]},
                    headers=people[f"a{n}"],
                )
                assert started.status_code == 201, started.text
                helped = httpx.post(
                    f"{servers[(n + 1) % 2].url}/v1/help-requests/{started.json()['id']}/help",
                    headers=people[f"h{n}"],
                )
                assert helped.status_code == 200, helped.text
            with unit_of_work(session_factory) as session:
                session.execute(
                    update(HelpRequest).values(deadline_at=utcnow() - timedelta(seconds=1))
                )

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "open" in _help_states(session_factory):
                time.sleep(0.3)
            time.sleep(1)  # both sweepers keep passing over the expired requests
            assert _help_states(session_factory) == ["expired"] * REQUESTS
            assert _transfers(session_factory, "help_refund") == REQUESTS
            with httpx.Client(base_url=servers[1].url, timeout=30) as client:
                after = client.get(f"/v1/admin/campaigns/{campaign['id']}", headers=operator).json()
            assert after["budget_remaining"] == 10_000
        finally:
            for server in servers:
                server.kill()
