"""Group deals (拼团): a product at a group price once N shoppers join a group inside a window.

The package's error codes are registered here, so that importing any of its modules makes them
known before one can be raised.
"""

from kinsave.errors import register_codes

register_codes(
    {
        "group_full": 409,
        "group_expired": 410,
        "already_in_group": 409,
        "group_deal_sold_out": 409,
        "group_deal_not_active": 409,
        "group_limit_reached": 409,
        "group_self_join": 403,
    }
)
