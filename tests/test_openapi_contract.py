"""The OpenAPI document says what the server really does (issue 16): security schemes per kind of
credential, operationIds that read as names, kinsave's one error body for every refusal, the
limits the service enforces, the webhooks it sends; and a 405 carries Allow."""

from typing import Any

import httpx
import pytest

from tests.factories import create_campaign, give_credit, login, shop_key, wallet_balance

pytestmark = pytest.mark.contract

MAIN_OPERATIONS = {
    ("post", "/v1/envelopes/{envelope_id}/grab"): "grab_envelope",
    ("post", "/v1/daily/{campaign_id}/claim"): "claim_daily",
    ("post", "/v1/coupons/claim"): "claim_coupon",
    ("post", "/v1/shares"): "create_share",
    ("post", "/v1/store/tokens/resolve"): "resolve_token",
    ("post", "/v1/store/checkout/quote"): "checkout_quote",
    ("post", "/v1/store/checkout/reserve"): "checkout_reserve",
    ("post", "/v1/store/orders/{order_id}/paid"): "mark_order_paid",
    ("post", "/v1/store/orders/{order_id}/refund"): "refund_order",
    ("post", "/v1/store/links"): "exchange_link_code",
}


@pytest.fixture
def document(api: httpx.Client) -> dict[str, Any]:
    document: dict[str, Any] = api.get("/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_each_credential_is_a_security_scheme_and_no_authorization_parameter_remains(document):
    schemes = document["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        "ShopperToken": ("http", "bearer"),
        "OperatorKey": ("http", "bearer"),
        "StoreKey": ("http", "bearer"),
    }
    for method, path, operation in _operations(document):
        names = [p["name"].lower() for p in operation.get("parameters", [])]
        assert "authorization" not in names, f"{method} {path}"
        expected = (
            "OperatorKey"
            if path.startswith("/v1/admin")
            else "StoreKey"
            if path.startswith("/v1/store/")
            else None
        )
        if expected:
            assert operation["security"] == [{expected: []}], f"{method} {path}"
    wallet = document["paths"]["/v1/wallet"]["get"]
    assert wallet["security"] == [{"ShopperToken": []}]


def test_operation_ids_read_as_names_are_unique_and_have_summaries(document):
    operations = _operations(document)
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))
    for key, name in MAIN_OPERATIONS.items():
        method, path = key
        operation = document["paths"][path][method]
        assert operation["operationId"] == name
        assert operation["summary"] and "\n" not in operation["summary"]
    assert all("_v1_" not in operation_id for operation_id in ids)


def test_the_main_operations_carry_examples(document):
    for (method, path), name in MAIN_OPERATIONS.items():
        operation = document["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        success = next(s for s in operation["responses"] if s.startswith("2"))
        answer = operation["responses"][success].get("content", {}).get("application/json", {})
        assert "example" in (body or {}) or "example" in answer, name


def test_every_refusal_documents_kinsaves_error_body_and_its_codes(document):
    assert "HTTPValidationError" not in str(document)
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("4") or (status == "503" and path != "/readyz"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path}"
                assert response["description"].startswith("Refused: `"), f"{method} {path}"
    claim = document["paths"]["/v1/daily/{campaign_id}/claim"]["post"]["responses"]
    assert {"401", "404", "409", "422", "429", "503"} <= set(claim)
    assert "`already_claimed_today`" in claim["409"]["description"]
    assert "`rate_limited`" in claim["429"]["description"]


def test_schemas_state_the_limits_the_service_enforces(document, settings):
    schemas = document["components"]["schemas"]
    envelope = schemas["EnvelopeIn"]["properties"]
    assert (envelope["shares"]["minimum"], envelope["shares"]["maximum"]) == (
        1,
        settings.envelope_max_shares,
    )
    assert (envelope["total"]["minimum"], envelope["total"]["maximum"]) == (
        1,
        settings.envelope_max_total,
    )
    budget = schemas["CampaignIn"]["properties"]["budget"]
    assert (budget["minimum"], budget["maximum"]) == (0, 10**12)


def test_the_webhooks_sent_are_documented(document):
    webhooks = document["webhooks"]
    assert set(webhooks) == {"order.paid", "order.refunded", "group.succeeded", "group.failed"}
    body = webhooks["order.paid"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/OrderPaidEvent"}


def test_a_refused_envelope_matches_the_documented_limits(api, session_factory):
    """The schema's limits are the service's: 0 shares and one share too many are refused with
    `invalid_amount`, the limit itself passes validation."""
    operator = shop_key(session_factory)
    campaign = create_campaign(api, operator)
    shopper = login(api, "limits")
    give_credit(api, operator, campaign["id"], "limits", 5000)
    for shares in (0, 101):
        refused = api.post("/v1/envelopes", json={"total": 5000, "shares": shares}, headers=shopper)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "invalid_amount"
    assert wallet_balance(api, shopper) == 5000  # nothing moved
    sent = api.post("/v1/envelopes", json={"total": 5000, "shares": 100}, headers=shopper)
    assert sent.status_code == 201, sent.text


def test_a_wrong_method_is_405_with_allow(api):
    answer = api.get("/v1/store/checkout/quote")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "POST"
    storm = api.get("/v1/envelopes/env_x/grab")
    assert storm.status_code == 405 and storm.headers["allow"] == "POST"
