"""set_price entitlements: coupons that group deals and price cuts give, never claimed.

A set_price coupon lets its holder buy one unit of one SKU at a set price at the store; the
checkout quote, reserve, paid, cancel and refund treat it as any coupon (pricing.py prices it).
The mechanic that gives them owns a template of status `granted`, which the claim statement,
the coupon center and the deals feed never offer (they want `active`). The template's stock
bounds what can be given: `issued` grows by one conditional UPDATE per grant, under the CHECK
`issued <= stock`, and that UPDATE locks the template's row until commit, so the holder's slot
number (unique per template and shopper) read after it is never stale.
"""

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.db import utcnow
from kinsave.errors import KinsaveError

GRANTED = "granted"


def create_set_price_template(
    session: Session,
    shop_id: str,
    *,
    name: str,
    sku: str,
    price: int,
    stock: int,
    valid_days: int,
    stacking_group: str = "default",
    now: datetime | None = None,
) -> str:
    """A granted set_price template for one SKU at `price`; returns its id. The caller checks
    the terms (it owns them)."""
    template_id = "ctpl_" + secrets.token_hex(8)
    session.add(
        CouponTemplate(
            id=template_id,
            shop_id=shop_id,
            campaign_id=None,
            name=name[:100],
            kind="set_price",
            amount=price,
            scope_kind="skus",
            scope_values=[sku],
            valid_days=valid_days,
            stock=stock,
            issued=0,
            per_shopper_limit=1,
            stacking_group=stacking_group,
            credit_combinable=True,
            status=GRANTED,
            created_at=now or utcnow(),
        )
    )
    session.flush()
    return template_id


def grant_set_price(
    session: Session, template_id: str, shopper_ids: Sequence[str], now: datetime | None = None
) -> dict[str, str]:
    """Give each shopper (one per entry; a shopper listed twice gets two) one coupon of the
    granted template; returns {shopper_id: coupon_id} (the last when listed twice).

    All or nothing: when the template's stock cannot cover them all, nothing is given and
    `coupon_sold_out` is raised. Errors: not_found (no such granted template), coupon_sold_out.
    """
    now = now or utcnow()
    count = len(shopper_ids)
    taken = session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == template_id,
            CouponTemplate.status == GRANTED,
            CouponTemplate.issued + count <= CouponTemplate.stock,
        )
        .values(issued=CouponTemplate.issued + count)
        .returning(CouponTemplate.shop_id, CouponTemplate.valid_days)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if taken is None:
        exists = session.get(CouponTemplate, template_id)
        if exists is None or exists.status != GRANTED:
            raise KinsaveError("not_found", "no such entitlement template")
        raise KinsaveError("coupon_sold_out", "every entitlement of this kind has been given")
    shop_id, valid_days = taken
    held = _held_counts(session, template_id, shopper_ids)
    given: dict[str, str] = {}
    rows = []
    for shopper_id in shopper_ids:
        held[shopper_id] = held.get(shopper_id, 0) + 1
        given[shopper_id] = "cpn_" + secrets.token_hex(8)
        rows.append(
            {
                "id": given[shopper_id],
                "template_id": template_id,
                "shop_id": shop_id,
                "shopper_id": shopper_id,
                "slot": held[shopper_id],
                "state": "available",
                "claimed_at": now,
                "expires_at": now + timedelta(days=valid_days or 7),
            }
        )
    session.execute(insert(Coupon), rows)
    return given


def _held_counts(session: Session, template_id: str, shopper_ids: Sequence[str]) -> dict[str, int]:
    rows = session.execute(
        select(Coupon.shopper_id, func.count())
        .where(Coupon.template_id == template_id, Coupon.shopper_id.in_(set(shopper_ids)))
        .group_by(Coupon.shopper_id)
    )
    return {shopper_id: int(n) for shopper_id, n in rows}
