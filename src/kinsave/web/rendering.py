"""Jinja2 templates (autoescaped) with the language, the CSRF token and money formatting."""

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kinsave.sharing.render import CARD_TITLE_LIMIT
from kinsave.sharing.terms_copy import ShareTerms, terms_copy
from kinsave.web.formatting import money_filter, time_filter
from kinsave.web.i18n import EN, LANGUAGES, choose_language, text, translator
from kinsave.web.security import csrf_token, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def label(language: str, group: str, value: str) -> str:
    """A stored value (a status, a kind) in the reader's language: the catalog's `group.value`,
    else the value itself (a value added later still shows, untranslated)."""
    key = f"{group}.{value}"
    return text(language, key) if key in EN else value


def envelope_status(envelope: Any) -> str:
    """An envelope with no share left reads as all grabbed (its stored status stays `open` until
    it expires or is refunded: the status column is not a second money path)."""
    if envelope.status == "open" and envelope.grabbed_shares >= envelope.shares:
        return "all_grabbed"
    return str(envelope.status)


TEMPLATES.env.globals["envelope_status"] = envelope_status
TEMPLATES.env.filters["money"] = money_filter
TEMPLATES.env.filters["local_time"] = time_filter
# The catalog groups the pages' scripts need (error codes, states): handed over as JSON data.
SCRIPT_GROUPS = (
    "error",
    "state",
    "daily",
    "envelope",
    "coupon",
    "share",
    "help",
    "links",
    "telegram",
    "circle",
)


def terms_title(language: str, terms: ShareTerms) -> str:
    """A group's or price cut's page title: its terms first, as a share's card states them."""
    return terms_copy(terms, language, CARD_TITLE_LIMIT)


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    language = choose_language(request)
    token, is_new = csrf_token(request)
    other = next(code for code in LANGUAGES if code != language)
    page = {
        "lang": language,
        "other_lang": other,
        "t": partial(text, language),
        "in_words": partial(label, language),
        "terms_title": partial(terms_title, language),
        "script_messages": {
            key: value
            for key, value in translator(language).items()
            if key.split(".")[0] in SCRIPT_GROUPS
        },
        "csrf_token": token,
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, name, page, status_code=status_code)
    if is_new:
        set_csrf_cookie(response, request, token)
    return response
