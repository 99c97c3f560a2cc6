"""kinsave: a social-savings engine (red envelopes, coupons, shares) for shops in chat hosts."""

__version__ = "0.1.0"
