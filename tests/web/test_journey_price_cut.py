"""Price cut with friends in Chromium: the schedule is shown before anyone helps, each helper
cuts exactly the amount shown, and the last cut leaves Grandma a coupon at the final price."""

import re

import pytest
from playwright.sync_api import expect

from tests.coupons.factories import my_coupon_states, push_products
from tests.factories import login
from tests.web.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser
WALNUTS = {"sku": "snack-walnuts", "title": "Walnuts 1 kg", "price": 5990, "category": "snacks"}


def test_two_relatives_cut_the_price_as_shown(api, people, shots, store_keys):
    operator, store = store_keys["operator"], store_keys["store"]
    push_products(api, store, [WALNUTS])
    terms = {"sku": "snack-walnuts", "final_price": 2990, "helpers_needed": 2, "units": 10}
    offer = api.post("/v1/admin/price-cuts", json=terms, headers=operator).json()

    grandma = people.phone()
    sign_in(grandma, "grandma", "Grandma Li", next_path=f"/app/price-cut-offers/{offer['id']}")
    expect(grandma.locator("#final-price")).to_have_text("¥29.90")
    expect(grandma.locator("#cut-schedule li")).to_have_text(["¥15.00", "¥15.00"])
    check_accessibility(grandma)
    grandma.get_by_role("button", name="Ask the family to cut the price").click()
    grandma.wait_for_url(re.compile(r"/app/price-cuts/pcut_\w+$"))
    expect(grandma.locator("#price-now")).to_have_text("¥59.90")
    expect(grandma.locator("#next-cut")).to_have_text("¥15.00")
    expect(grandma.locator("#cut-time-left")).to_contain_text(re.compile(r"2[34] h"))
    link = grandma.locator("#cut-link").input_value()
    shots.take(grandma, "price-cut-started")
    check_accessibility(grandma)

    for count, user_id in enumerate(("mum", "dad"), start=1):
        relative = people.phone()
        sign_in(relative, user_id, user_id.title())
        relative.goto(link)
        relative.get_by_role("button", name=re.compile(r"^Cut ¥15\.00")).click()
        expect(relative.locator("#cut-progress")).to_have_text(f"{count} / 2 helped")
        expect(relative.locator("#price-now")).to_have_text("¥44.90" if count == 1 else "¥29.90")
        shots.take(relative, f"cut-by-{user_id}")
    expect(relative.locator("#cut-done")).to_be_visible()

    grandma.reload()
    expect(grandma.locator("#cut-done")).to_contain_text("final price")
    shots.take(grandma, "price-cut-done")
    assert list(my_coupon_states(api, login(api, "grandma")).values()) == ["available"]
