"""The pages' two languages: message catalogs, and the choice from a cookie or Accept-Language.

The catalogs are data, one JSON object per language in `messages/` (key -> text), read once at
import.
"""

import json
from importlib import resources

from starlette.requests import Request

LANG_COOKIE = "ks_lang"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "en"


def _read_catalog(language: str) -> dict[str, str]:
    source = resources.files("kinsave.web").joinpath("messages", f"{language}.json")
    catalog = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(catalog, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in catalog.items()
    ):
        raise ValueError(f"{source}: a catalog is one JSON object of strings")
    return catalog


CATALOGS = {language: _read_catalog(language) for language in LANGUAGES}
EN = CATALOGS["en"]


def choose_language(request: Request) -> str:
    """The cookie's choice if any, else the best Accept-Language match, else English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in CATALOGS:
        return chosen
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((quality, tag.strip().lower()))
    for _quality, tag in sorted(ranked, key=lambda r: -r[0]):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def translator(language: str) -> dict[str, str]:
    """The catalog for a language; a missing key falls back to English, then to the key."""
    return CATALOGS.get(language, EN)


def text(language: str, key: str) -> str:
    return CATALOGS.get(language, EN).get(key) or EN.get(key, key)
