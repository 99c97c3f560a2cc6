"""A deal shared into Telegram carries a startapp Mini App link; the Mini App opened from it
lands on the deal, attributed to the share."""

from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.coupons.factories import push_products
from tests.factories import create_campaign, login, shop_key
from tests.sharing.factories import RICE, api_share

HUMAN = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Telegram-iOS/11.0"}


def test_share_to_telegram_opens_the_mini_app_at_the_deal(
    api: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    operator = shop_key(session_factory)
    store = shop_key(session_factory, role="store")
    campaign = create_campaign(api, operator)
    push_products(api, store, [RICE])
    landing = {"product": "/shop/p/{id}?share={code}"}
    assert api.put("/v1/store/landing", json=landing, headers=store).status_code == 200
    share = api_share(api, login(api, "grandma"), campaign["id"], "telegram")
    deep_link = urlsplit(share["deep_link"])
    assert (deep_link.scheme, deep_link.netloc) == ("https", "t.me")
    (start_param,) = parse_qs(deep_link.query)["startapp"]
    assert start_param == share["code"]

    # Telegram opens the Mini App's URL with the startapp value in tgWebAppStartParam.
    opened = api.get(
        "/telegram/app",
        params={"tgWebAppStartParam": start_param, "tgWebAppVersion": "8.0"},
        headers=HUMAN,
        follow_redirects=False,
    )
    assert opened.status_code == 302 and opened.headers["location"] == f"/s/{share['code']}"
    target = api.get(opened.headers["location"], headers=HUMAN, follow_redirects=False)
    base = str(api.base_url).rstrip("/")
    assert target.headers["location"] == f"{base}/shop/p/rice-5kg?share={share['code']}"


def test_mini_app_without_a_share_opens_home(api: httpx.Client) -> None:
    for params in ({}, {"tgWebAppStartParam": ""}, {"tgWebAppStartParam": "../admin"}):
        opened = api.get("/telegram/app", params=params, follow_redirects=False)
        assert opened.status_code == 302 and opened.headers["location"] == "/app"
