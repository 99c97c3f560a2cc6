"""Security headers on every response; a Content-Security-Policy on every HTML page; HSTS only
behind TLS; user text on pages escaped."""

from tests.factories import login


def test_api_responses_carry_the_basic_headers(api):
    response = api.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in response.headers
    assert "Strict-Transport-Security" not in response.headers


def test_html_pages_get_a_strict_csp(api, session_factory):
    from datetime import UTC, datetime

    from tests.sharing.factories import share, shop_with_campaign

    _, campaign_id = shop_with_campaign(session_factory)
    code = share(session_factory, "alice", campaign_id, datetime.now(UTC))
    response = api.get(f"/app/s/{code}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


def test_hsts_behind_a_tls_proxy(api):
    response = api.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_refusals_from_the_guard_carry_headers_too(api):
    response = api.post(
        "/v1/auth/dev-login", content=b"[" * 100, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.headers["X-Content-Type-Options"] == "nosniff"


def test_stored_script_in_an_envelope_message_is_data_not_markup(api, session_factory):
    from tests.factories import create_campaign, give_credit, shop_key

    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator)
    sender = login(api, "grandma")
    give_credit(api, operator, campaign["id"], "grandma", 100)
    script = "<script>alert(1)</script>"
    body = {"total": 10, "shares": 1, "message": script}
    envelope = api.post("/v1/envelopes", json=body, headers=sender)
    assert envelope.status_code == 201, envelope.text
    shown = api.get(f"/v1/envelopes/{envelope.json()['id']}", headers=sender)
    assert shown.headers["content-type"].startswith("application/json")
    assert shown.json()["message"] == script
