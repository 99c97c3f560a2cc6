"""Every console form goes through the request's write boundary (`api.request_transaction`, the
API's unit of work and audit hook): each changes something and is found in the shop's audit log,
under the operator's key prefix, in the change's own transaction.

The forms are enumerated from the app's routes (every POST under /admin), so a console form
merged later without a scenario here fails `test_every_console_form_has_a_scenario`.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from kinsave.app import create_app
from kinsave.auth import service as auth
from kinsave.db import unit_of_work
from kinsave.ledger import service as ledger
from kinsave.security.models import AuditEntry
from kinsave.webhooks import service as webhooks
from tests.coupons.factories import RICE_PRODUCTS, push_products
from tests.factories import create_campaign, give_credit, login, shop_key
from tests.security.test_every_admin_route import _flatten
from tests.web.test_console_coupon_form import FORM as COUPON_FORM

SHOP = "Console Audit Shop"
PUBLIC_HOOK = "https://93.184.216.34/hook"  # an address: no DNS look-up in the test


def console_forms() -> list[str]:
    return sorted(
        route.path
        for route in _flatten(create_app().routes)
        if route.path.startswith("/admin") and "POST" in route.methods
    )


@dataclass
class Console:
    """An operator's browser, as plain HTTP: the key's cookie, the CSRF cookie, and the API
    headers that read what the forms changed."""

    client: httpx.Client
    api: httpx.Client
    operator: dict[str, str]
    key: str

    @property
    def csrf(self) -> str:
        return self.client.cookies["ks_csrf"]

    def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data={**form, "csrf": self.csrf})

    def get(self, path: str) -> Any:
        answer = self.api.get(path, headers=self.operator)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def entries(self, action: str) -> list[dict[str, Any]]:
        page = self.get("/v1/admin/audit?limit=100")
        return [entry for entry in page["entries"] if entry["action"] == action]


@contextmanager
def open_console(api: httpx.Client, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, cookies={"ks_operator": key}) as client:
        assert client.get("/admin/campaigns").status_code == 200  # sets the CSRF cookie
        yield client


@pytest.fixture
def console(api, session_factory) -> Iterator[Console]:
    operator = shop_key(session_factory, shop=SHOP)
    key = operator["Authorization"].removeprefix("Bearer ")
    with open_console(api, key) as client:
        yield Console(client, api, operator, key)


def campaign(console: Console) -> str:
    return str(create_campaign(console.api, console.operator, name="Audited")["id"])


def template(console: Console) -> str:
    body = {"name": "Audited", "kind": "amount_off", "amount": 500, "stock": 10, "valid_days": 7}
    answer = console.api.post("/v1/admin/coupon-templates", json=body, headers=console.operator)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def delivery(console: Console, session_factory: sessionmaker[Session]) -> int:
    created = console.api.post(
        "/v1/admin/webhooks", json={"url": PUBLIC_HOOK}, headers=console.operator
    )
    assert created.status_code == 201, created.text
    with unit_of_work(session_factory) as session:
        webhooks.enqueue(session, auth.find_shop(session, SHOP).id, "test.event", {"x": 1})
    return int(console.get("/v1/admin/webhooks/deliveries")["deliveries"][0]["id"])


# Each scenario: (console, session_factory) -> the path posted, with a check that the change
# happened, after which the audit entry must be there.
Check = Callable[[], None]
Scenario = Callable[[Console, sessionmaker[Session]], tuple[str, Check]]


def sign_in(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    with httpx.Client(base_url=console.api.base_url) as fresh:
        fresh.get("/admin/login")
        answer = fresh.post(
            "/admin/login", data={"api_key": console.key, "csrf": fresh.cookies["ks_csrf"]}
        )
        assert answer.status_code == 303 and fresh.cookies.get("ks_operator") == console.key
    return "/admin/login", lambda: None


def sign_out(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    answer = console.post("/admin/logout", {})
    assert answer.status_code == 303
    return "/admin/logout", lambda: None


def new_campaign(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    form = {"name": "Form campaign", "budget": "50", "daily_min": "0.1", "daily_max": "0.5"}
    assert console.post("/admin/campaigns", {**form, "form_key": "f1"}).status_code == 303

    def check() -> None:
        names = [c["name"] for c in console.get("/v1/admin/campaigns")["campaigns"]]
        assert names == ["Form campaign"]

    return "/admin/campaigns", check


def shop_envelope(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    campaign_id = campaign(console)
    path = f"/admin/campaigns/{campaign_id}/envelopes"
    answer = console.post(path, {"total": "8.8", "shares": "2", "form_key": "f2"})
    assert answer.status_code == 303 and "problem" not in answer.headers["location"]

    def check() -> None:
        assert console.get(f"/v1/admin/campaigns/{campaign_id}")["budget_spent"] == 880

    return path, check


def campaign_status(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    campaign_id = campaign(console)
    path = f"/admin/campaigns/{campaign_id}/status"
    assert console.post(path, {"status": "paused"}).status_code == 303

    def check() -> None:
        assert console.get(f"/v1/admin/campaigns/{campaign_id}")["status"] == "paused"

    return path, check


def channel_policy(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    form = {"links_allowed": "on", "payment_methods": "wechat_pay", "note": "audited edit"}
    answer = console.post("/admin/channels/wechat", form)
    assert answer.status_code == 303 and "problem" not in answer.headers["location"]

    def check() -> None:
        assert console.get("/v1/admin/channels/wechat/policy")["current"]["note"] == "audited edit"

    return "/admin/channels/wechat", check


def coupon_template(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    answer = console.post("/admin/coupons", {**COUPON_FORM, "form_key": "f3"})
    assert answer.status_code == 303

    def check() -> None:
        names = [t["name"] for t in console.get("/v1/admin/coupon-templates")["templates"]]
        assert COUPON_FORM["name"] in names

    return "/admin/coupons", check


def coupon_status(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    template_id = template(console)
    path = f"/admin/coupons/{template_id}/status"
    answer = console.post(path, {"action": "pause"})
    assert answer.status_code == 303 and "problem" not in answer.headers["location"]

    def check() -> None:
        assert console.get(f"/v1/admin/coupon-templates/{template_id}")["status"] == "paused"

    return path, check


def webhook_endpoint(console: Console, _sf: sessionmaker[Session]) -> tuple[str, Check]:
    answer = console.post("/admin/webhooks", {"url": PUBLIC_HOOK, "form_key": "f4"})
    assert answer.status_code == 200 and 'id="form-problem"' not in answer.text

    def check() -> None:
        urls = [e["url"] for e in console.get("/v1/admin/webhooks")["endpoints"]]
        assert urls == [PUBLIC_HOOK]

    return "/admin/webhooks", check


def webhook_resend(console: Console, sf: sessionmaker[Session]) -> tuple[str, Check]:
    delivery_id = delivery(console, sf)
    path = f"/admin/webhooks/deliveries/{delivery_id}/resend"
    answer = console.post(path, {})
    assert answer.status_code == 303 and "problem" not in answer.headers["location"]

    def check() -> None:
        assert len(console.get("/v1/admin/webhooks/deliveries")["deliveries"]) == 2

    return path, check


def credit_adjustment(console: Console, sf: sessionmaker[Session]) -> tuple[str, Check]:
    login(console.api, "grandson")
    give_credit(console.api, console.operator, campaign(console), "grandson", 300)
    path = "/admin/shoppers/grandson/credit"
    answer = console.post(path, {"amount": "1.50", "reason": "late parcel", "form_key": "f5"})
    assert answer.status_code == 303 and "adjusted=150" in answer.headers["location"]

    def check() -> None:
        with unit_of_work(sf) as session:
            shop_id = auth.find_shop(session, SHOP).id
            assert ledger.wallet_balance(session, "grandson", shop_id) == 450

    return path, check


def group_deal(console: Console, sf: sessionmaker[Session]) -> str:
    push_products(console.api, shop_key(sf, shop=SHOP, role="store"), RICE_PRODUCTS)
    form = {"sku": "rice-5kg", "group_price": "39.90", "group_size": "3", "units": "30"}
    answer = console.post("/admin/group-deals", {**form, "form_key": "f6"})
    assert answer.status_code == 303, answer.text
    [deal] = console.get("/v1/admin/group-deals")["deals"]
    return str(deal["id"])


def new_group_deal(console: Console, sf: sessionmaker[Session]) -> tuple[str, Check]:
    deal_id = group_deal(console, sf)

    def check() -> None:
        assert console.get(f"/v1/admin/group-deals/{deal_id}")["units"] == 30

    return "/admin/group-deals", check


def group_deal_status(console: Console, sf: sessionmaker[Session]) -> tuple[str, Check]:
    deal_id = group_deal(console, sf)
    path = f"/admin/group-deals/{deal_id}/status"
    answer = console.post(path, {"action": "pause"})
    assert answer.status_code == 303 and "problem" not in answer.headers["location"]

    def check() -> None:
        assert console.get(f"/v1/admin/group-deals/{deal_id}")["status"] == "paused"

    return path, check


SCENARIOS: dict[str, Scenario] = {
    "/admin/login": sign_in,
    "/admin/logout": sign_out,
    "/admin/campaigns": new_campaign,
    "/admin/campaigns/{campaign_id}/envelopes": shop_envelope,
    "/admin/campaigns/{campaign_id}/status": campaign_status,
    "/admin/channels/{channel}": channel_policy,
    "/admin/coupons": coupon_template,
    "/admin/coupons/{template_id}/status": coupon_status,
    "/admin/webhooks": webhook_endpoint,
    "/admin/webhooks/deliveries/{delivery_id}/resend": webhook_resend,
    "/admin/shoppers/{shopper_id}/credit": credit_adjustment,
    "/admin/group-deals": new_group_deal,
    "/admin/group-deals/{deal_id}/status": group_deal_status,
}


def test_every_console_form_has_a_scenario():
    assert console_forms() == sorted(SCENARIOS)


@pytest.mark.parametrize("route", sorted(SCENARIOS))
def test_each_console_form_is_in_the_audit_log(console, session_factory, route):
    path, check = SCENARIOS[route](console, session_factory)
    check()
    [entry] = console.entries(f"POST {route}")
    assert entry["actor"] == console.key[: len("ks_op_") + 4]  # the key's prefix, never the key
    target = json.loads(entry["target"])
    assert path == route.format(**target)  # the path parameters of the form that was posted
    assert console.key not in json.dumps(entry) and console.csrf not in entry["details"]


class TestRefusedChanges:
    def test_a_refused_form_leaves_no_entry(self, console, session_factory):
        answer = console.post("/admin/coupons/tpl_nobody/status", {"action": "pause"})
        assert "problem=" in answer.headers["location"]
        assert console.entries("POST /admin/coupons/{template_id}/status") == []

    def test_a_form_signed_out_or_without_csrf_changes_nothing(self, console):
        # Every form's required fields, so that each reaches its handler's checks.
        form = {"status": "paused", "action": "pause", "total": "1", "shares": "1", "api_key": "x"}
        ids = {"campaign_id": "c", "template_id": "t", "deal_id": "d", "shopper_id": "s"}
        ids |= {"delivery_id": "1", "channel": "wechat"}
        for route in console_forms():
            if route in ("/admin/login", "/admin/logout"):
                continue  # no operator needed: their own tests
            path = route.format(**ids)
            with httpx.Client(base_url=console.api.base_url) as stranger:
                signed_out = stranger.post(path, data={**form, "csrf": "x"})
            assert signed_out.status_code == 303, route
            assert signed_out.headers["location"] == "/admin/login", route
            forged = console.client.post(path, data={**form, "csrf": "forged"})
            assert forged.status_code == 403, route
        assert console.get("/v1/admin/audit?limit=100")["entries"] == []

    @pytest.mark.parametrize("shares", ["0", "20000"])
    def test_an_envelope_the_api_model_refuses_is_named_not_a_500(self, console, shares):
        campaign_id = campaign(console)
        path = f"/admin/campaigns/{campaign_id}/envelopes"
        answer = console.post(path, {"total": "8.8", "shares": shares, "form_key": "f" + shares})
        assert answer.status_code == 303
        assert answer.headers["location"].endswith(
            f"{path.removesuffix('/envelopes')}?problem=shares"
        )
        assert console.get(f"/v1/admin/campaigns/{campaign_id}")["budget_spent"] == 0
        assert console.entries("POST /admin/campaigns/{campaign_id}/envelopes") == []

    def test_a_read_only_key_changes_nothing_from_the_console(self, api, session_factory):
        with unit_of_work(session_factory) as session:
            shop_id = auth.ensure_shop(session, SHOP).id
            key = auth.create_api_key(session, shop_id, "operator", "read")
        with open_console(api, key) as client:
            form = {"name": "Not allowed", "budget": "50", "csrf": client.cookies["ks_csrf"]}
            answer = client.post("/admin/campaigns", data=form)
        assert answer.status_code == 422 and "forbidden" in answer.text
        full = shop_key(session_factory, shop=SHOP)
        assert api.get("/v1/admin/campaigns", headers=full).json()["campaigns"] == []
        with unit_of_work(session_factory) as session:
            actions = [e.action for e in session.query(AuditEntry).filter_by(shop_id=shop_id)]
        assert actions == []
