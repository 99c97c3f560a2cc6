"""The deals feed: products ranked by their price after the best coupon the shopper holds or can
still claim. One unit of the product is priced alone, so a threshold coupon counts only when the
product reaches the threshold by itself; shipping coupons are left out (no cart, no fee)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kinsave.catalog import service as catalog
from kinsave.catalog.schemas import ProductOut
from kinsave.coupons import service as coupons
from kinsave.coupons.explain import format_money
from kinsave.coupons.held import as_held
from kinsave.coupons.models import Coupon, CouponTemplate
from kinsave.coupons.pricing import CartLine, HeldCoupon, measure
from kinsave.coupons.schemas import DealCouponOut, DealListOut, DealOut
from kinsave.db import utcnow

Offer = tuple[HeldCoupon, DealCouponOut]


def list_deals(
    session: Session,
    shopper_id: str,
    *,
    shop_id: str | None = None,
    category: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    limit: int = 20,
    offset: int = 0,
    now: datetime | None = None,
) -> DealListOut:
    """In-stock products, cheapest after coupon first; the price filters apply to that price."""
    now = now or utcnow()
    offers = _offers(session, shopper_id, shop_id, now)
    deals = [
        _deal(p, offers.get(p.shop_id, []))
        for p in catalog.products_for_deals(session, shop_id, category)
    ]
    deals = [
        d
        for d in deals
        if (min_price is None or d.price_after_coupon >= min_price)
        and (max_price is None or d.price_after_coupon <= max_price)
    ]
    deals.sort(key=lambda d: (d.price_after_coupon, -d.saving, d.title, d.sku, d.shop_id))
    return DealListOut(
        deals=deals[offset : offset + limit], total=len(deals), limit=limit, offset=offset
    )


def _offers(
    session: Session, shopper_id: str, shop_id: str | None, now: datetime
) -> dict[str, list[Offer]]:
    offers: dict[str, list[Offer]] = {}
    statement = (
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(
            Coupon.shopper_id == shopper_id,
            Coupon.state == "available",
            Coupon.expires_at > now,
        )
    )
    if shop_id is not None:
        statement = statement.where(Coupon.shop_id == shop_id)
    for coupon, template in session.execute(statement).all():
        badge = DealCouponOut(
            template_id=template.id, coupon_id=coupon.id, name=template.name, held=True
        )
        offers.setdefault(template.shop_id, []).append(
            (as_held(template, coupon.id, coupon.expires_at), badge)
        )
    for template, _held in coupons.claimable(session, shopper_id, shop_id, now):
        badge = DealCouponOut(
            template_id=template.id, coupon_id=None, name=template.name, held=False
        )
        offers.setdefault(template.shop_id, []).append(
            (as_held(template, template.id, None), badge)
        )
    return offers


def travelling_coupon(session: Session, product: ProductOut, now: datetime) -> str | None:
    """The coupon template a share of this product carries: the best one of its shop that anyone
    can still claim now, ranked as the deals feed ranks; None when no coupon saves anything."""
    offers = [
        (
            as_held(template, template.id, None),
            DealCouponOut(template_id=template.id, coupon_id=None, name=template.name, held=False),
        )
        for template in coupons.claimable_templates(session, product.shop_id, now)
    ]
    _saving, badge = _best_offer(product, offers)
    return badge.template_id if badge else None


def _best_offer(product: ProductOut, offers: list[Offer]) -> tuple[int, DealCouponOut | None]:
    """The biggest saving on one unit of the product, and the offer that gives it."""
    line = [CartLine(product.sku, 1, product.price, product.category)]
    best: tuple[int, bool, str] | None = None
    badge: DealCouponOut | None = None
    for held, offer in offers:
        if held.kind == "free_shipping":
            continue
        saving = measure(line, 0, held).nominal
        # Bigger saving first; at equal saving, a coupon already held beats one to claim.
        key = (-saving, not offer.held, held.id)
        if saving > 0 and (best is None or key < best):
            best, badge = key, offer
    return (-best[0] if best else 0), badge


def _deal(product: ProductOut, offers: list[Offer]) -> DealOut:
    saving, badge = _best_offer(product, offers)
    after = product.price - saving
    label = f"{product.title} {format_money(product.price)}"
    if saving:
        label += f", {format_money(after)} after coupon"
    return DealOut(
        shop_id=product.shop_id,
        sku=product.sku,
        title=product.title,
        category=product.category,
        image_url=product.image_url,
        price=product.price,
        price_after_coupon=after,
        saving=saving,
        coupon=badge,
        label=label,
    )
