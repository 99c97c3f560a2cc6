"""Channels, versioned policies, campaign sharing setup and lint over HTTP."""

from tests.coupons.factories import push_products
from tests.factories import create_campaign, login, shop_key
from tests.sharing.factories import RICE, api_share

BANNED_TEXT = {"share_text": "Share to get a red envelope!"}


class TestChannels:
    def test_builtins_listed(self, api, session_factory):
        operator = shop_key(session_factory)
        response = api.get("/v1/admin/channels", headers=operator)
        assert response.status_code == 200
        names = [c["name"] for c in response.json()["channels"]]
        assert names == ["web", "wechat", "telegram", "whatsapp", "sms"]

    def test_operator_adds_a_channel(self, api, session_factory):
        operator = shop_key(session_factory)
        assert (
            api.post("/v1/admin/channels", json={"name": "line"}, headers=operator).status_code
            == 201
        )
        again = api.post("/v1/admin/channels", json={"name": "line"}, headers=operator)
        assert again.status_code == 409
        names = [
            c["name"] for c in api.get("/v1/admin/channels", headers=operator).json()["channels"]
        ]
        assert names[-1] == "line"
        other = shop_key(session_factory, shop="Other Shop")
        assert (
            api.get("/v1/admin/channels/line/policy", headers=other).json()["error"]["code"]
            == "not_found"
        )

    def test_needs_operator_key(self, api, session_factory):
        store = shop_key(session_factory, role="store")
        assert api.get("/v1/admin/channels", headers=store).status_code == 403


class TestPolicy:
    def test_every_edit_is_a_new_version(self, api, session_factory):
        operator = shop_key(session_factory)
        first = api.get("/v1/admin/channels/telegram/policy", headers=operator).json()
        assert first["current"]["version"] == 0 and first["current"]["rules"]["links_allowed"]
        for version, links in ((1, False), (2, True)):
            body = {**first["current"]["rules"], "links_allowed": links, "note": f"v{version}"}
            put = api.put("/v1/admin/channels/telegram/policy", json=body, headers=operator)
            assert put.status_code == 200, put.text
            assert put.json()["policy"]["version"] == version
        history = api.get("/v1/admin/channels/telegram/policy", headers=operator).json()["history"]
        assert [(h["version"], h["rules"]["links_allowed"]) for h in history] == [
            (2, True),
            (1, False),
            (0, True),
        ]

    def test_shops_do_not_share_policies(self, api, session_factory):
        operator = shop_key(session_factory)
        other = shop_key(session_factory, shop="Other Shop")
        api.put("/v1/admin/channels/web/policy", json={"links_allowed": False}, headers=operator)
        assert (
            api.get("/v1/admin/channels/web/policy", headers=other).json()["current"]["version"]
            == 0
        )

    def test_invalid_policy_refused(self, api, session_factory):
        operator = shop_key(session_factory)
        body = {"blocked_domains": ["not a domain"]}
        response = api.put("/v1/admin/channels/web/policy", json=body, headers=operator)
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"

    def test_unknown_channel(self, api, session_factory):
        operator = shop_key(session_factory)
        response = api.put("/v1/admin/channels/nope/policy", json={}, headers=operator)
        assert response.status_code == 404


class TestLint:
    def test_lint_names_each_channels_violations(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        setup = {
            **BANNED_TEXT,
            "random_rewards": True,
            "help_requests": {"enabled": True, "shows_helper_count": False},
        }
        put = api.put(f"/v1/admin/campaigns/{campaign['id']}/sharing", json=setup, headers=operator)
        assert put.status_code == 200, put.text
        lint = api.get(f"/v1/admin/campaigns/{campaign['id']}/lint", headers=operator).json()
        by_channel = {c["channel"]: c for c in lint["channels"]}
        assert [v["code"] for v in by_channel["wechat"]["violations"]] == [
            "share_reward",
            "help_count_hidden",
            "random_reward",
        ]
        assert by_channel["web"]["publishable"] and not by_channel["wechat"]["publishable"]

    def test_structure_and_zh_texts_over_http(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        setup = {
            "share_text": "分享给3个好友即可领取¥5红包",
            "reward_text": "帮我砍一刀",
            "shares_for_reward": 3,
            "unlocked_by_sharing": True,
        }
        put = api.put(f"/v1/admin/campaigns/{campaign['id']}/sharing", json=setup, headers=operator)
        assert put.status_code == 200, put.text
        assert put.json()["setup"]["shares_for_reward"] == 3
        by_channel = {c["channel"]: c for c in put.json()["lint"]["channels"]}
        assert [v["code"] for v in by_channel["wechat"]["violations"]] == [
            "share_reward",
            "share_reward",
            "share_to_unlock",
            "bargain_help",
        ]
        assert by_channel["telegram"]["publishable"]

    def test_other_shops_campaign_is_not_found(self, api, session_factory):
        campaign = create_campaign(api, shop_key(session_factory))
        other = shop_key(session_factory, shop="Other Shop")
        response = api.get(f"/v1/admin/campaigns/{campaign['id']}/lint", headers=other)
        assert response.status_code == 404

    def test_policy_change_relints_and_blocks_shares(self, api, session_factory):
        operator = shop_key(session_factory)
        campaign = create_campaign(api, operator)
        api.put(f"/v1/admin/campaigns/{campaign['id']}/sharing", json=BANNED_TEXT, headers=operator)
        grandma = login(api, "grandma")
        push_products(api, shop_key(session_factory, role="store"), [RICE])
        api_share(api, grandma, campaign["id"], "telegram")
        body = {"share_reward_wording_allowed": False, "note": "host changed its rules"}
        put = api.put("/v1/admin/channels/telegram/policy", json=body, headers=operator).json()
        assert put["lint"] == [
            {
                "campaign_id": campaign["id"],
                "channels": [
                    {
                        "channel": "telegram",
                        "publishable": False,
                        "violations": [
                            {
                                "code": "share_reward",
                                "message": "share_text rewards the act of sharing ('share to get')",
                            }
                        ],
                    }
                ],
            }
        ]
        refused = api.post(
            "/v1/shares",
            json={
                "target": {"type": "deal", "id": "rice"},
                "channel": "telegram",
                "campaign_id": campaign["id"],
            },
            headers=grandma,
        )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "campaign_not_publishable"
        assert refused.json()["error"]["details"]["violations"] == ["share_reward"]


class TestPolicyDefaults:
    def test_fields_left_out_take_the_channels_default(self, api, session_factory):
        operator = shop_key(session_factory)
        body = {"qr_allowed": False}
        put = api.put("/v1/admin/channels/wechat/policy", json=body, headers=operator).json()
        rules = put["policy"]["rules"]
        assert rules["qr_allowed"] is False
        assert rules["links_allowed"] is False and rules["deep_link"]["format"] == "wechat_url_link"
