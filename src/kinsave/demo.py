"""Demo data: a shop, a running campaign with a daily envelope, and a family with envelopes.

Everything is created through the services, so the demo's money is as real as production's.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import CampaignIn, CampaignOut
from kinsave.config import Settings
from kinsave.coupons import checkout, orders
from kinsave.coupons.checkout_schemas import CartLineIn, PaidIn, QuoteIn, ReserveIn
from kinsave.db import utcnow
from kinsave.demo_catalog import seed_catalog
from kinsave.demo_groups import seed_groups_and_price_cuts
from kinsave.envelopes import daily as envelope_daily
from kinsave.envelopes import grabs
from kinsave.envelopes import service as envelopes
from kinsave.envelopes.daily_rule import Tier, TieredRule
from kinsave.envelopes.schemas import EnvelopeIn, ShopperEnvelopeIn
from kinsave.sharing import campaign_setup, opening
from kinsave.sharing import events as sharing_events
from kinsave.sharing import service as sharing
from kinsave.sharing.schemas import (
    CampaignSharingIn,
    ReferralRuleIn,
    ResolveIn,
    ResolveOut,
    ShareIn,
    ShareOut,
    StoreVisitIn,
    TargetIn,
)
from kinsave.social import help_offers, help_requests
from kinsave.social.schemas import HelpOfferIn
from kinsave.storelinks import service as storelinks
from kinsave.webhooks import service as webhooks
from kinsave.webhooks.schemas import WebhookEndpointIn

DEMO_SHOP = "Harvest Family Market"
FAMILY = {
    "grandma": "Grandma Li",
    "grandpa": "Grandpa Li",
    "mum": "Mum (Mei)",
    "dad": "Dad (Jun)",
    "xiaoming": "Xiaoming",
    "xiaohong": "Xiaohong",
}


@dataclass
class DemoSeed:
    shop_id: str
    operator_key: str
    store_key: str
    campaign_id: str
    envelope_ids: list[str] = field(default_factory=list)
    coupon_template_ids: list[str] = field(default_factory=list)
    created: bool = True
    group_deal_id: str | None = None
    price_cut_offer_id: str | None = None


def seed(session: Session, settings: Settings, *, with_store: bool = True) -> DemoSeed:
    """Seed once; later runs reuse the data and only issue fresh keys. Without the demo store
    (`with_store=False`) there is no catalog, so no shares of its products either."""
    shop = auth.ensure_shop(session, DEMO_SHOP)
    operator_key = auth.create_api_key(session, shop.id, "operator")
    store_key = auth.create_api_key(session, shop.id, "store")
    existing = campaigns.list_campaigns(session, shop.id, limit=1, offset=0).campaigns
    if existing:
        return DemoSeed(shop.id, operator_key, store_key, existing[0].id, created=False)
    for shopper_id, name in FAMILY.items():
        auth.ensure_shopper(session, shopper_id, name)
    campaign = seed_campaign(session, shop.id)
    seed_daily_history(session, campaign.id, rng=random.Random(11))
    seed_welcome(session, shop.id, campaign.id)
    family_envelope_id = seed_family_envelope(session, settings, shop.id)
    shop_envelope = envelopes.create_campaign_envelope(
        session,
        settings,
        shop.id,
        campaign.id,
        EnvelopeIn(total=8800, shares=20, kind="lucky", message="Harvest Market thanks you"),
    )
    template_ids = seed_catalog(session, shop.id, with_store=with_store)
    seed_help_and_circle(session, shop.id, campaign.id)
    seed_envelope_share(session, campaign.id, shop_envelope.id)
    group_deal_id = price_cut_offer_id = None
    if with_store:
        seed_sharing_history(session, shop.id, campaign.id)
        group_deal_id, price_cut_offer_id = seed_groups_and_price_cuts(session, shop.id)
    return DemoSeed(
        shop.id,
        operator_key,
        store_key,
        campaign.id,
        [family_envelope_id, shop_envelope.id],
        template_ids,
        group_deal_id=group_deal_id,
        price_cut_offer_id=price_cut_offer_id,
    )


def seed_welcome(session: Session, shop_id: str, campaign_id: str) -> None:
    """Today's daily envelope for each of the family, and ¥20.00 of welcome credit."""
    rng = random.Random(2026)
    for shopper_id in FAMILY:
        envelope_daily.claim_daily(session, campaign_id, shopper_id, rng=rng)
        campaigns.grant_credit(
            session, shop_id, campaign_id, shopper_id, 2000, key=f"demo-welcome-{shopper_id}"
        )


def seed_family_envelope(session: Session, settings: Settings, shop_id: str) -> str:
    """Grandma's lucky envelope from her credit; Mum and Xiaoming grab from it. Its id."""
    family_envelope = envelopes.create_shopper_envelope(
        session,
        settings,
        "grandma",
        ShopperEnvelopeIn(
            total=1000,
            shares=5,
            kind="lucky",
            message="For the family, from Grandma",
            shop_id=shop_id,
        ),
    )
    for relative in ("mum", "xiaoming"):
        grabs.grab_share(session, family_envelope.id, relative)
    return family_envelope.id


