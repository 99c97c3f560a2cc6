"""A share arriving at the store: resolve it with kinsave (which claims the coupon it carries for
the signed-in shopper), keep the attribution handle for the order, and remember what the family's
coupon came to, so the page that follows can say it without resolving the share a second time
(each resolve uses the share once)."""

import base64
import json
from dataclasses import asdict, dataclass

from fastapi import Request
from fastapi.responses import Response

from kinsave_demo_store.client import KinsaveRefused, KinsaveStoreClient, ResolvedToken
from kinsave_demo_store.pages import (
    ATTRIBUTION_COOKIE,
    CHANNEL_COOKIE,
    set_store_cookie,
    signed_in_shopper,
)

OFFER_COOKIE = "store_offer"
ATTRIBUTION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class TravelledOffer:
    """What the share brought: its code, and its coupon's name and fate (claimed, a refusal code,
    or sign_in when nobody was signed in to receive it)."""

    code: str
    coupon_name: str | None
    status: str | None  # claimed | sign_in | coupon_sold_out | coupon_limit_reached | ...
    channel: str | None = None  # the host the share travelled through: what it allows at checkout


def resolve_share(
    client: KinsaveStoreClient, request: Request, text: str
) -> tuple[ResolvedToken, TravelledOffer]:
    """Resolve pasted text (or a share code) for the signed-in shopper and report the visit it
    brought (kinsave's funnel counts store visits from these reports). Raises KinsaveRefused
    (target_unavailable, token_expired, ...)."""
    shopper = signed_in_shopper(request)
    resolved = client.resolve_token(text, shopper)
    try:
        client.record_visit(resolved.attribution, shopper)
    except KinsaveRefused:
        pass  # a visit not counted must not turn the shopper away
    offered = resolved.offered_coupon
    status = None
    if offered is not None:
        if resolved.claimed_coupons:
            status = "claimed"
        elif shopper is None:
            status = "sign_in"
        else:
            status = resolved.coupon_refusal or "not_claimed"
    name = offered.name if offered is not None else None
    offer = TravelledOffer(resolved.code, name, status, resolved.channel or None)
    return resolved, offer


def remember(response: Response, offer: TravelledOffer) -> None:
    """The attribution handle and the channel for the paid order, and the offer for the pages
    that follow."""
    set_store_cookie(response, ATTRIBUTION_COOKIE, offer.code, max_age=ATTRIBUTION_SECONDS)
    if offer.channel:
        set_store_cookie(response, CHANNEL_COOKIE, offer.channel, max_age=ATTRIBUTION_SECONDS)
    packed = base64.urlsafe_b64encode(json.dumps(asdict(offer)).encode()).decode()
    set_store_cookie(response, OFFER_COOKIE, packed, max_age=ATTRIBUTION_SECONDS)


def remembered(request: Request) -> TravelledOffer | None:
    """The offer of the last share that brought this shopper here, if any."""
    packed = request.cookies.get(OFFER_COOKIE)
    if not packed:
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(packed.encode()))
        return TravelledOffer(
            str(fields["code"]), fields["coupon_name"], fields["status"], fields.get("channel")
        )
    except (ValueError, KeyError, TypeError):
        return None
