"""The API stays in integer minor units, and its schema says so on every money field."""

import re

from kinsave.app import create_app
from kinsave.config import Settings

# Integer fields whose name says money; counts that share a word are listed as not money.
MONEY_NAME = re.compile(
    r"amount|total|budget|balance|price|credit|discount|fee|reward|spent|remaining|refund"
    r"|saving|threshold|min_spend|subtotal|cap|pay|^min$|^max$|funded|sales|cost|shortfall|gross"
)
NOT_MONEY = {
    "DealListOut.total",
    "ProductListOut.total",
    "EnvelopeOut.remaining_shares",
    "HelpRequestOut.helpers_remaining",
    "CircleEnvelopeOut.remaining_shares",
    "PriceCutOut.helpers_remaining",
    "OrderLineOut.refunded_quantity",
    "ReferralRuleIn.daily_cap",
    "CampaignSharingIn.shares_for_reward",  # how many shares, not money
}


def money_fields(schema: dict) -> dict[str, dict]:
    found = {}
    for name, component in schema["components"]["schemas"].items():
        for prop, spec in component.get("properties", {}).items():
            types = {spec.get("type")} | {part.get("type") for part in spec.get("anyOf", [])}
            key = f"{name}.{prop}"
            if "integer" in types and MONEY_NAME.search(prop) and key not in NOT_MONEY:
                found[key] = spec
    return found


def test_every_money_field_says_minor_units(settings: Settings):
    fields = money_fields(create_app(settings).openapi())
    # The checkout's and the envelopes' money are in the schema (the search finds them).
    assert {"QuoteIn.use_credit", "QuoteOut.total_to_pay", "EnvelopeIn.total"} <= fields.keys()
    unsaid = [
        key
        for key, spec in fields.items()
        if "minor units (fen)" not in spec.get("description", "").lower()
    ]
    assert unsaid == []
