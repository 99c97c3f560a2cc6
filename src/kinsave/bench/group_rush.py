"""group-rush: a crowd joins groups of a group deal at once, twice as many joins as seats.

The groups (5 seats each) are started before the clock runs; then every seat is wanted by two
shoppers, and one joiner in ten races into two groups at the same moment. Each group's row is
the hot row of its joins. Variants: the straightforward design (the group row locked with
SELECT ... FOR UPDATE through the ORM, membership checked by reading, the counter bumped in
Python), kept here as the bench's one deliberate second implementation, and kinsave's join
(joining.py: a conditional seat UPDATE and unique keys, committed in batches by the group-join
batcher as the API's route does). Both are checked for the same
invariants: no group over its size, one success per full group, entitlements = size x
succeeded groups, units never oversold, no shopper in two forming groups of the deal.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.bench.context import BenchContext, HttpTarget, batched, in_own_transaction
from kinsave.bench.measure import Caller
from kinsave.catalog import service as catalog
from kinsave.catalog.schemas import ProductIn
from kinsave.coupons import entitlements
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import unit_of_work, utcnow
from kinsave.errors import KinsaveError
from kinsave.groups import joining, starting
from kinsave.groups import service as groups
from kinsave.groups.models import DealGroup, GroupDeal, GroupMember
from kinsave.groups.schemas import GroupDealIn
from kinsave.webhooks import service as webhooks

SIZE = 5
SKU = "bench-rice"
ANSWERS = {"ok", "group_full", "already_in_group", "group_limit_reached", "service_unavailable"}


@dataclass
class GroupPlan:
    deal_id: str
    group_ids: list[str]
    attempts: list[tuple[str, str]]  # (group_id, shopper_id)

    def items(self) -> list[tuple[str, str]]:
        return self.attempts


def straightforward_join(session: Session, group_id: str, shopper_id: str) -> dict[str, Any]:
    """Lock the group, read-check-write: membership by a read, the counter in Python. Answers
    the group as this design has it at hand (its status and seats; no member list)."""
    now = utcnow()
    group = session.get(DealGroup, group_id, with_for_update=True)
    if group is None:
        raise KinsaveError("not_found", "no such group")
    if group.status != "forming" or group.members >= group.size:
        raise KinsaveError("group_full", "this group already has all its members")
    deal = session.get(GroupDeal, group.deal_id)
    assert deal is not None
    mine = session.scalars(
        select(GroupMember).where(
            GroupMember.deal_id == deal.id, GroupMember.shopper_id == shopper_id
        )
    ).all()
    if any(m.open_deal_id is not None for m in mine):
        raise KinsaveError("already_in_group", "already in a forming group of this deal")
    if sum(1 for m in mine if m.slot is not None) >= deal.per_shopper_limit:
        raise KinsaveError("group_limit_reached", "at the limit of groups of this deal")
    group.members += 1
    member = GroupMember(
        group_id=group.id,
        deal_id=deal.id,
        shopper_id=shopper_id,
        position=group.members,
        open_deal_id=deal.id,
        slot=len(mine) + 1,
        joined_at=now,
    )
    session.add(member)
    try:
        session.flush()
    except IntegrityError as error:
        # The read above took no lock on the shopper: the same shopper racing into two groups
        # passes it twice, and the database's unique keys catch the second (as in this design's
        # peers: the race surfaces as a constraint violation, answered as a refusal).
        raise KinsaveError("already_in_group", "already in a forming group of this deal") from error
    if group.members == group.size:
        group.status, group.closed_at = "succeeded", now
        members = list(session.scalars(select(GroupMember).where(GroupMember.group_id == group.id)))
        given = entitlements.grant_set_price(
            session, deal.template_id, [m.shopper_id for m in members], now
        )
        for m in members:
            m.open_deal_id, m.coupon_id = None, given[m.shopper_id]
        webhooks.enqueue(session, deal.shop_id, "group.succeeded", {"group_id": group.id})
        session.flush()
    return {"id": group.id, "status": group.status, "members": group.members, "size": group.size}


class GroupRush:
    name = "group-rush"
    inprocess_variants: dict[str, Callable[[BenchContext, Any], Callable[[], Caller[Any]]]] = {
        "straightforward": lambda ctx, _plan: in_own_transaction(ctx, straightforward_join),
        # What POST /v1/groups/{id}/join runs: the group-join batcher.
        "kinsave": lambda ctx, _plan: batched(
            ctx,
            joining.join_groups,
            lambda attempt: (joining.JoinRequest(*attempt), attempt[0]),
            lanes=ctx.settings.group_join_lanes,
        ),
    }
    http_variants = {
        "bare ASGI": "GET /v1/bench/bare",
        "do-nothing": "GET /v1/bench/noop",
        "straightforward": "POST /v1/bench/straightforward/groups/{target}/join",
        "kinsave": "POST /v1/groups/{target}/join",
    }

    def prepare(self, ctx: BenchContext) -> GroupPlan:
        shoppers = ctx.crowd.shopper_ids[ctx.taken_shoppers :]
        count = max(2, min(200, len(shoppers) // 10))
        with unit_of_work(ctx.session_factory) as session:
            catalog.upsert_products(
                session,
                ctx.crowd.shop_id,
                [ProductIn(sku=SKU, title="Rice 5 kg", price=5900, category="rice")],
            )
            deal = groups.create_deal(
                session,
                ctx.crowd.shop_id,
                GroupDealIn(sku=SKU, group_price=3990, group_size=SIZE, units=count * SIZE),
            )
            group_ids = [
                starting.start_group(session, deal.id, starter).id for starter in shoppers[:count]
            ]
        joiners = iter(shoppers[count:])
        attempts: list[tuple[str, str]] = []
        greedy: str | None = None  # a joiner of the previous group, racing into this one too
        for group_id in group_ids:
            own = [next(joiners) for _seat in range(2 * (SIZE - 1))]
            attempts += [(group_id, shopper) for shopper in own]
            if greedy is not None:
                attempts.append((group_id, greedy))
            greedy = own[0] if ctx.rng.random() < 0.1 else None
        ctx.rng.shuffle(attempts)
        return GroupPlan(deal.id, group_ids, attempts)

    def http_targets(self, ctx: BenchContext, plan: GroupPlan, template: str) -> list[HttpTarget]:
        method, path = template.split(" ", 1)
        tokens = dict(zip(ctx.crowd.shopper_ids, ctx.crowd.tokens, strict=True))
        return [
            HttpTarget(method, path.format(target=group_id), tokens[shopper])
            for group_id, shopper in plan.attempts
        ]

    def check(self, ctx: BenchContext, plan: GroupPlan, codes: list[str]) -> list[str]:
        problems = [
            f"unexpected answer {c!r} x{n}" for c, n in Counter(codes).items() if c not in ANSWERS
        ]
        with unit_of_work(ctx.session_factory) as session:
            problems += deal_problems(session, plan.deal_id)
            rows = session.scalar(
                select(func.count())
                .select_from(GroupMember)
                .where(GroupMember.deal_id == plan.deal_id)
            )
        if codes.count("ok") != (rows or 0) - len(plan.group_ids):
            problems.append(f"{codes.count('ok')} joins answered ok, {rows} members exist")
        return problems[:20]


def deal_problems(session: Session, deal_id: str) -> list[str]:
    """What must hold for a group deal whatever raced (also used by tests)."""
    deal = session.get(GroupDeal, deal_id)
    if deal is None:
        return [f"no deal {deal_id}"]
    problems: list[str] = []
    rows = Counter(
        session.scalars(select(GroupMember.group_id).where(GroupMember.deal_id == deal_id))
    )
    status: Counter[str] = Counter()
    for group in session.scalars(select(DealGroup).where(DealGroup.deal_id == deal_id)):
        status[group.status] += 1
        if not rows[group.id] == group.members <= group.size:
            problems.append(f"{group.id}: {rows[group.id]} rows, {group.members}/{group.size}")
        if group.status == "succeeded" and group.members != group.size:
            problems.append(f"{group.id} succeeded with {group.members} of {group.size}")
    coupons = session.scalar(
        select(func.count()).select_from(Coupon).where(Coupon.template_id == deal.template_id)
    )
    issued = session.scalar(
        select(CouponTemplate.issued).where(CouponTemplate.id == deal.template_id)
    )
    if coupons != deal.group_size * status["succeeded"] or issued != coupons:
        problems.append(f"{coupons} coupons (issued {issued}), {status['succeeded']} succeeded")
    holding = status["forming"] + status["succeeded"]
    if deal.units_taken != deal.group_size * holding or deal.units_taken > deal.units:
        problems.append(f"units taken {deal.units_taken} of {deal.units}, {holding} groups hold")
    doubled = session.execute(
        select(GroupMember.shopper_id)
        .join(DealGroup, DealGroup.id == GroupMember.group_id)
        .where(GroupMember.deal_id == deal_id, DealGroup.status == "forming")
        .group_by(GroupMember.shopper_id)
        .having(func.count() > 1)
    ).all()
    problems += [f"{row[0]} is in two forming groups" for row in doubled]
    return problems
