"""Run a request's operation at most once per (caller, Idempotency-Key).

The record is inserted before the operation inside the request's transaction. A concurrent retry
blocks on the unique key until the first request commits (then replays its response) or rolls back
(then runs itself). A failed request leaves no record, so its retry simply runs again.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.idempotency.models import IdempotencyRecord


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    session: Session,
    *,
    scope: str,
    key: str | None,
    request_hash: str,
    operation: Callable[[], BaseModel],
    status_code: int = 200,
) -> tuple[dict[str, Any], bool]:
    """Return (response body, replayed). Raises idempotency_key_reused for another body."""
    if key is None:
        return operation().model_dump(mode="json"), False
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    scope=scope, key=key, request_hash=request_hash, created_at=utcnow()
                )
            )
    except IntegrityError:
        return _replay(session, scope, key, request_hash), True
    body = operation().model_dump(mode="json")
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .values(status_code=status_code, response_body=body)
    )
    return body, False


def _replay(session: Session, scope: str, key: str, request_hash: str) -> dict[str, Any]:
    record = session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    ).scalar_one()
    if record.request_hash != request_hash:
        raise KinsaveError(
            "idempotency_key_reused", "this Idempotency-Key was used with a different request"
        )
    if record.response_body is None:
        raise KinsaveError("idempotency_in_progress", "the first request with this key is running")
    return record.response_body
