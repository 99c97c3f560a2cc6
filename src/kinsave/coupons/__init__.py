"""Coupons: templates, claims, the checkout optimiser (quote.py), store checkout and deals.

The package's error codes are registered here, so that importing any of its modules (the
routers, the jobs, a test) makes them known before one can be raised.
"""

from kinsave.errors import register_codes

register_codes(
    {
        "coupon_sold_out": 409,
        "coupon_limit_reached": 409,
        "coupon_not_claimable": 409,
        "coupon_not_applicable": 422,
        "coupon_expired": 410,
        "coupon_reserved": 409,
        "coupon_used": 409,
        "order_not_found": 404,
        "order_state_invalid": 409,
        "order_expired": 410,
        "payment_method_not_allowed": 422,
    }
)
