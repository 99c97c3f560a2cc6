from tests.factories import create_campaign, funded_shopper, login, shop_key, wallet_balance


def test_send_and_grab(api, session_factory):
    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator)
    grandma = funded_shopper(api, operator, campaign["id"], "grandma", 5000)
    sent = api.post("/v1/envelopes", json={"total": 1000, "shares": 5}, headers=grandma)
    assert sent.status_code == 201, sent.text
    mum = login(api, "mum")
    grab = api.post(f"/v1/envelopes/{sent.json()['id']}/grab", headers=mum)
    assert grab.status_code == 200, grab.text
    assert wallet_balance(api, mum) == grab.json()["amount"]
    assert wallet_balance(api, grandma) == 4000
