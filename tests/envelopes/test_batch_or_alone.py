"""The same grabs and daily claims, booked in one batch and booked one by one, write the same rows.

Two identical worlds (a shop, an envelope of three equal shares, a daily campaign whose budget
runs out, shoppers with and without a wallet) get the same ordered requests: one world through
`book_grabs` / `book_daily_claims` in one transaction, the other through `grab_share` /
`claim_daily`, each request in its own transaction. Every answer and every row written (transfers,
balances, accounts opened, shares, claims) must match, ids aside.
"""

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from kinsave.db import unit_of_work, utcnow
from kinsave.envelopes import daily, grabs
from kinsave.envelopes.daily import DailyRequest
from kinsave.envelopes.grabs import GrabRequest
from kinsave.envelopes.models import DailyClaim, EnvelopeShare
from kinsave.errors import KinsaveError
from kinsave.ledger import service as ledger
from kinsave.ledger.models import Account, AccountKind, Transfer
from tests.factories import create_campaign, login, outcome_codes, shop_key

SHOPPERS = ("mum", "dad", "aunt", "uncle", "newcomer")  # the newcomer holds no wallet yet
GRABS = ("mum", "mum", "newcomer", "<missing>", "dad", "aunt", "uncle")  # 3 shares
CLAIMS = ("mum", "mum", "dad", "newcomer", "aunt", "uncle", "<missing>", "dad")


