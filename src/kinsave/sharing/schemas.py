"""Request and response models of sharing: channels, policies, shares, tokens, rewards, funnel."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from kinsave.coupons.schemas import CouponOut
from kinsave.money import fen_field
from kinsave.sharing.lint import CampaignSharingLintInput
from kinsave.sharing.policy import PolicyRules

DAY = 24 * 3600
TargetType = Literal["deal", "coupon", "envelope", "help", "group", "price_cut"]
AttributionModel = Literal["last_touch", "first_touch"]
_ID = r"^[A-Za-z0-9_.:-]+$"


class ChannelIn(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")


class ChannelOut(BaseModel):
    name: str
    builtin: bool
    policy_version: int


class ChannelListOut(BaseModel):
    channels: list[ChannelOut]


class PolicyIn(PolicyRules):
    note: str = Field(default="", max_length=200)


class PolicyVersionOut(BaseModel):
    version: int
    rules: PolicyRules
    note: str
    created_at: datetime


class PolicyOut(BaseModel):
    channel: str
    current: PolicyVersionOut
    history: list[PolicyVersionOut]  # newest first


class ViolationOut(BaseModel):
    code: str
    message: str


class ChannelLintOut(BaseModel):
    channel: str
    publishable: bool
    violations: list[ViolationOut]


class CampaignLintOut(BaseModel):
    campaign_id: str
    channels: list[ChannelLintOut]


class PolicyUpdateOut(BaseModel):
    channel: str
    policy: PolicyVersionOut
    lint: list[CampaignLintOut]  # every campaign of the shop, re-linted against the new version


class ReferralRuleIn(BaseModel):
    """A fixed reward per referred paid order: it depends on the purchase, never on the share."""

    amount: StrictInt = fen_field(ge=1, le=1_000_000)
    hold_seconds: int = Field(default=7 * DAY, ge=0, le=90 * DAY)  # the refund period
    daily_cap: int = Field(default=10, ge=1, le=10_000)  # rewards per sharer per local day


class CampaignSharingIn(CampaignSharingLintInput):
    window_seconds: int = Field(default=7 * DAY, ge=1, le=90 * DAY)
    attribution_model: AttributionModel = "last_touch"
    referral: ReferralRuleIn | None = None
    share_ttl_seconds: int = Field(default=30 * DAY, ge=60, le=365 * DAY)
    share_use_limit: int | None = Field(default=None, ge=1, le=1_000_000)


class CampaignSharingOut(BaseModel):
    campaign_id: str
    setup: CampaignSharingIn
    lint: CampaignLintOut


class TargetIn(BaseModel):
    type: TargetType
    id: str = Field(min_length=1, max_length=64, pattern=_ID)


class ShareIn(BaseModel):
    target: TargetIn
    channel: str = Field(min_length=1, max_length=32)
    campaign_id: str | None = Field(default=None, max_length=40)
    # Without a campaign the share needs its shop named (a coupon share names it by its coupon).
    shop_id: str | None = Field(default=None, max_length=40)
    device_hash: str | None = Field(default=None, max_length=64)
    # The sharer's account on the host (e.g. "tg:123"), kept to refuse self-referral.
    channel_identity: str | None = Field(default=None, max_length=128)
    language: Literal["en", "zh-CN"] = Field(
        default="en", description="The language of the copy text (`text`): the sharer's"
    )


class MiniAppCardOut(BaseModel):
    """A mini-app card for hosts that open mini apps (the channel policy's
    mini_app_card_allowed): what the host's share API takes to show it."""

    title: str = Field(description="The card's title, in the sharer's language")
    picture_url: str = Field(description="The card's picture (the product's, or the kind's)")
    path: str = Field(
        description="What the card opens: the mini program's page with the share code (WeChat) "
        "or the Mini App's startapp link (Telegram)"
    )


class ShareOut(BaseModel):
    code: str
    token: str
    text: str
    link: str | None
    deep_link: str | None
    mini_app_card: MiniAppCardOut | None = Field(
        default=None, description="Null where the channel's policy offers no mini-app card"
    )
    qr_svg: str | None
    qr_png_url: str | None
    channel: str
    target: TargetIn
    campaign_id: str | None
    payment_methods: list[str]
    created_at: datetime
    expires_at: datetime
    use_limit: int | None
    coupon_template_id: str | None = Field(
        default=None, description="The coupon the share carries (claimed for whoever resolves it)"
    )


class ResolveIn(BaseModel):
    text: str = Field(max_length=100_000)
    shopper_id: str | None = Field(default=None, max_length=128)
    device_hash: str | None = Field(default=None, max_length=64)
    channel_identity: str | None = Field(default=None, max_length=128)


class StoreVisitIn(BaseModel):
    """A shopper arrived at the store through a share: the attribution handle (a code, or text
    holding a token) the store got from resolve or from a short link's `ks` parameter."""

    attribution: str = Field(min_length=1, max_length=200)
    shopper_id: str | None = Field(default=None, max_length=128)
    device_hash: str | None = Field(default=None, max_length=64)


class StoreVisitOut(BaseModel):
    share_code: str | None = Field(description="The share the visit counts for; null if none")


class OfferedCouponOut(BaseModel):
    template_id: str
    name: str


class ResolveOut(BaseModel):
    code: str
    target: TargetIn
    attribution: str
    campaign_id: str | None
    channel: str
    landing_url: str | None = Field(
        default=None,
        description="The store's page for the target, from its landing templates; null when the "
        "store registered none for this target type",
    )
    offered_coupon: OfferedCouponOut | None = Field(
        default=None, description="The coupon the share carries, if any (claimed or not)"
    )
    claimed_coupons: list[CouponOut] = Field(
        default_factory=list,
        description="The coupon the share carries, claimed for shopper_id (the same one again "
        "when this shopper resolves this share again)",
    )
    coupon_refusal: str | None = Field(
        default=None,
        description="Why the carried coupon was not claimed: coupon_sold_out, "
        "coupon_limit_reached, coupon_expired, coupon_not_claimable, not_found",
    )


LANDING_TARGETS = ("product", "coupon", "envelope", "help", "home")
_TEMPLATE = Field(default=None, max_length=500)


class StoreLandingIn(BaseModel):
    """Where each kind of share lands in the store: an absolute http(s) URL or a path on kinsave's
    host, with the placeholders {id} (the product sku, coupon template, envelope or help request
    id) and {code} (the share code, the attribution handle). A kind left out lands on kinsave's
    own page /app/s/{code}, which offers the token."""

    product: str | None = _TEMPLATE
    coupon: str | None = _TEMPLATE
    envelope: str | None = _TEMPLATE
    help: str | None = _TEMPLATE
    home: str | None = _TEMPLATE


class StoreLandingOut(StoreLandingIn):
    updated_at: datetime | None


class AttributionOut(BaseModel):
    order_id: str
    share_code: str
    sharer_id: str
    campaign_id: str | None
    channel: str
    model: AttributionModel
    reward_id: int | None
    reward_amount: int
    # held: booked and waiting out the refund period; none: see `reason`
    reward_status: Literal["held", "none"]
    reason: str | None = None


class ReleaseReport(BaseModel):
    released: int = 0
    paid_amount: int = 0


class FunnelRow(BaseModel):
    channel: str | None
    day: date | None
    shares: int = 0
    opens: int = 0
    resolves: int = 0
    claims: int = 0
    store_visits: int = 0
    orders: int = 0
    sales: int = fen_field(0)
    coupon_cost: int = fen_field(0)
    reward_cost: int = fen_field(0)


class FunnelOut(BaseModel):
    campaign_id: str
    by: list[str]
    rows: list[FunnelRow]
