"""The checkout optimiser as it was before its faster core (commit 40ce885), kept as a test oracle.

Not imported by kinsave: tests/coupons/test_quote_oracle.py proves the optimiser in
src/kinsave/coupons/ gives the same answers (chosen coupons, totals, per-line splits,
explanations and hint) on generated carts and coupon sets. Do not change these files to make that
test pass: a difference is a difference in the product's answers.
"""
