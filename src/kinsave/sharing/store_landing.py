"""Where a share lands in the store: URL templates the store registers per target type.

kinsave never guesses the store's paths: a short link, a QR code and a resolved token lead to the
template the store registered for the share's target type (`deal` uses `product`), and to
kinsave's own landing page `/app/s/{code}` when it registered none.
"""

from datetime import datetime
from string import Formatter
from typing import NoReturn
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from kinsave.db import insert_on_conflict
from kinsave.errors import KinsaveError, register_codes
from kinsave.sharing.models import StoreLanding
from kinsave.sharing.schemas import LANDING_TARGETS, StoreLandingIn, StoreLandingOut

register_codes({"landing_template_invalid": 422})

PLACEHOLDERS = frozenset({"id", "code"})
TEMPLATE_OF_TARGET = {"deal": "product", "coupon": "coupon", "envelope": "envelope", "help": "help"}


def put_landing(
    session: Session, shop_id: str, data: StoreLandingIn, now: datetime
) -> StoreLandingOut:
    """Replace the shop's landing templates (a kind left out has none). Idempotent.

    Errors: landing_template_invalid (422, `details.field` names the template): not an absolute
    http(s) URL nor a path, or a placeholder other than {id} and {code}."""
    templates = {name: getattr(data, name) for name in LANDING_TARGETS}
    for name, template in templates.items():
        if template is not None:
            check_template(name, template)
    statement = insert_on_conflict(session, StoreLanding).values(
        shop_id=shop_id, templates=templates, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["shop_id"],
            set_={"templates": statement.excluded.templates, "updated_at": now},
        )
    )
    return StoreLandingOut(**templates, updated_at=now)


def get_landing(session: Session, shop_id: str) -> StoreLandingOut:
    """The shop's landing templates; all null before the store registered any."""
    row = session.get(StoreLanding, shop_id)
    if row is None:
        return StoreLandingOut(updated_at=None)
    return StoreLandingOut(**row.templates, updated_at=row.updated_at)


def check_template(name: str, template: str) -> None:
    """Errors: landing_template_invalid."""
    parts = urlsplit(template)
    is_path = template.startswith("/") and not template.startswith("//")
    is_url = parts.scheme in ("http", "https") and bool(parts.hostname)
    if not (is_path or is_url) or any(c.isspace() for c in template):
        _invalid(name, "use an absolute http(s) URL or a path starting with /")
    try:
        fields = [
            (field, spec, conversion)
            for _text, field, spec, conversion in Formatter().parse(template)
            if field is not None
        ]
    except ValueError:
        _invalid(name, "unbalanced { or } (write {{ or }} for a literal brace)")
    for field, spec, conversion in fields:
        if field not in PLACEHOLDERS or spec or conversion:
            _invalid(name, "the only placeholders are {id} and {code}")


def _invalid(name: str, message: str) -> NoReturn:
    raise KinsaveError("landing_template_invalid", f"{name}: {message}", details={"field": name})


def landing_url(
    session: Session, shop_id: str, *, target_type: str, target_id: str, code: str, base_url: str
) -> str | None:
    """The store's page for a share's target, absolute (a path template is on kinsave's host,
    `base_url`); None when the store registered no template for this target type."""
    row = session.get(StoreLanding, shop_id)
    template = row.templates.get(TEMPLATE_OF_TARGET.get(target_type, "")) if row else None
    if not template:
        return None
    filled = str(template).format(id=quote(target_id, safe=""), code=quote(code, safe=""))
    return base_url.rstrip("/") + filled if filled.startswith("/") else filled
