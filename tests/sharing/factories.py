"""Sharing test data made through the real services (for service-level tests) or the API."""

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth import service as auth
from kinsave.campaigns import service as campaigns
from kinsave.campaigns.schemas import CampaignIn
from kinsave.catalog import service as catalog
from kinsave.catalog.schemas import ProductIn
from kinsave.db import unit_of_work
from kinsave.sharing import campaign_setup, service
from kinsave.sharing.schemas import CampaignSharingIn, ShareIn, TargetIn

Headers = dict[str, str]
RICE = {"sku": "rice-5kg", "title": "Northeast rice 5 kg", "price": 5900, "category": "rice"}


def stock_rice(session: Session, shop_id: str) -> None:
    """The shop's store sells rice-5kg (a deal can be shared only for a product it sells)."""
    catalog.upsert_products(session, shop_id, [ProductIn.model_validate(RICE)])


def shop_with_campaign(
    session_factory: sessionmaker[Session],
    *,
    budget: int = 100_000,
    shop: str = "Rice Shop",
    **setup: Any,
) -> tuple[str, str]:
    """(shop id, campaign id) with a sharing setup; `setup` fields override the defaults."""
    with unit_of_work(session_factory) as session:
        shop_id = auth.ensure_shop(session, shop).id
        campaign = campaigns.create_campaign(
            session,
            shop_id,
            CampaignIn(name="Sharing", budget=budget, starts_at=datetime(2026, 1, 1, tzinfo=UTC)),
        )
        campaign_setup.put_setup(
            session, shop_id, campaign.id, CampaignSharingIn.model_validate(setup)
        )
    return shop_id, campaign.id


def shopper(session_factory: sessionmaker[Session], shopper_id: str) -> str:
    with unit_of_work(session_factory) as session:
        auth.ensure_shopper(session, shopper_id)
    return shopper_id


def share(
    session_factory: sessionmaker[Session],
    sharer: str,
    campaign_id: str | None,
    now: datetime,
    *,
    channel: str = "web",
    shop_id: str | None = None,
    device_hash: str | None = None,
    channel_identity: str | None = None,
) -> str:
    shopper(session_factory, sharer)
    with unit_of_work(session_factory) as session:
        campaign = campaigns.find_campaign(session, campaign_id) if campaign_id else None
        stock_rice(session, campaign.shop_id if campaign else str(shop_id))
        out = service.create_share(
            session,
            sharer,
            ShareIn(
                target=TargetIn(type="deal", id="rice-5kg"),
                channel=channel,
                campaign_id=campaign_id,
                shop_id=shop_id,
                device_hash=device_hash,
                channel_identity=channel_identity,
            ),
            base_url="https://kinsave.test",
            now=now,
        )
    return out.code


def api_share(
    api: httpx.Client, shopper: Headers, campaign_id: str, channel: str = "web", **extra: Any
) -> dict[str, Any]:
    body = {"target": {"type": "deal", "id": "rice-5kg"}, "channel": channel}
    body["campaign_id"] = campaign_id
    body.update(extra)
    response = api.post("/v1/shares", json=body, headers=shopper)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
