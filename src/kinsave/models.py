"""Imports every domain's tables so that Base.metadata is complete (Alembic, test clean-up)."""

from kinsave.auth import models as auth_models
from kinsave.campaigns import models as campaign_models
from kinsave.catalog import models as catalog_models
from kinsave.coupons import models as coupon_models
from kinsave.db import Base
from kinsave.envelopes import models as envelope_models
from kinsave.groups import models as group_models
from kinsave.idempotency import models as idempotency_models
from kinsave.ledger import models as ledger_models
from kinsave.security import models as security_models
from kinsave.sharing import models as sharing_models
from kinsave.social import models as social_models
from kinsave.storelinks import models as storelink_models
from kinsave.telegram import models as telegram_models
from kinsave.webhooks import models as webhook_models

__all__ = [
    "Base",
    "auth_models",
    "campaign_models",
    "catalog_models",
    "coupon_models",
    "envelope_models",
    "group_models",
    "idempotency_models",
    "ledger_models",
    "security_models",
    "social_models",
    "storelink_models",
    "telegram_models",
    "webhook_models",
    "sharing_models",
]
