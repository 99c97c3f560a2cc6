"""Examples of the main operations in the OpenAPI document, by operationId (contract.py adds them).

Each example is valid for its schema: schemathesis sends the request examples as they are.
"""

from typing import Any

REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "claim_coupon": {"template_id": "tpl_5f3a9c2e81b04d17", "share_code": "Kx7Qm2Pz9Ab"},
    "create_share": {
        "target": {"type": "coupon", "id": "tpl_5f3a9c2e81b04d17"},
        "channel": "wechat",
        "campaign_id": "cmp_1a2b3c4d5e6f7a8b",
    },
    "resolve_token": {"text": "Copy and open ₤Kx7Qm2Pz9Ab₤ for 10 yuan off", "shopper_id": "u_42"},
    "checkout_quote": {
        "shopper_id": "u_42",
        "lines": [{"sku": "TEA-100", "quantity": 2, "unit_price": 3900}],
        "shipping_fee": 800,
        "use_credit": 500,
        "channel": "wechat",
    },
    "checkout_reserve": {
        "order_id": "ord-20261206-0001",
        "shopper_id": "u_42",
        "lines": [{"sku": "TEA-100", "quantity": 2, "unit_price": 3900}],
        "shipping_fee": 800,
        "coupons": ["cpn_9d8c7b6a5f4e3d2c"],
        "use_credit": 500,
        "channel": "wechat",
    },
    "mark_order_paid": {"attribution": "Kx7Qm2Pz9Ab", "payment_method": "card"},
    "refund_order": {"refund_id": "rf-1", "lines": [{"sku": "TEA-100", "quantity": 1}]},
    "exchange_link_code": {"code": "483920"},
}

RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "grab_envelope": {
        "envelope_id": "env_52f76336e745b63c",
        "amount": 188,
        "seq": 3,
        "grabbed_at": "2026-12-06T09:30:00Z",
    },
    "claim_daily": {
        "campaign_id": "cmp_1a2b3c4d5e6f7a8b",
        "amount": 66,
        "local_day": "2026-12-06",
        "claimed_at": "2026-12-06T01:15:00Z",
    },
}


def add_examples(operation: dict[str, Any]) -> None:
    """Put the operation's request and success examples, if it has any, into its document."""
    name = operation.get("operationId", "")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and name in REQUEST_EXAMPLES:
        body["example"] = REQUEST_EXAMPLES[name]
    if name in RESPONSE_EXAMPLES:
        success = next(s for s in operation["responses"] if s.startswith("2"))
        content = operation["responses"][success].setdefault("content", {})
        content.setdefault("application/json", {})["example"] = RESPONSE_EXAMPLES[name]
