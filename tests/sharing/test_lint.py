"""The host-rule lint: structure checks from the campaign setup, and a table of zh-CN and English
phrasings (banned and allowed) matched after normalisation: none missed, no false alarm."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinsave.sharing import lint_phrases, policy
from kinsave.sharing.lint import (
    RULES,
    CampaignSharingLintInput,
    GroupDealSetup,
    HelpRequestSetup,
    lint_campaign,
)

WECHAT = policy.default_policy("wechat")
PERMISSIVE = policy.default_policy("web")

BANNED: list[tuple[str, str]] = [
    # The misses
    ("分享给3个好友即可领取¥5红包", "share_reward"),
    ("集赞送礼", "collect_likes"),
    ("帮我砍一刀", "bargain_help"),
    ("Share with 3 friends to get ¥5", "share_reward"),
    # Rewards for sharing or inviting, zh-CN
    ("分享给三个好友即可领取５元红包", "share_reward"),
    ("分享得红包", "share_reward"),
    ("每分享一次送券", "share_reward"),
    ("转发到3个群，即可获得现金奖励", "share_reward"),
    ("邀请5位好友注册，各得10元", "share_reward"),
    ("分 享 给 好 友 领 红 包", "share_reward"),
    ("拉3人进群送优惠券", "share_reward"),
    ("转发此消息给十个群，即可抽取iPhone", "share_reward"),
    ("邀请两位朋友，免费拿红包", "share_reward"),
    # Rewards for sharing or inviting, English
    ("SHARE WITH THREE FRIENDS TO GET ¥5", "share_reward"),
    ("Share to get a red envelope!", "share_reward"),
    ("forward and win", "share_reward"),
    ("Invite 5 friends and earn a free coupon", "share_reward"),
    ("Every share earns you 10 points", "share_reward"),
    ("Ｓｈａｒｅ ｔｏ ｇｅｔ ￥５", "share_reward"),
    ("Repost to 3 groups & claim your cash", "share_reward"),
    ("Sh\u200bare with friends to get a coupon", "share_reward"),  # a zero-width space
    # Something locked behind sharing
    ("分享到朋友圈后才能查看答案", "share_to_unlock"),
    ("转发后解锁全部内容", "share_to_unlock"),
    ("解锁需先分享给好友", "share_to_unlock"),
    ("分享后可见", "share_to_unlock"),
    ("Share this page to unlock the discount", "share_to_unlock"),
    ("Unlock the full deal by sharing it with 5 friends", "share_to_unlock"),
    ("The price opens only after you share", "share_to_unlock"),
    # 集赞
    ("集满30个赞送礼品", "collect_likes"),
    ("朋友圈点赞满20个即可免费领取", "collect_likes"),
    ("凑够十个赞换购", "collect_likes"),
    ("Get 20 likes on your post to win a gift", "collect_likes"),
    ("Collect likes to get a prize", "collect_likes"),
    # 砍价 / 助力
    ("快来帮我砍价，0元拿走", "bargain_help"),
    ("邀请好友助力，免费领取", "bargain_help"),
    ("帮 我 砍 一 刀", "bargain_help"),
    ("Help me cut the price! One tap from you", "bargain_help"),
    ("Ask friends to help you bargain it down to ¥0", "bargain_help"),
    ("Cut to ¥29.90 with 3 more helpers, 23h 59m left: rice", "bargain_help"),
    # Random, uncertain or exaggerated rewards
    ("最高可得888元现金", "random_reward"),
    ("最高返¥100", "random_reward"),
    ("Up to ¥500 in cash for the lucky ones", "random_reward"),
    ("100%中奖，快来抽奖", "random_reward"),
    ("随机红包，金额不定", "random_reward"),
    ("拼手气红包等你来抢", "random_reward"),
    ("Win up to ¥888!", "random_reward"),
    ("Mystery prize for everyone", "random_reward"),
    ("100% chance to win", "random_reward"),
]

ALLOWED: list[str] = [
    "好友下单后你得¥5",
    "分享给好友，好友下单后你得¥5",
    "好友通过你的分享购买后，你可获得¥5奖励",
    "分享这个优惠给家人",
    "分享这张优惠券给家人",
    "邀请家人一起省钱",
    "今日特价，满99减20",
    "红包将在好友付款后发放",
    "快来看看这个好物",
    "一起拼单，拼团价¥9.9",
    "奶奶为你准备了红包",
    "帮你省钱的好办法",
    "点击链接查看详情",
    "分享是一种美德",
    "领取你的每日红包",
    "拉面半价",
    "这个价格值得分享",
    "Get ¥5 when your friend's order is paid",
    "Share this deal with your family",
    "Share this deal with family and get ¥5 when they buy it",
    "Your friend saves ¥5; you get ¥5 after their order is paid",
    "Grandma sent you a red envelope",
    "Claim your daily envelope",
    "Send this to your sister, she will love it",
    "Help your family save money",
    "Shared by Grandma: rice at the group price",
    "Earn ¥5 for every paid order your link brings",
    "Invite your family to the group buy",
    "Up to date prices every morning",
    "Share your wishlist",
    "Forward this to grandpa",
    "分享好物，赢得好评",
    "最高立减20元",
    "Share the love and get ready for the holidays",
    "Share it, then get your own at the store",
    "Up to 50% off rice this week",
    "Cut to size with scissors, no helpers needed",
    "Prices cut to ¥29.90 this week",
]


class TestPhrasings:
    @pytest.mark.parametrize("field", ["share_text", "reward_text"])
    @pytest.mark.parametrize(("text", "code"), BANNED)
    def test_banned_phrasings_are_caught(self, field, text, code):
        found = lint_campaign(CampaignSharingLintInput(**{field: text}), WECHAT)
        assert code in [v.code for v in found], text
        assert all(v.message.startswith(field) for v in found)

    @pytest.mark.parametrize("field", ["share_text", "reward_text"])
    @pytest.mark.parametrize("text", ALLOWED)
    def test_allowed_phrasings_raise_no_alarm(self, field, text):
        assert lint_campaign(CampaignSharingLintInput(**{field: text}), WECHAT) == []

    def test_the_table_is_large_enough(self):
        assert len(BANNED) + len(ALLOWED) >= 40
        assert {code for _, code in BANNED} == {r.id for r in RULES if r.phrases}

    @pytest.mark.parametrize(("text", "code"), BANNED)
    def test_a_permissive_host_allows_the_same_wording(self, text, code):
        assert lint_campaign(CampaignSharingLintInput(share_text=text), PERMISSIVE) == []

    def test_the_message_names_the_field_and_the_phrase(self):
        found = lint_campaign(CampaignSharingLintInput(reward_text="集赞送礼"), WECHAT)
        assert [(v.code, v.message) for v in found] == [
            ("collect_likes", "reward_text asks for likes (集赞) for a reward ('集赞')")
        ]


class TestStructure:
    def test_a_reward_that_needs_shares(self):
        found = lint_campaign(CampaignSharingLintInput(shares_for_reward=3), WECHAT)
        assert [v.code for v in found] == ["share_reward"]

    def test_a_feature_locked_behind_sharing(self):
        found = lint_campaign(CampaignSharingLintInput(unlocked_by_sharing=True), WECHAT)
        assert [v.code for v in found] == ["share_to_unlock"]

    def test_a_helper_count_hidden_from_the_helper(self):
        setup = CampaignSharingLintInput(
            help_requests=HelpRequestSetup(enabled=True, shows_helper_count=False)
        )
        assert [v.code for v in lint_campaign(setup, WECHAT)] == ["help_count_hidden"]

    def test_group_pages_hiding_price_needed_or_time_left(self):
        hidden = GroupDealSetup(enabled=True, shows_needed=False, shows_time_left=False)
        violations = lint_campaign(CampaignSharingLintInput(group_deals=hidden), WECHAT)
        assert [v.code for v in violations] == ["group_terms_hidden"]
        assert "still needed, the time left" in violations[0].message
        shown = CampaignSharingLintInput(group_deals=GroupDealSetup(enabled=True))
        for channel in policy.BUILTIN_CHANNELS:
            assert lint_campaign(shown, policy.default_policy(channel)) == [], channel

    def test_a_random_reward(self):
        setup = CampaignSharingLintInput(random_rewards=True)
        assert [v.code for v in lint_campaign(setup, WECHAT)] == ["random_reward"]

    def test_a_plain_campaign_is_publishable_everywhere(self):
        setup = CampaignSharingLintInput(
            share_text="Grandma found rice at the group price",
            reward_text="Get ¥5 when your friend's order is paid",
            help_requests=HelpRequestSetup(enabled=True, shows_helper_count=True),
        )
        for channel in policy.BUILTIN_CHANNELS:
            assert lint_campaign(setup, policy.default_policy(channel)) == [], channel

    def test_every_rule_in_the_order_of_the_table(self):
        setup = CampaignSharingLintInput(
            share_text="分享得红包 集赞 砍一刀 最高可得888元 分享后可见",
            shares_for_reward=2,
            unlocked_by_sharing=True,
            help_requests=HelpRequestSetup(enabled=True, shows_helper_count=False),
            group_deals=GroupDealSetup(enabled=True, shows_price=False),
            random_rewards=True,
        )
        assert [v.code for v in lint_campaign(setup, WECHAT)] == [
            "share_reward",
            "share_reward",
            "share_to_unlock",
            "share_to_unlock",
            "collect_likes",
            "bargain_help",
            "help_count_hidden",
            "group_terms_hidden",
            "random_reward",
            "random_reward",
        ]

    def test_every_rule_names_its_host_rule(self):
        assert len({r.id for r in RULES}) == len(RULES)
        assert all("WeChat" in r.host_rule for r in RULES)


class TestNormalise:
    def test_widths_case_spaces_and_invisible_characters(self):
        assert lint_phrases.normalise("Ｓｈａｒｅ  ＴＯ\tget ￥５") == "share to get ¥5"
        assert lint_phrases.normalise("分 享 给 3 个 好友") == "分享给3个好友"
        assert lint_phrases.normalise("sh\u200bare\u200d") == "share"

    @given(text=st.text(max_size=500))
    def test_the_lint_is_total_over_any_text(self, text):
        lint_campaign(CampaignSharingLintInput(share_text=text, reward_text=text), WECHAT)
