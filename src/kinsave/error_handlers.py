"""The API's answers to the errors a route raises or lets through: every one is
{"error": {"code", "message"}} with its code's status (errors.py), never a framework's own body."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kinsave.api import error_response
from kinsave.errors import ERROR_STATUS, KinsaveError
from kinsave.ops.request_log import request_id_of

logger = logging.getLogger("kinsave")  # as the app's own: its unexpected errors are the app's

MONEY_FIELDS = {"amount", "total", "budget", "shares", "use_credit", "unit_price", "shipping_fee"}


async def _kinsave_error(_request: Request, error: KinsaveError) -> JSONResponse:
    return error_response(error)


async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    problems = error.errors()
    fields = {str(p["loc"][-1]) for p in problems if p.get("loc")}
    code = "invalid_amount" if fields & MONEY_FIELDS else "invalid_request"
    details = {
        "fields": [
            {"loc": [str(x) for x in p.get("loc", ())], "message": p.get("msg", "")}
            for p in problems
        ]
    }
    message = "; ".join(f"{'.'.join(d['loc'])}: {d['message']}" for d in details["fields"])
    return JSONResponse(
        KinsaveError(code, message[:500], details=details).to_body(), status_code=422
    )


async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "invalid_request")
    # Anything else FastAPI raises here is a body it could not parse (bad UTF-8, say): the
    # same 422 invalid_request as any other malformed request.
    status = error.status_code if code != "invalid_request" else ERROR_STATUS[code]
    return JSONResponse(
        {"error": {"code": code, "message": str(error.detail)}},
        status_code=status,
        headers=error.headers,  # a 405's Allow
    )


async def _integrity_error(_request: Request, _error: IntegrityError) -> JSONResponse:
    # A unique or check constraint refused the write: a concurrent duplicate lost the race.
    return JSONResponse(
        KinsaveError("conflict", "a concurrent request changed this first; retry").to_body(),
        status_code=409,
    )


async def _value_refused(_request: Request, _error: Exception) -> JSONResponse:
    # A backstop: the database refused a value no schema bounded (a NUL in PostgreSQL text,
    # an integer beyond BIGINT). The transaction rolled back; nothing was written.
    body = KinsaveError("invalid_request", "a value is out of range or malformed").to_body()
    return JSONResponse(body, status_code=422)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # A backstop: RequestLog answers (and logs) the errors raised inside it.
    logger.exception("unexpected error, request id %s", request_id_of(request.scope))
    body = KinsaveError("internal_error", "something went wrong on our side").to_body()
    body["error"]["request_id"] = request_id_of(request.scope)
    return JSONResponse(body, status_code=500)


async def _database_down(_request: Request, _error: OperationalError) -> JSONResponse:
    body = KinsaveError("service_unavailable", "the database is unavailable; retry").to_body()
    return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})


# Each error type's answer: {"error": {"code", "message"}} with the code's status. The most
# specific class registered for an error answers it (Starlette looks along its MRO).
ErrorHandler = Callable[[Request, Any], Awaitable[JSONResponse]]
ERROR_HANDLERS: tuple[tuple[type[Exception], ErrorHandler], ...] = (
    (KinsaveError, _kinsave_error),
    (RequestValidationError, _validation_error),
    (StarletteHTTPException, _http_error),
    (IntegrityError, _integrity_error),
    (DataError, _value_refused),
    (OverflowError, _value_refused),
    (Exception, _unexpected),
    (OperationalError, _database_down),
)


def install_error_handlers(app: FastAPI) -> None:
    for error_type, handler in ERROR_HANDLERS:
        app.add_exception_handler(error_type, handler)
