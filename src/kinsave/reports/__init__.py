"""Reports across the domains for the console: the shop overview (overview.py is pure, queries.py
reads through each package's totals)."""
