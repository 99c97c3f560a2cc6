"""Pure rules: policies and deep links, lint, bots, touches and reward kept after refunds."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kinsave.sharing import bots, policy, render, tokens
from kinsave.sharing.lint import CampaignSharingLintInput, HelpRequestSetup, lint_campaign
from kinsave.sharing.policy import DeepLinkRule, PolicyRules
from kinsave.sharing.touches import Touch, choose_touch, kept_reward

CODE = "K7pQ2mX9aB1"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class TestDeepLinks:
    def test_telegram_startapp(self):
        rule = DeepLinkRule(format="telegram_startapp", base="https://t.me/bot/app")
        assert policy.deep_link(rule, CODE) == f"https://t.me/bot/app?startapp={CODE}"

    def test_wechat_scene_fits_32_chars(self):
        scene = policy.deep_link(DeepLinkRule(format="wechat_scene"), CODE)
        assert scene is not None and len(scene) <= 32 and policy.WECHAT_SCENE.fullmatch(scene)

    def test_wechat_url_link_query(self):
        link = policy.deep_link(DeepLinkRule(format="wechat_url_link", base="weixin://dl/x"), CODE)
        assert link == f"weixin://dl/x?query=s%3D{CODE}"

    def test_limits(self):
        assert policy.TELEGRAM_STARTAPP.fullmatch("a" * 512)
        assert not policy.TELEGRAM_STARTAPP.fullmatch("a" * 513)
        assert not policy.TELEGRAM_STARTAPP.fullmatch("a=b")
        assert policy.WECHAT_SCENE.fullmatch("a=b&c~!" + "x" * 25)
        assert not policy.WECHAT_SCENE.fullmatch("x" * 33)
        assert not policy.WECHAT_SCENE.fullmatch("中")


class TestDomains:
    def test_block_list(self):
        rules = PolicyRules(blocked_domains=["*.store.com"])
        assert not policy.url_allowed(rules, "https://m.store.com/p/1")
        assert not policy.url_allowed(rules, "https://store.com/p/1")
        assert policy.url_allowed(rules, "https://other.com/p/1")

    def test_allow_list(self):
        rules = PolicyRules(allowed_domains=["store.com"])
        assert policy.url_allowed(rules, "https://store.com/x")
        assert not policy.url_allowed(rules, "https://evil.com/x")

    def test_links_off_blocks_all(self):
        assert not policy.url_allowed(PolicyRules(links_allowed=False), "https://store.com")

    def test_bad_domain_refused(self):
        with pytest.raises(ValidationError):
            PolicyRules(blocked_domains=["https://store.com/"])


class TestRender:
    def test_wechat_default_has_no_link_but_deep_link_and_qr(self):
        forms = render.share_forms(
            policy.default_policy("wechat"), code=CODE, target_type="deal", base_url="https://k.io"
        )
        assert forms.link is None
        assert forms.deep_link is not None and forms.qr_content == forms.deep_link
        assert forms.text.startswith(f"￥{CODE}￥")
        assert "http" not in forms.text

    def test_sms_has_link_no_qr(self):
        forms = render.share_forms(
            policy.default_policy("sms"), code=CODE, target_type="deal", base_url="https://k.io"
        )
        assert forms.link == f"https://k.io/s/{CODE}" and forms.qr_content is None


class TestLint:
    banned = policy.default_policy("wechat")

    def test_share_reward_wording(self):
        for text in (
            "Share to get a red envelope!",
            "分享得红包",
            "每分享一次送券",
            "forward and win",
        ):
            found = lint_campaign(CampaignSharingLintInput(share_text=text), self.banned)
            assert [v.code for v in found] == ["share_reward"], text

    def test_purchase_reward_wording_is_fine(self):
        setup = CampaignSharingLintInput(reward_text="Get ¥5 when your friend's order is paid")
        assert lint_campaign(setup, self.banned) == []

    def test_help_count_hidden(self):
        setup = CampaignSharingLintInput(
            help_requests=HelpRequestSetup(enabled=True, shows_helper_count=False)
        )
        assert [v.code for v in lint_campaign(setup, self.banned)] == ["help_count_hidden"]

    def test_random_rewards(self):
        setup = CampaignSharingLintInput(random_rewards=True)
        assert [v.code for v in lint_campaign(setup, self.banned)] == ["random_reward"]

    def test_permissive_host_allows_all(self):
        setup = CampaignSharingLintInput(
            share_text="share to get a coupon",
            help_requests=HelpRequestSetup(enabled=True, shows_helper_count=False),
            random_rewards=True,
        )
        assert lint_campaign(setup, policy.default_policy("web")) == []


class TestBots:
    @pytest.mark.parametrize(
        "agent",
        [
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "TelegramBot (like TwitterBot)",
            "WhatsApp/2.23.20.0 A",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "LinkedInBot/1.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0)",
            "Twitterbot/1.0",
            "curl/8.5.0",
            "",
            None,
        ],
    )
    def test_bots(self, agent):
        assert bots.is_bot(agent)

    def test_people(self):
        phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
        assert not bots.is_bot(phone)
        assert not bots.is_bot(phone + " MicroMessenger/8.0.43")


class TestTouches:
    window = timedelta(days=7)

    def test_window_edges(self):
        at_edge = Touch("a", T0 - self.window, self.window)
        past = Touch("b", T0 - self.window - timedelta(seconds=1), self.window)
        inside = Touch("c", T0 - self.window + timedelta(seconds=1), self.window)
        assert choose_touch([at_edge], T0, "last_touch") == at_edge
        assert choose_touch([past], T0, "last_touch") is None
        assert choose_touch([inside], T0, "last_touch") == inside

    def test_future_touch_does_not_count(self):
        assert (
            choose_touch([Touch("a", T0 + timedelta(seconds=1), self.window)], T0, "last_touch")
            is None
        )

    def test_first_and_last(self):
        early = Touch("a", T0 - timedelta(days=2), self.window)
        late = Touch("b", T0 - timedelta(days=1), self.window)
        assert choose_touch([late, early], T0, "first_touch") == early
        assert choose_touch([early, late], T0, "last_touch") == late

    @given(
        st.integers(1, 10**6),
        st.integers(1, 10**9),
        st.lists(st.integers(1, 10**9), min_size=1, max_size=5),
    )
    def test_kept_reward_never_grows_and_full_refund_keeps_nothing(self, reward, paid, refunds):
        kept, refunded = reward, 0
        for refund in refunds:
            refunded += refund
            now_kept = kept_reward(reward, paid, refunded)
            assert 0 <= now_kept <= kept
            kept = now_kept
        assert kept_reward(reward, paid, paid) == 0
        assert kept_reward(reward, paid, 0) == reward


class TestDeepLinkProperties:
    @given(st.text(alphabet=tokens.ALPHABET, min_size=11, max_size=11))
    def test_every_code_fits_every_host(self, code):
        scene = policy.deep_link(DeepLinkRule(format="wechat_scene"), code)
        assert scene is not None and policy.WECHAT_SCENE.fullmatch(scene)
        startapp = policy.deep_link(DeepLinkRule(format="telegram_startapp", base="b"), code)
        assert startapp == f"b?startapp={code}"
        url_link = policy.deep_link(DeepLinkRule(format="wechat_url_link", base="w?a=1"), code)
        assert url_link is not None
        assert len(url_link.split("&query=", 1)[1]) <= policy.WECHAT_URL_LINK_QUERY_MAX
