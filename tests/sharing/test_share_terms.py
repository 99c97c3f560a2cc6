"""A share of a group or a price cut states its terms up front on every channel and in both
languages, however long the product's name: the price, how many are still needed and the time
left survive in the mini-app card's title and the pasted text (the name is cut instead), and
the copy passes the channel's lint."""

import re
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinsave.sharing import policy, render
from kinsave.sharing.lint import CampaignSharingLintInput, lint_campaign
from kinsave.sharing.policy import BUILTIN_CHANNELS, DEFAULT_POLICIES, SHARE_HEADLINE_LIMIT
from kinsave.sharing.render import CARD_TITLE_LIMIT
from kinsave.sharing.terms_copy import ShareTerms, terms_copy, yuan
from tests.coupons.factories import push_products
from tests.factories import Headers, login
from tests.groups.factories import Shop, create_deal, make_shop, started

LANGUAGES = ("en", "zh-CN")
LONG_NAMES = {
    "en": "Organic Northeast Wuchang fragrant rice, new harvest, vacuum packed, 5 kg x 2 bags "
    "with a free measuring cup and a recipe booklet from the farm cooperative",
    "zh-CN": "五常稻花香大米新米东北大米真空包装十斤装特级香米农家自产当季新米送量米杯和食谱"
    "合作社直供产地直发",
}


def time_left(language: str, hours: str = r"\d+") -> str:
    return rf"{hours} ?h \d+ ?m(in)?" if language == "en" else rf"{hours}小时\d+分"


def stated(kind: str, language: str, price: int, needed: int, hours: str = r"\d+") -> list[str]:
    """Patterns for the price, how many are still needed and the time left, in the copy."""
    price_text = re.escape(yuan(price))
    if language == "en":
        count = rf"\b{needed} more {'needed' if kind == 'group' else 'helpers'}"
    else:
        count = rf"还差{needed}人"
    return [price_text, count, time_left(language, hours)]


def assert_states_terms(copy: str, patterns: list[str], limit: int) -> None:
    assert len(copy) <= limit, copy
    for pattern in patterns:
        assert re.search(pattern, copy), (pattern, copy)


def lint_codes(text: str, channel: str) -> list[str]:
    setup = CampaignSharingLintInput.model_validate(
        {"share_text": text, "group_deals": {"enabled": True}}
    )
    return [v.code for v in lint_campaign(setup, DEFAULT_POLICIES[channel])]


def bargain_banned(channel: str) -> list[str]:
    """What the lint says of a price cut's share text on the channel: hosts that ban inducing
    shares ban 砍价 itself (docs/groups.md: offer price cuts where the host allows them); a card's
    short title may name the cut without the phrases the lint knows."""
    return [] if DEFAULT_POLICIES[channel].share_reward_wording_allowed else ["bargain_help"]


