"""The shopper's held coupons as the pure optimiser reads them (HeldCoupon): from ORM rows
(`as_held`) or straight from the driver (`held_coupons`, `held_of_json`, and the SQL fragments
the checkout quote's one read is built from), with the templates' terms kept per process
(`remember_terms`). Reads only."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kinsave.coupons.pricing import HeldCoupon
from kinsave.db import driver_of, psycopg_sql, single_read, sqlite_time


class TemplateTerms(Protocol):
    """What the optimiser reads of a template: a CouponTemplate, or a row of its columns."""

    name: str
    kind: str
    amount: int
    percent: int
    cap: int
    threshold: int
    min_spend: int
    scope_kind: str
    scope_values: list[str]
    stacking_group: str
    credit_combinable: bool


def as_held(template: TemplateTerms, coupon_id: str, expires_at: datetime | None) -> HeldCoupon:
    """A template's terms as the pure optimiser reads them."""
    return HeldCoupon(
        id=coupon_id,
        name=template.name,
        kind=template.kind,
        amount=template.amount,
        percent=template.percent,
        cap=template.cap,
        threshold=template.threshold,
        min_spend=template.min_spend,
        scope=template.scope_kind,
        scope_values=frozenset(template.scope_values),
        stacking_group=template.stacking_group,
        credit_combinable=template.credit_combinable,
        expires_at=expires_at,
    )


# Sent straight to the driver (decision 17): through the ORM, turning 50 rows into HeldCoupons
# (result processing, JSON and time types, statement caching) was a third of a checkout quote's
# server time, more than the optimiser itself (docs/benchmarks.md).
# Each coupon's id, expiry and template with its terms' version only, all of them as one JSON
# text built by the database: [[id, expires_at, template_id, terms_version], ...] (by id on
# PostgreSQL; held_of_json sorts SQLite's). The terms come from this process's memory of them
# (remember_terms), and the checkout's answer memory keys on the text itself, so a remembered
# answer builds no Python value per coupon:
# the read's CPU fell by a half (13 columns of 50 rows before; docs/benchmarks.md, "Sixth
# round"). The version is the database's count of the terms' changes (a trigger, decision 39),
# so a template edited by any path, in any process, is read again.
HELD_WHERE = """c.shopper_id = :shopper_id AND c.shop_id = :shop_id AND c.state = 'available'
    AND c.expires_at > :now"""
_HELD_ROWS = f"""SELECT c.id, c.expires_at, c.template_id, t.terms_version
    FROM coupon c JOIN coupon_template t ON t.id = c.template_id
    WHERE {{condition}} AND {HELD_WHERE}"""
# SQLite 3.40 has no ORDER BY inside an aggregate, and held_of_json sorts the rows itself, so
# they come in the index's order (by shopper, state, then insertion), the same for the same
# coupons: sorting them in the statement as well was a third of its time (0.045 -> 0.030 ms on
# the bench's 50 coupons, docs/benchmarks.md "Ninth round"). Should the order of the same
# coupons ever differ (another plan), the answer memory only misses once: same coupons, same
# answer.
SQLITE_HELD_JSON_SQL = f"""(SELECT json_group_array(
    json_array(id, expires_at, template_id, terms_version))
    FROM ({_HELD_ROWS}))"""
PG_HELD_JSON_SQL = f"""(SELECT CAST(json_agg(
    json_build_array(c.id, c.expires_at, c.template_id, t.terms_version) ORDER BY c.id) AS TEXT)
    FROM coupon c JOIN coupon_template t ON t.id = c.template_id
    WHERE {{condition}} AND {HELD_WHERE})"""
_SQLITE_HELD = "SELECT " + SQLITE_HELD_JSON_SQL.format(condition="1 = 1")
_PG_HELD = psycopg_sql("SELECT " + PG_HELD_JSON_SQL.format(condition="TRUE"))
# scope_values as text on both databases: psycopg would parse JSON that json.loads parses anyway.
_TERMS_COLUMNS = """id, terms_version, name, kind, amount, percent, cap, threshold, min_spend,
    scope_kind, CAST(scope_values AS TEXT), stacking_group, credit_combinable"""
_SQLITE_TERMS = f"""SELECT {_TERMS_COLUMNS} FROM coupon_template
    WHERE id IN (SELECT value FROM json_each(:ids))"""
_PG_TERMS = f"SELECT {_TERMS_COLUMNS} FROM coupon_template WHERE id = ANY(%(ids)s)"

# A template's terms in HeldCoupon's field order, from name to credit_combinable.
Terms = tuple[str, str, int, int, int, int, int, str, frozenset[str], str, bool]
KeptTerms = tuple[int, Terms]  # with the version they were read at
HeldRow = tuple[str, str, str, int]  # id, expires_at as the JSON has it, template, version


def held_coupons(
    session: Session, shop_id: str, shopper_id: str, now: datetime
) -> list[HeldCoupon]:
    """The shopper's available, unexpired coupons for this shop. Reads only."""
    params: dict[str, object] = {"shopper_id": shopper_id, "shop_id": shop_id}
    postgres = session.get_bind().dialect.name == "postgresql"
    with driver_of(session) as driver:
        if postgres:
            params["now"] = now
            text = driver.execute(_PG_HELD, params, prepare=True).fetchone()[0]
        else:
            params["now"] = sqlite_time(now)
            text = driver.execute(_SQLITE_HELD, params).fetchone()[0]
    return held_of_json(text, session, postgres)


