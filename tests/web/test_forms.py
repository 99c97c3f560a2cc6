"""The console's form readers: pure functions from typed text to the API's request models."""

import pytest
from pydantic import ValidationError

from kinsave.sharing.policy import DEFAULT_POLICIES
from kinsave.web.forms import (
    FormError,
    campaign_from_form,
    policy_from_form,
    split_list,
    template_from_form,
)


def test_split_list_takes_commas_and_lines():
    assert split_list(" rice, oil\n\nsnacks ,") == ["rice", "oil", "snacks"]


def test_template_money_is_read_in_yuan_as_text():
    data = template_from_form(
        {
            "name": " Rice ",
            "kind": "amount_off",
            "amount": "20.5",
            "stock": "100",
            "categories": "rice, grain",
        }
    )
    assert (data.name, data.amount, data.stock, data.valid_days) == ("Rice", 2050, 100, 7)
    assert data.scope.categories == ["rice", "grain"]


def test_campaign_daily_rule_is_read_in_yuan():
    data = campaign_from_form(
        {"name": "Harvest", "budget": "2000", "daily_min": "0.1", "daily_max": "8.88"}
    )
    assert data.budget == 200000
    assert data.daily_rule is not None
    assert (data.daily_rule.min, data.daily_rule.max) == (10, 888)


@pytest.mark.parametrize("typed", ["0.105", "1,5", "-1"])
def test_campaign_daily_rule_refuses_what_is_not_yuan(typed):
    with pytest.raises(FormError) as error:
        campaign_from_form({"name": "x", "budget": "1", "daily_min": typed, "daily_max": "1"})
    assert error.value.field == "daily_min"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [({"amount": "twenty", "stock": "1"}, "amount"), ({"amount": "1", "stock": "-1"}, "stock")],
)
def test_template_unreadable_fields_are_named(fields, problem):
    with pytest.raises(FormError) as error:
        template_from_form({"name": "x", "kind": "amount_off", **fields})
    assert error.value.field == problem


def test_template_unknown_kind_is_refused_by_the_model():
    with pytest.raises(ValidationError):
        template_from_form({"name": "x", "kind": "free_money", "amount": "1", "stock": "1"})


def test_policy_checkboxes_lists_and_the_kept_deep_link():
    wechat = DEFAULT_POLICIES["wechat"]
    data = policy_from_form(
        {"qr_allowed": "on", "blocked_domains": "Shop.Example.com", "payment_methods": "wallet"},
        wechat,
    )
    assert not data.links_allowed and data.qr_allowed
    assert data.blocked_domains == ["shop.example.com"]
    assert data.deep_link == wechat.deep_link


class TestTemplateDatesCapAndGroup:
    def test_window_cap_min_spend_group_and_credit(self):
        data = template_from_form(
            {
                "name": "Mid-autumn",
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
            }
        )
        assert (data.cap, data.min_spend, data.per_shopper_limit) == (1500, 5000, 2)
        assert data.valid_from is not None and data.valid_until is not None
        assert data.valid_from.isoformat() == "2026-09-20T00:00:00+08:00"
        assert data.valid_until.isoformat() == "2026-10-01T00:00:00+08:00"
        # An end date and no day count: valid until the end date, not a default week.
        assert data.valid_days is None
        assert (data.stacking_group, data.credit_combinable) == ("festival", False)

    def test_without_an_end_date_the_default_week_stays(self):
        data = template_from_form({"name": "x", "kind": "amount_off", "amount": "1", "stock": "1"})
        assert (data.valid_days, data.valid_until, data.credit_combinable) == (7, None, True)

    @pytest.mark.parametrize(
        ("fields", "problem"),
        [
            ({"valid_from": "2026-10-01T00:00", "valid_until": "2026-09-01T00:00"}, "valid_until"),
            ({"valid_from": "2026-10-01T00:00", "valid_until": "2026-10-01T00:00"}, "valid_until"),
            ({"valid_from": "next tuesday"}, "valid_from"),
            ({"valid_until": "2026-10-01T00:00+02:00"}, "valid_until"),
            ({"valid_until": "2026-10-01T00:00", "timezone": "Mars/Olympus"}, "timezone"),
            ({"cap": "a lot"}, "cap"),
            ({"min_spend": "-5"}, "min_spend"),
        ],
    )
    def test_refused_fields_are_named(self, fields, problem):
        with pytest.raises(FormError) as error:
            template_from_form(
                {"name": "x", "kind": "amount_off", "amount": "1", "stock": "1", **fields}
            )
        assert error.value.field == problem

    def test_a_stacking_group_over_forty_characters_is_refused_by_the_model(self):
        with pytest.raises(ValidationError) as error:
            template_from_form(
                {
                    "name": "x",
                    "kind": "amount_off",
                    "amount": "1",
                    "stock": "1",
                    "stacking_group": "g" * 41,
                }
            )
        assert error.value.errors()[0]["loc"] == ("stacking_group",)
