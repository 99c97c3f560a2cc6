"""Bench data: many shoppers with wallets and sessions, a shop, campaigns, envelopes.

Shoppers are inserted in bulk (tens of thousands through the sign-in service would take longer
than the storm); they get exactly the rows `auth.service.ensure_shopper` and `start_session`
write: a shopper, a wallet account (opened by the ledger), a session holding only the token's
SHA-256 (and, where sessions are kept in Redis, its key: `shared_sessions.announce_started`).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.auth import shared_sessions
from kinsave.auth.models import Shopper, ShopperSession
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import CampaignIn
from kinsave.config import Settings
from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.daily_rule import UniformRule
from kinsave.envelopes.schemas import EnvelopeIn
from kinsave.ledger import batch as ledger_batch

CHUNK = 5000


@dataclass(frozen=True)
class Crowd:
    shop_id: str
    shopper_ids: list[str]
    tokens: list[str]  # bearer tokens, same order as shopper_ids


def crowd(session_factory: sessionmaker[Session], count: int) -> Crowd:
    """`count` signed-in shoppers with empty wallets, and a shop to run campaigns."""
    run = secrets.token_hex(4)
    ids = [f"bench-{run}-{i}" for i in range(count)]
    tokens = [f"bench-{run}-{i}-{secrets.token_urlsafe(12)}" for i in range(count)]
    now = utcnow()
    with unit_of_work(session_factory) as session:
        shop_id = auth.ensure_shop(session, f"Bench shop {run}").id
    for start in range(0, count, CHUNK):
        with unit_of_work(session_factory) as session:
            chunk = range(start, min(count, start + CHUNK))
            session.execute(
                insert(Shopper),
                [{"id": ids[i], "display_name": ids[i], "created_at": now} for i in chunk],
            )
            # Each shopper's wallet at the bench shop, as after their first credit there.
            ledger_batch.open_wallets(
                session, [ledger_batch.Wallet(ids[i], shop_id) for i in chunk], now=now
            )
            rows = [_session(ids[i], tokens[i], now) for i in chunk]
            session.execute(insert(ShopperSession), rows)
            started = [(r["token_hash"], r["shopper_id"], r["expires_at"]) for r in rows]
            shared_sessions.announce_started(session, started)  # as start_session does
    return Crowd(shop_id, ids, tokens)


def _session(shopper_id: str, token: str, now: datetime) -> dict[str, Any]:
    return {
        "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        "shopper_id": shopper_id,
        "channel": "bench",
        "created_at": now,
        "expires_at": now + timedelta(days=1),
    }


def campaign(
    session_factory: sessionmaker[Session], shop_id: str, budget: int, rule: UniformRule
) -> tuple[str, int]:
    """A running campaign with a daily envelope; returns (campaign id, budget account id)."""
    with unit_of_work(session_factory) as session:
        made = campaigns.create_campaign(
            session, shop_id, CampaignIn(name="Holiday rush", budget=budget, daily_rule=rule)
        )
        return made.id, campaigns.campaign_budget_account(session, shop_id, made.id)


def shop_envelopes(
    session_factory: sessionmaker[Session],
    settings: Settings,
    shop_id: str,
    count: int,
    shares: int,
    total: int,
) -> list[str]:
    """`count` lucky envelopes paid from a fresh campaign, made through the envelope service."""
    campaign_id, _ = campaign(session_factory, shop_id, count * total, UniformRule(min=1, max=1))
    made: list[str] = []
    for start in range(0, count, 50):
        with unit_of_work(session_factory) as session:
            for _ in range(start, min(count, start + 50)):
                envelope = envelopes.create_campaign_envelope(
                    session, settings, shop_id, campaign_id, EnvelopeIn(total=total, shares=shares)
                )
                made.append(envelope.id)
    return made
