"""A Python client for kinsave's store API, and the webhook verifier: what a store integrates.

```python
from kinsave.client import CartLine, KinsaveRefused, KinsaveStoreClient, verify_webhook

kinsave = KinsaveStoreClient("https://kinsave.example.com", store_key)
lines = [CartLine(sku="rice-5kg", quantity=1, unit_price=5900)]
quote = kinsave.quote("grandma", lines)  # a Quote: quote.total_to_pay, quote.payment_methods
kinsave.reserve("order-1", "grandma", lines, quote)  # holds the quote's coupons and credit
kinsave.paid("order-1", payment_method="wechat_pay").status  # "paid"
```

Every answer is a typed, frozen object (client/models.py). It imports nothing else from kinsave:
a store needs only this package, httpx, stamina and pydantic.
"""

from kinsave.client.models import (
    CartLine,
    Coupon,
    CouponScope,
    Explanation,
    Landing,
    LandingTemplates,
    LinkRequest,
    OfferedCoupon,
    Order,
    OrderLine,
    Product,
    ProductPage,
    ProductUpsert,
    Quote,
    QuotedLine,
    Refund,
    RefundedLine,
    RefundLine,
    ResolvedToken,
    ShopperCoupons,
    StoreLink,
    StoreVisit,
    Target,
    Upserted,
    Wallet,
    WebhookEvent,
)
from kinsave.client.store import KinsaveRefused, KinsaveStoreClient
from kinsave.client.webhooks import (
    SignatureRefused,
    SignedHeader,
    VerifiedWebhook,
    verify_signature,
    verify_webhook,
)

__all__ = [
    "CartLine",
    "Coupon",
    "CouponScope",
    "Explanation",
    "KinsaveRefused",
    "KinsaveStoreClient",
    "Landing",
    "LandingTemplates",
    "LinkRequest",
    "OfferedCoupon",
    "Order",
    "OrderLine",
    "Product",
    "ProductPage",
    "ProductUpsert",
    "Quote",
    "QuotedLine",
    "Refund",
    "RefundLine",
    "RefundedLine",
    "ResolvedToken",
    "ShopperCoupons",
    "SignatureRefused",
    "SignedHeader",
    "StoreLink",
    "StoreVisit",
    "Target",
    "Upserted",
    "VerifiedWebhook",
    "Wallet",
    "WebhookEvent",
    "verify_signature",
    "verify_webhook",
]
