"""Store links: a shopper's consent, given in the mini app, that lets one shop's store act for them.

The package's error codes are registered here, so that importing any of its modules makes them
known before one can be raised.
"""

from kinsave.errors import register_codes

register_codes(
    {
        "shopper_not_linked": 403,
        "link_code_invalid": 400,
        "link_code_expired": 410,
        "link_request_invalid": 404,
        "link_request_expired": 410,
        "return_url_invalid": 422,
    }
)
