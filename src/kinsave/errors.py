"""The one error family: a stable snake_case code, a message, and the HTTP status it maps to."""

from typing import Any

# Every code the API can return, with its status. Clients key on the code; tests assert codes.
ERROR_STATUS: dict[str, int] = {
    "invalid_request": 422,
    "invalid_amount": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_key_reused": 409,
    "idempotency_in_progress": 409,
    "insufficient_funds": 409,
    "cross_shop_transfer": 409,
    "budget_exhausted": 409,
    "envelope_empty": 409,
    "envelope_expired": 410,
    "already_grabbed": 409,
    "envelope_busy": 503,  # its open shares are all being grabbed right now: retry in a moment
    "already_claimed_today": 409,
    "campaign_not_active": 409,
    "campaign_has_no_daily_envelope": 409,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "internal_error": 500,
    "service_unavailable": 503,
}


class KinsaveError(Exception):
    """A refusal the caller can act on. Raised in services; rendered by one handler in app.py."""

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        if code not in ERROR_STATUS:
            raise ValueError(f"unknown error code {code!r}: add it to ERROR_STATUS")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def register_codes(codes: dict[str, int]) -> None:
    """Domain packages add their own codes at import time (coupons, sharing, ...)."""
    for code, status in codes.items():
        existing = ERROR_STATUS.setdefault(code, status)
        if existing != status:
            raise ValueError(f"error code {code!r} registered twice with different statuses")


def openapi_errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    """An endpoint's documented refusals (`responses=` of a route): per status, the codes it
    really returns, each with the one error body schema."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERROR_STATUS[code], []).append(code)
    return {
        status: {
            "description": "Refused: " + ", ".join(f"`{code}`" for code in sorted(listed)),
            "content": {"application/json": {"schema": ERROR_BODY_SCHEMA}},
        }
        for status, listed in sorted(by_status.items())
    }


ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