HISTORY_DAYS = 14


def seed_campaign(session: Session, shop_id: str) -> CampaignOut:
    """The daily-envelope campaign, started and funded HISTORY_DAYS ago: its budget exists
    before the back-dated days that spend it (the burn chart never dips below zero)."""
    rule = TieredRule(
        tiers=[
            Tier(weight=80, min=10, max=50),
            Tier(weight=19, min=51, max=288),
            Tier(weight=1, min=888, max=888),
        ]
    )
    started = utcnow() - timedelta(days=HISTORY_DAYS)
    data = CampaignIn(
        name="Every day a red envelope", budget=5_000_000, daily_rule=rule, starts_at=started
    )
    return campaigns.create_campaign(session, shop_id, data, now=started)


DEMO_ZONE = ZoneInfo("Asia/Shanghai")  # the campaign's timezone (CampaignIn's default)
NEIGHBOURS = 24


def seed_daily_history(session: Session, campaign_id: str, *, rng: random.Random) -> None:
    """Past days of daily claims by the family and neighbours, so the burn chart has a story."""
    today = utcnow().astimezone(DEMO_ZONE).date()
    shoppers = list(FAMILY) + [f"neighbour{n:02d}" for n in range(1, NEIGHBOURS + 1)]
    for shopper_id in shoppers[len(FAMILY) :]:
        auth.ensure_shopper(session, shopper_id, shopper_id.replace("neighbour", "Neighbour "))
    for days_ago in range(HISTORY_DAYS - 1, 0, -1):
        # More people come back as the campaign gets known.
        turnout = 0.3 + 0.6 * (HISTORY_DAYS - days_ago) / HISTORY_DAYS
        for shopper_id in shoppers:
            if rng.random() < turnout:
                day = today - timedelta(days=days_ago)
                opened = time(9, tzinfo=DEMO_ZONE)  # people open it between 09:00 and 19:00
                when = datetime.combine(day, opened) + timedelta(minutes=rng.randrange(600))
                envelope_daily.claim_daily(session, campaign_id, shopper_id, rng=rng, now=when)


def connect_store_webhook(session: Session, shop_id: str, url: str) -> str:
    """Point the shop's webhooks at the demo store and return the new signing secret.

    A secret is shown only once, so each `kinsave demo` run replaces the endpoint it made before
    rather than piling up endpoints whose secrets nobody holds.
    """
    for endpoint in webhooks.list_endpoints(session, shop_id).endpoints:
        if endpoint.url == url:
            webhooks.delete_endpoint(session, shop_id, endpoint.id)
    # The demo store is served by this very process, on this machine: a private address by design.
    wanted = WebhookEndpointIn(url=url, events=["*"])
    created = webhooks.create_endpoint(session, shop_id, wanted, allow_private_urls=True)
    return created.secret


def describe(seeded: DemoSeed, base_url: str, *, with_store: bool = True) -> str:
    state = "seeded" if seeded.created else "already seeded; new keys issued"
    lines = [
        f"[bold green]kinsave demo[/bold green] ({state})",
        f"  Start page      {base_url}/",
        f"  API docs        {base_url}/docs",
        f"  Mini app        {base_url}/app",
        f"  Admin console   {base_url}/admin",
        f"  Shop            {DEMO_SHOP} ({seeded.shop_id})",
        f"  Operator key    {seeded.operator_key}",
        f"  Store key       {seeded.store_key}",
        f"  Daily campaign  {seeded.campaign_id}",
        f"  Console login   {base_url}/admin/login with the operator key",
        f"  Shopper login   {base_url}/app/login as one of: " + ", ".join(FAMILY),
    ]
    if with_store:
        lines.insert(5, f"  Demo store      {base_url}/store")
        signin = f"{base_url}/store/signin: 用亲友省钱购登录, then agree in the mini app"
        lines.append(f"  Store login     {signin}")
    else:
        # Rich markup: \\[ prints a plain [.
        lines.insert(5, "  Demo store      not installed: pip install 'kinsave\\[demo]'")
    if seeded.envelope_ids:
        lines.append("  Envelopes       " + ", ".join(seeded.envelope_ids))
    if seeded.coupon_template_ids:
        lines.append("  Coupons         " + ", ".join(seeded.coupon_template_ids))
    if seeded.group_deal_id:
        lines.append(f"  Group deal      {base_url}/app/group-deals/{seeded.group_deal_id}")
    if seeded.price_cut_offer_id:
        lines.append(
            f"  Price cut       {base_url}/app/price-cut-offers/{seeded.price_cut_offer_id}"
        )
    return "\n".join(lines)


