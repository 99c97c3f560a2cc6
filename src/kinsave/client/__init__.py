"""A Python client for kinsave's store API, and the webhook verifier: what a store integrates.

```python
from kinsave.client import KinsaveStoreClient, KinsaveRefused, verify_webhook

kinsave = KinsaveStoreClient("https://kinsave.example.com", store_key)
quote = kinsave.quote("grandma", [{"sku": "rice-5kg", "quantity": 1, "unit_price": 5900}])
kinsave.reserve("order-1", "grandma", lines, quote)  # holds the quote's coupons and credit
kinsave.paid("order-1", payment_method="wechat_pay")
```

It imports nothing else from kinsave: a store needs only this package and httpx and stamina.
"""

from kinsave.client.store import KinsaveRefused, KinsaveStoreClient
from kinsave.client.webhooks import (
    SignatureRefused,
    SignedHeader,
    VerifiedWebhook,
    verify_signature,
    verify_webhook,
)

__all__ = [
    "KinsaveRefused",
    "KinsaveStoreClient",
    "SignatureRefused",
    "SignedHeader",
    "VerifiedWebhook",
    "verify_signature",
    "verify_webhook",
]
