"""The console's coupon template form: dates, claim caps, discount cap, minimum spend, stacking
group, and refusals named in the form (HTTP, as a browser posts it)."""

from collections.abc import Iterator

import httpx
import pytest

from kinsave.auth import service as auth
from kinsave.coupons import service as coupons
from kinsave.db import unit_of_work
from tests.web.test_console import operator_key

SHOP = "Harvest Family Market"
FORM = {
    "name": "Mid-autumn 10% off",
    "kind": "percent_off",
    "percent": "10",
    "cap": "15",
    "min_spend": "50",
    "stock": "500",
    "per_shopper_limit": "2",
    "valid_from": "2026-09-20T00:00",
    "valid_until": "2026-10-01T00:00",
    "timezone": "Asia/Shanghai",
    "valid_days": "",
    "stacking_group": "festival",
    "credit_combinable": "no",
    "categories": "mooncakes",
}


@pytest.fixture
def console(api, session_factory) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-in console client and the CSRF token its first page set."""
    cookies = {"ks_operator": operator_key(session_factory)}
    with httpx.Client(base_url=api.base_url, cookies=cookies) as client:
        assert client.get("/admin/coupons").status_code == 200
        yield client, client.cookies["ks_csrf"]


def templates_of_shop(session_factory) -> list:
    with unit_of_work(session_factory) as session:
        shop = auth.ensure_shop(session, SHOP)
        return coupons.list_templates(session, shop.id).templates


class TestCouponTemplateForm:
    def test_every_field_reaches_the_template(self, console, session_factory):
        client, csrf = console
        answer = client.post("/admin/coupons", data={**FORM, "csrf": csrf, "form_key": "k1"})
        assert answer.status_code == 303
        listing = client.get("/admin/coupons").text
        [template] = templates_of_shop(session_factory)
        assert (template.kind, template.percent, template.cap) == ("percent_off", 10, 1500)
        assert (template.stock, template.per_shopper_limit) == (500, 2)
        assert template.scope.min_spend == 5000 and template.scope.values == ["mooncakes"]
        assert template.valid_from is not None and template.valid_until is not None
        # 00:00 in Shanghai is 16:00 UTC the day before.
        assert template.valid_from.isoformat() == "2026-09-19T16:00:00+00:00"
        assert template.valid_until.isoformat() == "2026-09-30T16:00:00+00:00"
        assert template.valid_days is None
        assert (template.stacking_group, template.credit_combinable) == ("festival", False)
        assert '<td class="group">festival</td>' in listing
        # Shown back as typed: in the shop's time zone, never bare UTC.
        assert "2026-10-01 00:00" in listing

    def test_an_end_before_the_start_is_named_and_nothing_is_created(
        self, console, session_factory
    ):
        client, csrf = console
        refused_form = {**FORM, "valid_until": "2026-09-01T00:00", "csrf": csrf, "form_key": "k2"}
        answer = client.post("/admin/coupons", data=refused_form)
        assert answer.status_code == 422
        assert 'data-field="valid_until"' in answer.text
        assert "Please check the form: Claimable until" in answer.text
        assert (
            'name="valid_until" type="datetime-local" value="2026-09-01T00:00" aria-invalid="true"'
            in answer.text
        )
        assert 'value="festival"' in answer.text  # what was typed stays
        assert templates_of_shop(session_factory) == []

    def test_a_long_stacking_group_is_named(self, console, session_factory):
        client, csrf = console
        refused_form = {**FORM, "stacking_group": "g" * 41, "csrf": csrf, "form_key": "k3"}
        answer = client.post("/admin/coupons", data=refused_form)
        assert answer.status_code == 422
        assert "Please check the form: Stacking group" in answer.text
        assert templates_of_shop(session_factory) == []

    def test_a_refusal_from_the_service_shows_its_message_in_chinese(
        self, console, session_factory
    ):
        client, csrf = console
        client.cookies.set("ks_lang", "zh-CN")
        refused_form = {**FORM, "percent": "0", "csrf": csrf, "form_key": "k4"}
        answer = client.post("/admin/coupons", data=refused_form)
        assert answer.status_code == 422
        assert 'data-field="invalid_amount"' in answer.text
        assert "请检查表单: 请检查金额和红包个数。" in answer.text
        assert templates_of_shop(session_factory) == []