def held_of_json(text: str | None, source: Session | Engine, postgres: bool) -> list[HeldCoupon]:
    """HeldCoupons from what SQLITE_HELD_JSON_SQL or PG_HELD_JSON_SQL read (None: none held),
    reading through `source` the terms of templates this process does not know at their
    versions (remember_terms)."""
    if not text:
        return []
    known = _held_of_text.get(text)
    if known is not None:
        return list(known)
    rows: list[HeldRow] = [tuple(row) for row in json.loads(text)]
    if not postgres:
        rows.sort()
    made = held_of_rows(rows, remember_terms(source, postgres, rows), postgres)
    if all(row in _held_of_rows for row in rows):  # each at its terms' version: never stale
        if len(_held_of_text) >= _MAX_REMEMBERED_TEXTS:
            _held_of_text.clear()
        _held_of_text[text] = tuple(made)
    return made


# The HeldCoupons of a whole text, as held_of_rows makes them: a store quotes the same
# shopper's coupons cart after cart, and parsing the text and looking up its 50 rows was a
# twentieth of a quote that misses the answer memory (docs/benchmarks.md, "Ninth round").
# The text names every coupon's terms' version, so the same text is the same coupons.
_MAX_REMEMBERED_TEXTS = 1024
_held_of_text: dict[str, tuple[HeldCoupon, ...]] = {}


# Each template's terms by id, with the version they were read at. Never stale for a quote: a
# version read with a coupon that differs from the one kept is read again. Cleared when full.
_MAX_REMEMBERED_TERMS = 50_000
_terms: dict[str, KeptTerms] = {}


def remember_terms(
    source: Session | Engine, postgres: bool, rows: Sequence[HeldRow]
) -> dict[str, KeptTerms]:
    """The terms of the rows' templates at (or, when a template changed since the rows were
    read, after) the rows' versions, read through `source` only for the templates this process
    does not know at that version: one more round trip, rarely."""
    kept: dict[str, KeptTerms] = {}
    stale = []
    for template_id, version in {row[2]: row[3] for row in rows}.items():
        entry = _terms.get(template_id)
        if entry is None or entry[0] < version:
            stale.append(template_id)
        else:
            kept[template_id] = entry
    if stale:
        if isinstance(source, Session):
            with driver_of(source) as driver:
                kept.update(_read_terms(driver, postgres, stale))
        else:
            kept.update(single_read(source, lambda driver: _read_terms(driver, postgres, stale)))
    return kept


# At start-up the terms of this many active templates are read ahead (remember_active_terms).
WARM_TERMS_LIMIT = 5_000


def remember_active_terms(engine: Engine, postgres: bool, limit: int = WARM_TERMS_LIMIT) -> int:
    """Read the terms of up to `limit` active templates into this process's memory, before it
    serves: the first quotes after a start then read no terms (docs/benchmarks.md, "the quote's
    tail"). Bounded for a big catalogue; a template left out is read on its first quote, as
    before. Returns how many were read."""

    def read(driver: Any) -> int:
        if postgres:
            found = driver.execute(_PG_ACTIVE, {"limit": limit}).fetchall()
        else:
            found = driver.execute(_SQLITE_ACTIVE, {"limit": limit}).fetchall()
        ids = [row[0] for row in found]
        return len(_read_terms(driver, postgres, ids)) if ids else 0

    return single_read(engine, read)


_SQLITE_ACTIVE = "SELECT id FROM coupon_template WHERE status = 'active' LIMIT :limit"
_PG_ACTIVE = "SELECT id FROM coupon_template WHERE status = 'active' LIMIT %(limit)s"


def _read_terms(driver: Any, postgres: bool, template_ids: list[str]) -> dict[str, KeptTerms]:
    if postgres:
        found = driver.execute(_PG_TERMS, {"ids": template_ids}, prepare=True).fetchall()
    else:
        found = driver.execute(_SQLITE_TERMS, {"ids": json.dumps(template_ids)}).fetchall()
    read: dict[str, KeptTerms] = {}
    for template_id, version, *values in found:
        values[8] = frozenset(json.loads(values[8]))  # scope_values
        values[10] = bool(values[10])  # credit_combinable: SQLite answers 0 or 1
        read[template_id] = (version, tuple(values))
    if len(_terms) + len(read) > _MAX_REMEMBERED_TERMS:
        _terms.clear()
    _terms.update(read)
    return read


# HeldCoupons by row: a quote reads 50 coupons, most of them the same rows as the last quote's,
# and building each (the expiry's time, a frozen dataclass) cost more than reading it. A row
# names its terms' version, so never stale; cleared when full.
_MAX_REMEMBERED_HELD = 50_000
_held_of_rows: dict[HeldRow, HeldCoupon] = {}


def held_of_rows(
    rows: Sequence[HeldRow], terms: dict[str, KeptTerms], postgres: bool
) -> list[HeldCoupon]:
    """HeldCoupons from held rows and their templates' terms (remember_terms)."""
    remembered = _held_of_rows
    made = []
    for row in rows:
        held = remembered.get(row)
        if held is None:
            version, template_terms = terms[row[2]]
            held = _held_of_new_row(row, template_terms, postgres)
            if len(remembered) >= _MAX_REMEMBERED_HELD:
                remembered.clear()
            if version == row[3]:  # not terms changed since the row was read
                remembered[row] = held
        made.append(held)
    return made


def _held_of_new_row(row: HeldRow, terms: Terms, postgres: bool) -> HeldCoupon:
    expires_at = datetime.fromisoformat(row[1])
    if postgres:  # in the session's time zone
        expires_at = expires_at.astimezone(UTC)
    else:  # as UTCDateTime reads it back on SQLite
        expires_at = expires_at.replace(tzinfo=UTC)
    return HeldCoupon(row[0], *terms, expires_at)
