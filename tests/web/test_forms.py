"""The console's form readers: pure functions from typed text to the API's request models."""

import pytest
from pydantic import ValidationError

from kinsave.sharing.policy import DEFAULT_POLICIES
from kinsave.web.forms import FormError, policy_from_form, split_list, template_from_form


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
