"""The shop's audit log: every operator change (recorded in the same transaction as the change),
every store action on a shopper's money (reserve, paid, cancel, refund, with the store key),
key rotations, and what kinsave itself noticed (share-code guessing).

Operator changes are recorded generically: the request's write boundary (`api.request_transaction`,
behind both the API's `DbSession` and the console's `Writes`) calls `record_operator_change` before
it commits any request made with an operator key that is not a read. So routers merged later are
audited without any change here. Code that changes something for a principal outside a request
(a batch, a job) calls `record_change` in its own unit of work, before it commits.
"""

import json
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import parse_qsl

from fastapi import Request
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from kinsave.auth.schemas import ShopPrincipal
from kinsave.coupons.checkout_schemas import OrderOut, RefundOut
from kinsave.db import utcnow
from kinsave.security.middleware import BODY_STATE_KEY
from kinsave.security.models import AuditEntry
from kinsave.security.schemas import AuditEntryOut, AuditPageOut

MAX_DETAILS = 4000
READS = {"GET", "HEAD", "OPTIONS"}


# One INSERT built once, run on the session's connection: every checkout write records an
# entry, and the ORM's add and flush cost more CPU than the statement (docs/benchmarks.md,
# "Fifth round: checkout").
_INSERT = insert(cast(Table, AuditEntry.__table__))


AuditRow = dict[str, object]  # one entry's columns, as _INSERT takes them


def record(
    session: Session, *, shop_id: str, actor: str, action: str, target: str, details: str
) -> None:
    record_rows(session, [_row(shop_id, actor, action, target, details)])


def record_rows(session: Session, rows: list[AuditRow]) -> None:
    """Entries built earlier (store_action_row), in one statement: the checkout batcher writes
    a run of writes' entries together. Call it in the actions' own transaction."""
    if not rows:
        return
    session.flush()  # what the change added first (the shop the entry names): nothing, mostly
    session.connection().execute(_INSERT, rows)


def _row(shop_id: str, actor: str, action: str, target: str, details: str) -> AuditRow:
    return {
        "shop_id": shop_id,
        "actor": actor[:64],
        "action": action[:200],
        "target": target[:500],
        "details": details[:MAX_DETAILS],
        "created_at": utcnow(),
    }


def record_change(
    session: Session,
    principal: ShopPrincipal,
    action: str,
    target: Mapping[str, object],
    details: str = "",
) -> None:
    """The audit hook: `principal` (named by its key's prefix, never the key) did `action` to
    `target`. Call it in the change's own transaction, before it commits, so the change and its
    entry commit or roll back together."""
    record(
        session,
        shop_id=principal.shop_id,
        actor=principal.key_prefix or principal.role,
        action=action,
        target=json.dumps(dict(target), sort_keys=True, default=str),
        details=details,
    )


def record_operator_change(session: Session, request: Request) -> None:
    """If an operator key made this (non-read) request, log it in the request's transaction."""
    principal = getattr(request.state, "operator", None)
    if principal is None or request.method in READS:
        return
    route: Any = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"
    record_change(session, principal, action, request.path_params, _sent(request))


# Form fields that prove who is asking rather than say what changed: never kept in the log.
SECRET_FIELDS = frozenset({"api_key", "csrf"})


def _sent(request: Request) -> str:
    """What the operator sent: a JSON body as sent; a console form as JSON, without its secrets."""
    body: bytes = request.scope.get(BODY_STATE_KEY, b"")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return body.decode("utf-8", "replace")
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if name not in SECRET_FIELDS:
            fields.setdefault(name, []).append(value)
    shown = {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
    return json.dumps(shown, sort_keys=True, ensure_ascii=False)


def page(session: Session, shop_id: str, *, before_id: int | None, limit: int) -> AuditPageOut:
    """Newest first; pass the last id seen as `before_id` for the next page."""
    query = select(AuditEntry).where(AuditEntry.shop_id == shop_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).all()
    entries = [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows[:limit]]
    next_before = entries[-1].id if len(rows) > limit else None
    return AuditPageOut(entries=entries, next_before_id=next_before)


def entries_about(
    session: Session, shop_id: str, *, action: str, target: str, limit: int = 50
) -> list[AuditEntryOut]:
    """The shop's entries of one action on one target (exactly as recorded), newest first."""
    rows = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.shop_id == shop_id,
            AuditEntry.action == action,
            AuditEntry.target == target,
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
    return [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows]


def store_action_row(store: ShopPrincipal, action: str, *, order: OrderOut | RefundOut) -> AuditRow:
    """The entry of a store's action on a shopper's money (reserve, paid, cancel, refund), with
    the store key that did it as the actor; written by record_rows in the action's own
    transaction."""
    details = order.model_dump(mode="json", exclude={"lines", "reserved_at", "expires_at"})
    target = {"order_id": order.order_id, "shopper_id": order.shopper_id}
    return _row(
        store.shop_id,
        store.key_prefix or store.role,
        f"store.{action}",
        json.dumps(target, sort_keys=True, default=str),
        json.dumps(details, sort_keys=True),
    )
