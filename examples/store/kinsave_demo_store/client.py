"""Every call the store makes to kinsave goes through kinsave's own store client
(`kinsave.client`): the store API with the store's key, connection reuse, retries on 503 and
connection errors, and an Idempotency-Key derived from the order on every money-moving call, so a
retry after a timeout can never reserve or charge twice. Its answers are typed objects (a Quote,
an Order, ...), so mypy checks this store's use of them. An integrator copies that one package."""

from kinsave.client import (
    CartLine,
    KinsaveRefused,
    KinsaveStoreClient,
    Quote,
    ResolvedToken,
    Target,
)

__all__ = ["CartLine", "KinsaveRefused", "KinsaveStoreClient", "Quote", "ResolvedToken", "Target"]
