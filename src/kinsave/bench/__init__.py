"""`kinsave bench`: the holiday storms of issue 6, measured against baselines and limits.

Scenarios (grab_storm.py, daily_rush.py; coupon-rush and quote come with the coupons) run
in-process (threads calling the services, one unit of work each) and through HTTP (the real
server as a subprocess, load from a separate process: loadgen.py), on SQLite and PostgreSQL. Each
variant gets fresh data, is timed, and is checked for its invariants and a clean reconcile.
"""