@dataclass
class World:
    prefix: str
    shop_id: str
    envelope_id: str
    daily_campaign_id: str
    funding_campaign_id: str

    def shopper(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def roles(self) -> dict[str, str]:
        """Every id of this world, to the role it plays (for comparing two worlds)."""
        named = {self.shopper(role): role for role in SHOPPERS}
        return {
            **named,
            self.shop_id: "shop",
            self.envelope_id: "envelope",
            self.daily_campaign_id: "daily",
            self.funding_campaign_id: "funding",
        }


def _world(api: Any, session_factory: Any, prefix: str) -> World:
    operator = shop_key(session_factory, f"Shop {prefix}")
    funding = create_campaign(api, operator)
    rule = {"kind": "uniform", "min": 30, "max": 40}
    daily_campaign = create_campaign(api, operator, budget=100, daily_rule=rule)
    made = api.post(
        f"/v1/admin/campaigns/{funding['id']}/envelopes",
        json={"total": 1001, "shares": 3, "kind": "equal"},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    world = World(
        prefix, funding["shop_id"], made.json()["id"], daily_campaign["id"], funding["id"]
    )
    for role in SHOPPERS:
        login(api, world.shopper(role))
    with unit_of_work(session_factory) as session:
        for role in SHOPPERS[:-1]:
            ledger.wallet_account(session, world.shopper(role), world.shop_id)
    return world


def _grab_requests(world: World) -> list[GrabRequest]:
    return [
        GrabRequest(
            "env_missing" if role == "<missing>" else world.envelope_id, world.shopper(role)
        )
        for role in GRABS
    ]


def _claim_requests(world: World) -> list[DailyRequest]:
    return [
        DailyRequest(
            "cmp_missing" if role == "<missing>" else world.daily_campaign_id, world.shopper(role)
        )
        for role in CLAIMS
    ]


def _book_in_batches(session_factory: Any, world: World, now: datetime) -> list[str]:
    with unit_of_work(session_factory) as session:
        grabbed = grabs.book_grabs(session, _grab_requests(world), now)
    with unit_of_work(session_factory) as session:
        claimed = daily.book_daily_claims(
            session, _claim_requests(world), rng=random.Random(7), now=now
        )
    return outcome_codes(grabbed) + outcome_codes(claimed)


def _book_one_by_one(session_factory: Any, world: World, now: datetime) -> list[str]:
    def alone(operation: Callable[[Session], object]) -> str:
        try:
            with unit_of_work(session_factory) as session:
                operation(session)
        except KinsaveError as refusal:
            return refusal.code
        return "ok"

    rng = random.Random(7)
    return [
        alone(lambda s, g=grab: grabs.grab_share(s, g.envelope_id, g.shopper_id, now))
        for grab in _grab_requests(world)
    ] + [
        alone(
            lambda s, c=claim: daily.claim_daily(s, c.campaign_id, c.shopper_id, rng=rng, now=now)
        )
        for claim in _claim_requests(world)
    ]


def _rows(session: Session, world: World, now: datetime) -> dict[str, Any]:
    """What the world's bookings wrote, with every id replaced by the role it plays."""
    roles = world.roles()
    shares = {
        share_id: seq
        for share_id, seq in session.execute(
            select(EnvelopeShare.id, EnvelopeShare.seq).where(
                EnvelopeShare.envelope_id == world.envelope_id
            )
        )
    }

    def named(value: Any) -> Any:
        return roles.get(value, value) if isinstance(value, str) else value

    def key(value: str) -> str:
        for share_id, seq in shares.items():
            value = value.replace(f"envelope-grab:{share_id}", f"envelope-grab:seq{seq}")
        for real, role in roles.items():
            value = value.replace(real, role)
        return value

    source, target = aliased(Account), aliased(Account)
    transfers = session.execute(
        select(
            Transfer.idempotency_key,
            source.kind,
            source.owner_id,
            target.kind,
            target.owner_id,
            Transfer.amount,
            Transfer.kind,
            Transfer.reference,
            Transfer.created_at,
        )
        .join(source, source.id == Transfer.from_account_id)
        .join(target, target.id == Transfer.to_account_id)
        .where(Transfer.shop_id == world.shop_id, Transfer.created_at == now)
    )
    accounts = session.execute(
        select(Account.kind, Account.owner_id, Account.balance).where(
            Account.shop_id == world.shop_id
        )
    )
    share_rows = session.execute(
        select(EnvelopeShare.seq, EnvelopeShare.amount, EnvelopeShare.grabbed_by).where(
            EnvelopeShare.envelope_id == world.envelope_id
        )
    )
    claims = session.execute(
        select(DailyClaim.shopper_id, DailyClaim.local_day, DailyClaim.amount).where(
            DailyClaim.campaign_id == world.daily_campaign_id
        )
    )
    return {
        "transfers": sorted((key(row[0]), *map(named, row[1:])) for row in transfers),
        "accounts": sorted(tuple(map(named, row)) for row in accounts),
        "shares": sorted(tuple(map(named, row)) for row in share_rows),
        "claims": sorted(tuple(map(named, row)) for row in claims),
    }


class TestBatchOrAlone:
    def test_the_same_requests_write_the_same_rows_either_way(self, api, session_factory):
        batched, alone = _world(api, session_factory, "b"), _world(api, session_factory, "a")
        now = utcnow()
        codes = _book_in_batches(session_factory, batched, now)
        assert codes == _book_one_by_one(session_factory, alone, now)
        assert codes[: len(GRABS)] == [
            "ok",
            "already_grabbed",
            "ok",
            "not_found",
            "ok",
            "envelope_empty",
            "envelope_empty",
        ]
        assert "budget_exhausted" in codes and "already_claimed_today" in codes, str(codes)
        with unit_of_work(session_factory) as session:
            rows = _rows(session, batched, now)
            assert rows == _rows(session, alone, now)
        assert len(rows["transfers"]) == 3 + codes[len(GRABS) :].count("ok")
        # The newcomer's wallet opened with their first credit, in the batch as alone.
        assert any(a[:2] == ("wallet", "newcomer") and a[2] > 0 for a in rows["accounts"])

    def test_a_claim_refused_for_the_budget_opens_no_wallet(self, api, session_factory):
        world = _world(api, session_factory, "w")
        with unit_of_work(session_factory) as session:
            request = DailyRequest(world.daily_campaign_id, world.shopper("newcomer"))
            drained = daily.book_daily_claims(
                session,
                [DailyRequest(world.daily_campaign_id, world.shopper(r)) for r in SHOPPERS[:4]]
                + [request],
                rng=random.Random(1),
                now=utcnow(),
            )
        assert outcome_codes(drained)[-1] == "budget_exhausted"
        with unit_of_work(session_factory) as session:
            wallet = (AccountKind.WALLET, world.shopper("newcomer"), world.shop_id)
            assert ledger.find_account(session, *wallet) is None


class TestRacingThemself:
    """A shopper's two taps in two transactions at once: one is paid, the other refused."""

    def _race(self, session_factory: Any, operation: Callable[[Session], object]) -> list[str]:
        barrier = threading.Barrier(4)

        def tap() -> str:
            barrier.wait()
            try:
                with unit_of_work(session_factory) as session:
                    operation(session)
            except KinsaveError as refusal:
                return refusal.code
            return "ok"

        with ThreadPoolExecutor(max_workers=4) as pool:
            return sorted(pool.map(lambda _: tap(), range(4)))

    def test_a_daily_claim_alone(self, api, session_factory):
        world = _world(api, session_factory, "r")
        codes = self._race(
            session_factory,
            lambda s: daily.claim_daily(s, world.daily_campaign_id, world.shopper("mum")),
        )
        assert codes == ["already_claimed_today"] * 3 + ["ok"]

    def test_a_grab_alone(self, api, session_factory):
        world = _world(api, session_factory, "g")
        codes = self._race(
            session_factory,
            lambda s: grabs.grab_share(s, world.envelope_id, world.shopper("newcomer")),
        )
        assert codes == ["already_grabbed"] * 3 + ["ok"]
