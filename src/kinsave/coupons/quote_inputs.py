"""Everything a checkout quote reads, in one statement: the store link, the shopper's wallet at
the shop, the channel's policy in force, the cart's categories and the held coupons.

A quote is the store's most frequent call (every cart view). Read one by one through the
services it took six round trips and statement compilations, about a third of the server's time
per quote (docs/benchmarks.md, "Checkout at holiday speed"). Each package still owns its part of
the statement (storelinks.LINKED_SQL, ledger.WALLET_BALANCE_SQL, sharing.POLICY_RULES_SQL and
CHANNEL_ADDED_SQL, catalog's categories, coupons' held coupons as JSON); this module only puts
them side by side and hands each answer back to its owner to interpret. Reads only.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kinsave.catalog import service as catalog
from kinsave.coupons.held import PG_HELD_JSON_SQL, SQLITE_HELD_JSON_SQL, held_of_json
from kinsave.coupons.pricing import HeldCoupon
from kinsave.db import AwaitedReads, driver_of, psycopg_sql, single_read, sqlite_time
from kinsave.ledger import service as ledger
from kinsave.sharing import service as sharing
from kinsave.storelinks import service as storelinks


@dataclass(frozen=True)
class QuoteInputs:
    linked: bool
    wallet: int  # 0 for a wallet never opened
    rules_json: str | None  # the channel's policy in force; None: its built-in default
    channel_added: bool
    categories: dict[str, str]  # sku -> category, for the skus the shop's catalog knows
    # The held coupons (available, unexpired, this shop's; none unless linked) as one JSON text
    # (coupons.held) naming each coupon's terms exactly (its template and their version): the
    # checkout's answer memory keys on it, and builds HeldCoupons only when it misses.
    held_json: str | None
    postgres: bool

    def held(self, source: Session | Engine) -> list[HeldCoupon]:
        """The held coupons; `source` reads the terms of templates new to this process."""
        return held_of_json(self.held_json, source, self.postgres)


def _statement(categories_sql: str, held_sql: str) -> str:
    return f"""
        SELECT h.linked, h.wallet, h.rules, h.channel_added, h.categories,
            {held_sql.format(condition="h.linked")}
        FROM (SELECT {storelinks.LINKED_SQL} AS linked,
                     {ledger.WALLET_BALANCE_SQL} AS wallet,
                     {sharing.POLICY_RULES_SQL} AS rules,
                     {sharing.CHANNEL_ADDED_SQL} AS channel_added,
                     {categories_sql} AS categories) h
    """


_SQLITE = _statement(catalog.SQLITE_CATEGORIES_SQL, SQLITE_HELD_JSON_SQL)
_PG = psycopg_sql(_statement(catalog.PG_CATEGORIES_SQL, PG_HELD_JSON_SQL))


def read_quote_inputs(
    source: Session | Engine,
    shop_id: str,
    shopper_id: str,
    channel: str,
    skus: list[str],
    now: datetime,
) -> QuoteInputs:
    """One round trip, straight to the driver (decision 17): in the session's transaction, or,
    given the engine (the route: app.state.single_read_engine), on a pooled connection of its
    own with no Session or transaction around the one statement (db.single_read)."""
    if isinstance(source, Session):
        postgres = source.get_bind().dialect.name == "postgresql"
        with driver_of(source) as driver:
            row = _execute(driver, postgres, shop_id, shopper_id, channel, skus, now)
    else:
        postgres = source.dialect.name == "postgresql"
        row = single_read(
            source,
            lambda driver: _execute(driver, postgres, shop_id, shopper_id, channel, skus, now),
        )
    return _inputs(row, postgres)


async def await_quote_inputs(
    reads: AwaitedReads, shop_id: str, shopper_id: str, channel: str, skus: list[str], now: datetime
) -> QuoteInputs:
    """read_quote_inputs's answer on PostgreSQL, the same statement awaited on psycopg's
    AsyncConnection (db.AwaitedReads): the event loop serves others while the database works."""

    async def statement(connection: Any) -> Any:
        params = _params(shop_id, shopper_id, channel, skus)
        params["now"] = now
        return await (await connection.execute(_PG, params, prepare=True)).fetchone()

    return _inputs(await reads.read(statement), postgres=True)


def _inputs(row: Any, postgres: bool) -> QuoteInputs:
    linked, wallet, rules_json, channel_added, categories, held_json = row
    if isinstance(categories, str):  # SQLite answers JSON as text, psycopg parses it
        categories = json.loads(categories)
    return QuoteInputs(
        linked=bool(linked),
        wallet=wallet or 0,
        rules_json=rules_json,
        channel_added=bool(channel_added),
        categories=categories or {},
        held_json=held_json,
        postgres=postgres,
    )


def _params(shop_id: str, shopper_id: str, channel: str, skus: list[str]) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "shopper_id": shopper_id,
        "channel": channel,
        "skus": json.dumps(skus),
    }


def _execute(
    driver: Any,
    postgres: bool,
    shop_id: str,
    shopper_id: str,
    channel: str,
    skus: list[str],
    now: datetime,
) -> Any:
    params = _params(shop_id, shopper_id, channel, skus)
    if postgres:
        params["now"] = now
        return driver.execute(_PG, params, prepare=True).fetchone()
    params["now"] = sqlite_time(now)
    return driver.execute(_SQLITE, params).fetchone()
