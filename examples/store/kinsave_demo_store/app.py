"""The demo store as an ASGI app: its parts, its routers (one per page group), CSRF checks."""

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from kinsave_demo_store import (
    cart_pages,
    catalog_pages,
    checkout_pages,
    order_pages,
    signin_pages,
    storage,
    webhook_receiver,
)
from kinsave_demo_store.client import KinsaveStoreClient
from kinsave_demo_store.csrf import CsrfRefused, require_csrf
from kinsave_demo_store.orders import OrderBook
from kinsave_demo_store.pages import HERE, StoreParts, message
from kinsave_demo_store.session import session_key
from kinsave_demo_store.webhook_inbox import WebhookInbox

DEFAULT_ORDERS_FILE = Path("kinsave-store.db")


def create_store(
    api_url: str,
    store_key: str,
    *,
    orders_path: Path | str = DEFAULT_ORDERS_FILE,
    webhook_secret: str | None = None,
) -> FastAPI:
    """The store, talking to kinsave at `api_url` with its own store key, keeping its orders and
    received webhooks in the SQLite file `orders_path`, and accepting kinsave's webhooks signed
    with `webhook_secret` (without one, the webhook endpoint answers 503)."""
    path = Path(orders_path)
    storage.prepare(path)
    store = FastAPI(title="kinsave demo store", docs_url=None, redoc_url=None, openapi_url=None)
    store.state.parts = StoreParts(
        client=KinsaveStoreClient(api_url.rstrip("/"), store_key),
        orders=OrderBook(path),
        inbox=WebhookInbox(path),
        webhook_secret=webhook_secret,
        session_key=session_key(store_key),
    )
    store.mount("/static", StaticFiles(directory=HERE / "static"), name="store-static")
    # Every form post needs the CSRF token; the webhook is signed instead (kinsave has no token).
    pages = [Depends(require_csrf)]
    for router in (catalog_pages, cart_pages, signin_pages, checkout_pages, order_pages):
        store.include_router(router.router, dependencies=pages)
    store.include_router(webhook_receiver.router)

    @store.exception_handler(CsrfRefused)
    def csrf_refused(request: Request, _error: CsrfRefused) -> Response:
        return message(request, "error.csrf_failed", 403)

    return store
