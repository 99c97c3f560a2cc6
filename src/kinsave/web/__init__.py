"""The pages: the start page (/), the mini app (/app), the operator console (/admin) and their
static files."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url

from kinsave.config import Settings
from kinsave.web import (
    console,
    console_channels,
    console_coupons,
    console_funnel,
    console_groups,
    console_overview,
    console_reports,
    console_support,
    console_webhooks,
    language,
    mini_app,
    mini_app_family,
    mini_app_groups,
    mini_app_links,
    mini_app_shares,
    mini_app_shop,
    mini_app_telegram,
    start_page,
)
from kinsave.web.security import install_page_headers

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        mini_app.router,
        mini_app_shop.router,
        mini_app_family.router,
        mini_app_groups.router,
        mini_app_links.router,
        mini_app_telegram.router,
        mini_app_shares.router,
        console_overview.router,
        console.router,
        console_reports.router,
        console_funnel.router,
        console_coupons.router,
        console_groups.router,
        console_channels.router,
        console_webhooks.router,
        console_support.router,
        language.router,
        start_page.router,
    ):
        app.include_router(router)
    if settings.demo_store:
        mount_demo_store(app, settings)
    install_page_headers(app)


def mount_demo_store(app: FastAPI, settings: Settings) -> None:
    """The demo store is a separate package (examples/store), mounted at /store on request."""
    try:
        from kinsave_demo_store import create_store
    except ImportError as error:
        raise RuntimeError(
            "KINSAVE_DEMO_STORE=1 needs the demo store package: pip install -e examples/store"
        ) from error
    if not settings.demo_store_key:
        raise RuntimeError("KINSAVE_DEMO_STORE=1 needs KINSAVE_DEMO_STORE_KEY (a store API key)")
    store = create_store(
        settings.demo_store_api_url,
        settings.demo_store_key,
        orders_path=demo_store_orders_path(settings),
        webhook_secret=settings.demo_store_webhook_secret,
    )
    app.mount("/store", store)


def demo_store_orders_path(settings: Settings) -> Path:
    """The store's own file: as configured, else beside kinsave's SQLite file (the demo's
    files sit together, and `make clean` removes both), else ./kinsave-store.db."""
    if settings.demo_store_orders_path:
        return Path(settings.demo_store_orders_path)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).with_name("kinsave-store.db")
    return Path("kinsave-store.db")
