"""Pure: the idempotency key of every money movement, each format written once.

A transfer's key is unique in the ledger (a unique index), so the same business event can never
be booked twice. Each function names the event; the string it returns is stored and must never
change for events already booked.
"""

from datetime import date


def envelope_funding(envelope_id: str) -> str:
    return f"envelope-funding:{envelope_id}"


def envelope_grab(share_id: int) -> str:
    """One share paid out once (the share row also holds who grabbed it, unique per envelope)."""
    return f"envelope-grab:{share_id}"


def envelope_refund(envelope_id: str) -> str:
    return f"envelope-refund:{envelope_id}"


def daily_claim(campaign_id: str, shopper_id: str, local_day: date) -> str:
    """Once per shopper per campaign per local calendar day."""
    return f"daily:{campaign_id}:{shopper_id}:{local_day.isoformat()}"


def campaign_funding(campaign_id: str, suffix: str) -> str:
    return f"campaign-funding:{campaign_id}:{suffix}"


def credit_grant(campaign_id: str, key: str) -> str:
    return f"credit-grant:{campaign_id}:{key}"


def help_escrow(request_id: str) -> str:
    return f"help-escrow:{request_id}"


def help_reward(request_id: str) -> str:
    return f"help-reward:{request_id}"


def help_refund(request_id: str) -> str:
    return f"help-refund:{request_id}"


def checkout_hold(order_id: int) -> str:
    return f"checkout-hold:{order_id}"


def checkout_redeem(order_id: int) -> str:
    return f"checkout-redeem:{order_id}"


def checkout_release(order_pk: object) -> str:
    return f"checkout-release:{order_pk}"


def checkout_refund(refund_pk: object) -> str:
    return f"checkout-refund:{refund_pk}"


def referral_hold(shop_id: str, order_id: str) -> str:
    return f"referral-hold:{shop_id}:{order_id}"


def referral_clawback(reward_id: object, target: object) -> str:
    return f"referral-clawback:{reward_id}:{target}"


def referral_release(reward_id: object) -> str:
    return f"referral-release:{reward_id}"