def seed_help_and_circle(session: Session, shop_id: str, campaign_id: str) -> None:
    """A help offer (3 helpers in 24 h unlock ¥8.88); Grandma's request, completed by three
    relatives, which links them into her family circle (and Xiaohong's open one)."""
    offer = help_offers.create_offer(
        session, shop_id, campaign_id, HelpOfferIn(helpers_needed=3, hours=24, reward=888)
    )
    done = help_requests.start_request(session, offer.id, "grandma")
    for helper in ("mum", "dad", "xiaoming"):
        help_requests.give_help(session, done.id, helper)
    waiting = help_requests.start_request(session, offer.id, "xiaohong")
    help_requests.give_help(session, waiting.id, "grandpa")


def seed_envelope_share(session: Session, campaign_id: str, envelope_id: str) -> None:
    """Grandma passes the shop's envelope on; two relatives open it in the mini app and grab."""
    shared = sharing.create_share(
        session,
        "grandma",
        ShareIn(
            target=TargetIn(type="envelope", id=envelope_id),
            channel="web",
            campaign_id=campaign_id,
        ),
        base_url=DEMO_BASE_URL,
        now=utcnow(),
    )
    for relative in ("dad", "xiaohong"):
        opening.accept_share(session, relative, shared.code, device_hash=None, now=utcnow())
        grabs.grab_share(session, envelope_id, relative)


DEMO_BASE_URL = "http://127.0.0.1:8000"
SHARERS = ("grandma", "mum", "xiaoming")
BUYERS = [f"neighbour{n:02d}" for n in range(1, NEIGHBOURS + 1)]


def seed_sharing_history(session: Session, shop_id: str, campaign_id: str) -> None:
    """A referral rule, then a week of shares on WeChat (tokens) and the web (links) whose tokens
    the store resolved for buyers who linked its store (claiming the rice coupon the shares
    carry), and today's orders through them, so the funnel chart has a story. The family has not
    linked: they link through the store's sign-in button."""
    campaign_setup.put_setup(
        session,
        shop_id,
        campaign_id,
        CampaignSharingIn(referral=ReferralRuleIn(amount=300, hold_seconds=7 * 24 * 3600)),
    )
    rng = random.Random(7)
    now = utcnow()
    handles: dict[str, ResolveOut] = {}  # today's buyer -> their resolved token
    for days_ago in range(6, -1, -1):
        for _ in range(2 + (6 - days_ago)):
            when = now - timedelta(days=days_ago, minutes=rng.randrange(600))
            share = sharing.create_share(
                session,
                rng.choice(SHARERS),
                ShareIn(
                    target=TargetIn(type="deal", id="rice-5kg"),
                    channel=rng.choice(("wechat", "wechat", "web")),
                    campaign_id=campaign_id,
                ),
                base_url=DEMO_BASE_URL,
                now=when,
            )
            if rng.random() < 0.6:
                buyer = rng.choice(BUYERS)
                resolved = seed_share_followed(session, shop_id, share, buyer, when)
                if days_ago == 0:
                    handles[buyer] = resolved
    for number, (buyer, resolved) in enumerate(list(handles.items())[:3], start=1):
        seed_order(session, shop_id, f"demo-order-{number}", buyer, resolved)


def seed_share_followed(
    session: Session, shop_id: str, share: ShareOut, buyer: str, when: datetime
) -> ResolveOut:
    """A buyer follows the share into the store: the link opened (when it has one), the store
    linked, the token resolved and the visit recorded."""
    if share.link is not None:  # a relative taps the link before the store
        opening.open_link(session, share.code, is_bot=False, base_url=DEMO_BASE_URL, now=when)
    storelinks.link_shopper(session, shop_id, buyer, when)
    # The store resolves the token for a signed-in buyer: the rice coupon the share carries is
    # claimed for them (their first share only: one per shopper).
    resolved = opening.resolve_token(
        session,
        shop_id,
        ResolveIn(text=share.text, shopper_id=buyer),
        base_url=DEMO_BASE_URL,
        now=when,
    )
    visit = StoreVisitIn(attribution=resolved.attribution, shopper_id=buyer)
    sharing_events.record_store_visit(session, shop_id, visit, when)
    return resolved


def seed_order(
    session: Session, shop_id: str, order_id: str, buyer: str, resolved: ResolveOut
) -> None:
    """A paid rice order the share brought; the buyer spends ¥1.00 of the credit their daily
    envelopes gave them (the overview's credit redeemed)."""
    line = CartLineIn(sku="rice-5kg", quantity=1, unit_price=5900)
    cart = QuoteIn(shopper_id=buyer, lines=[line], channel=resolved.channel, use_credit=100)
    quote = checkout.quote_checkout(session, shop_id, cart)
    checkout.reserve_checkout(
        session,
        shop_id,
        ReserveIn(
            order_id=order_id,
            shopper_id=buyer,
            lines=[line],
            coupons=quote.coupons,
            channel=resolved.channel,
            use_credit=100,
        ),
        hold_seconds=900,
    )
    method = next(m for m in quote.payment_methods if m != "wallet")
    paid = PaidIn(attribution=resolved.attribution, payment_method=method)
    orders.mark_order_paid(session, shop_id, order_id, paid)
