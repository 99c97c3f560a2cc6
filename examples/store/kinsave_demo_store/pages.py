"""What every store page shares: the store's parts (client, orders, inbox) and page rendering
with the language, the cart count and the CSRF token."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from kinsave_demo_store import cart as carts
from kinsave_demo_store.client import KinsaveStoreClient
from kinsave_demo_store.csrf import CSRF_COOKIE, csrf_token
from kinsave_demo_store.i18n import LANG_COOKIE, choose_language, other_language, translator
from kinsave_demo_store.orders import OrderBook
from kinsave_demo_store.session import SHOPPER_COOKIE, verify
from kinsave_demo_store.webhook_inbox import WebhookInbox

HERE = Path(__file__).parent
CART_COOKIE = "store_cart"
ATTRIBUTION_COOKIE = "store_attribution"  # from a resolved token, sent with the paid order
CHANNEL_COOKIE = "store_channel"  # the channel of the share that brought the visit


BABEL_LOCALES = {"zh-CN": "zh_CN", "en": "en"}
SHOP_TIMEZONE = "Asia/Shanghai"


def yuan(amount: int, lang: str = "en") -> str:
    """Fen as yuan in the page's language (Babel, CLDR), with the narrow symbol ¥ in both
    languages: 5000000 -> '¥50,000.00'."""
    locale = BABEL_LOCALES.get(lang, "en")
    pattern = str(Locale.parse(locale).currency_formats["standard"].pattern).replace("¤", "¥")
    return format_currency(Decimal(amount).scaleb(-2), "CNY", pattern, locale)


@pass_context
def yuan_filter(context: Any, amount: int) -> str:
    return yuan(amount, context.get("lang", "en"))


@pass_context
def local_time(context: Any, moment: datetime, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC time in the shop's time zone (a naive one is UTC), in the page's language."""
    locale = BABEL_LOCALES.get(context.get("lang", "en"), "en")
    return format_datetime(moment, pattern, tzinfo=ZoneInfo(SHOP_TIMEZONE), locale=locale)


TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters["yuan"] = yuan_filter
TEMPLATES.env.filters["local_time"] = local_time


@dataclass
class StoreParts:
    client: KinsaveStoreClient
    orders: OrderBook
    inbox: WebhookInbox
    webhook_secret: str | None
    session_key: bytes  # signs the shopper's session cookie (session.py)


def store_parts(request: Request) -> StoreParts:
    parts: StoreParts = request.app.state.parts
    return parts


Parts = Annotated[StoreParts, Depends(store_parts)]


def root(request: Request) -> str:
    """Where the store is mounted (/store under kinsave demo), for links and redirects."""
    return str(request.scope.get("root_path", ""))


def signed_in_shopper(request: Request) -> str | None:
    """The shopper kinsave linked to this store at sign-in (a cookie this store signed)."""
    return verify(store_parts(request).session_key, request.cookies.get(SHOPPER_COOKIE))


def safe_path(path: str) -> str:
    """Only a path inside the store: "//evil.example" or a full URL would be an open redirect."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


def signed_out(response: Response) -> Response:
    """kinsave refused the shopper (`shopper_not_linked`: they unlinked the store): sign out."""
    response.delete_cookie(SHOPPER_COOKIE)
    return response


def language(request: Request) -> str:
    return choose_language(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language", "")
    )


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    lang = language(request)
    token, is_new = csrf_token(request)
    cart = carts.read(request.cookies.get(CART_COOKIE))
    here = request.url.path.removeprefix(root(request)) or "/"
    base = {
        "root": root(request),
        "here": here + (f"?{request.url.query}" if request.url.query else ""),
        "shopper": signed_in_shopper(request),
        "cart_count": sum(cart.values()),
        "lang": lang,
        "other_lang": other_language(lang),
        "t": translator(lang),
        "csrf_token": token,
    }
    response = TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if is_new:
        set_store_cookie(response, CSRF_COOKIE, token)
    return response


def message(request: Request, key: str, status: int, detail: str | None = None) -> Response:
    """A short page saying what went wrong: a catalog key, or kinsave's own message."""
    return render(request, "message.html", {"key": key, "detail": detail}, status)


def back(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(root(request) + path, status_code=303)


def set_store_cookie(
    response: Response, name: str, value: str, max_age: int | None = None, *, lax: bool = False
) -> None:
    # The session cookie is Lax: it is set on the way back from kinsave (a cross-site redirect).
    samesite: Literal["lax", "strict"] = "lax" if lax else "strict"
    response.set_cookie(name, value, httponly=True, samesite=samesite, max_age=max_age)