class TestTermsCopy:
    @given(
        kind=st.sampled_from(["group", "price_cut"]),
        language=st.sampled_from(LANGUAGES),
        title=st.text(min_size=1, max_size=200).filter(str.strip),
        price=st.integers(0, 10**10),
        needed=st.integers(1, 50),
        seconds_left=st.integers(1, 30 * 24 * 3600),
        limit=st.sampled_from([CARD_TITLE_LIMIT, SHARE_HEADLINE_LIMIT]),
    )
    def test_the_terms_always_fit_and_come_first(
        self, kind, language, title, price, needed, seconds_left, limit
    ):
        terms = ShareTerms(kind, title, price, needed, seconds_left, True)
        copy = terms_copy(terms, language, limit)
        hours = str(seconds_left // 3600)
        assert_states_terms(copy, stated(kind, language, price, needed, hours), limit)
        assert copy.index(yuan(price)) <= len("Group price ")  # up front

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_a_long_name_is_cut_never_the_terms(self, language):
        name = LONG_NAMES[language]
        terms = ShareTerms("group", name, 3990, 2, 23 * 3600 + 59 * 60, True)
        card = terms_copy(terms, language, CARD_TITLE_LIMIT)
        assert "…" in card and name not in card and card.index("…") > card.index(yuan(3990))
        assert_states_terms(card, stated("group", language, 3990, 2, "23"), CARD_TITLE_LIMIT)

    def test_a_closed_group_says_so_with_its_price(self):
        closed = ShareTerms("group", LONG_NAMES["en"], 3990, 1, 0, True)
        assert terms_copy(closed, "en", CARD_TITLE_LIMIT).startswith("My group at ¥39.90")
        failed = ShareTerms("group", "Rice", 3990, 1, 3600, False)
        failed_copy = terms_copy(failed, "zh-CN", CARD_TITLE_LIMIT)
        assert failed_copy == "我的拼团（拼团价¥39.90）已结束：Rice。"


class TestRenderedOnEveryChannel:
    @pytest.mark.parametrize("channel", BUILTIN_CHANNELS)
    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("kind", ["group", "price_cut"])
    def test_card_and_text(self, channel, language, kind):
        rules = policy.with_telegram_app(DEFAULT_POLICIES[channel], "https://t.me/kinsave_bot/app")
        terms = ShareTerms(kind, LONG_NAMES[language], 3990, 4, 167 * 3600 + 59 * 60, True)
        forms = render.share_forms(
            rules,
            code="K7pQ2mX9aB1",
            target_type=kind,
            base_url="https://k.example",
            headline="A campaign's own words that come after the terms.",
            terms=terms,
            language=language,
        )
        patterns = stated(kind, language, 3990, 4, "167")
        assert_states_terms(forms.text, patterns, len(forms.text))
        assert forms.text.index(yuan(3990)) < forms.text.index(LONG_NAMES[language][:8])
        expected_lint = [] if kind == "group" else bargain_banned(channel)
        assert lint_codes(forms.text, channel) == expected_lint
        if channel in ("wechat", "telegram"):
            assert forms.card is not None
        if forms.card is not None:
            assert_states_terms(forms.card.title, patterns, CARD_TITLE_LIMIT)
            assert set(lint_codes(forms.card.title, channel)) <= set(expected_lint)


def share(api: httpx.Client, shopper: Headers, target: dict[str, str], **body: Any) -> Any:
    payload = {"target": target, **body}
    response = api.post("/v1/shares", json=payload, headers=shopper)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def shop(api, session_factory) -> Shop:
    shop = make_shop(api, session_factory)
    push_products(
        api,
        shop.store,
        [
            {"sku": f"long-{language}", "title": name, "price": 5900, "category": "rice"}
            for language, name in LONG_NAMES.items()
        ],
    )
    return shop


class TestSharedThroughTheApi:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_a_group_of_a_long_named_product(self, api, shop, language):
        deal = create_deal(api, shop, sku=f"long-{language}")
        grandma = login(api, "grandma")
        group = {"type": "group", "id": started(api, grandma, deal["id"])["id"]}
        patterns = stated("group", language, 3990, 2, "2[34]")
        for channel in BUILTIN_CHANNELS:
            out = share(api, grandma, group, channel=channel, language=language)
            assert_states_terms(out["text"], patterns, len(out["text"]))
            assert lint_codes(out["text"], channel) == []
            if out["mini_app_card"] is not None:
                title = out["mini_app_card"]["title"]
                assert_states_terms(title, patterns, CARD_TITLE_LIMIT)
                assert lint_codes(title, channel) == []
        assert share(api, grandma, group, channel="wechat")["mini_app_card"] is not None

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_a_price_cut_of_a_long_named_product(self, api, shop, language):
        body = {"sku": f"long-{language}", "final_price": 2990, "helpers_needed": 3, "units": 2}
        offer = api.post("/v1/admin/price-cuts", json=body, headers=shop.operator)
        assert offer.status_code == 201, offer.text
        grandma = login(api, "grandma")
        started_cut = api.post(
            "/v1/price-cuts", json={"offer_id": offer.json()["id"]}, headers=grandma
        )
        assert started_cut.status_code == 201, started_cut.text
        target = {"type": "price_cut", "id": started_cut.json()["id"]}
        patterns = stated("price_cut", language, 2990, 3)
        for channel in BUILTIN_CHANNELS:
            out = share(api, grandma, target, channel=channel, language=language)
            assert_states_terms(out["text"], patterns, len(out["text"]))
            assert lint_codes(out["text"], channel) == bargain_banned(channel)
            if out["mini_app_card"] is not None:
                title = out["mini_app_card"]["title"]
                assert_states_terms(title, patterns, CARD_TITLE_LIMIT)
                assert lint_codes(title, channel) == bargain_banned(channel)
