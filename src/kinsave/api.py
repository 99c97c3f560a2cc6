"""What every router shares: the request's transaction and the Idempotency-Key header."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kinsave.batcher import Batcher, BatchGate
from kinsave.db import unit_of_work
from kinsave.errors import KinsaveError
from kinsave.idempotency import service as idempotency
from kinsave.security import audit

Model = TypeVar("Model", bound=BaseModel)


async def _sqlite_write_gate(request: Request) -> AsyncIterator[None]:
    """On SQLite, one request per process inside its write transaction at a time.

    SQLite has one writer anyway; without the gate, a request holding the write lock can need a
    thread-pool thread after its endpoint returns (response validation runs there) while every
    pool thread is taken by requests waiting in BEGIN IMMEDIATE for that very lock: nothing moves
    until the 60 s busy timeout. Waiting here, on the event loop, holds no thread and no lock.
    """
    state = request.app.state
    if not state.settings.database_url.startswith("sqlite"):
        yield
        return
    gate = getattr(state, "sqlite_write_gate", None)
    if gate is None:
        gate = state.sqlite_write_gate = anyio.Lock()
    async with gate:
        yield  # released after the write session below has committed or rolled back


@contextmanager
def request_transaction(request: Request) -> Iterator[Session]:
    """A request's one write boundary: a unit of work that, before it commits, writes the audit
    entry of an operator's change (security.audit) in the same transaction, so a change is never
    without its entry and a refused one leaves neither. The API's `DbSession` and the console's
    `Writes` are both this."""
    with unit_of_work(request.app.state.session_factory) as session:
        yield session
        audit.record_operator_change(session, request)


def _write_session(
    request: Request, _gate: Annotated[None, Depends(_sqlite_write_gate, scope="function")]
) -> Iterator[Session]:
    with request_transaction(request) as session:
        yield session


class RequestWrites:
    """The request's write boundary for a route that must still answer after its transaction
    ends (a console form: a refusal rolls back, then the page says why): `with writes() as
    session:`. The same unit of work and audit hook as `DbSession`, behind the same SQLite gate."""

    def __init__(
        self,
        request: Request,
        _gate: Annotated[None, Depends(_sqlite_write_gate, scope="function")],
    ) -> None:
        self.request = request

    def __call__(self) -> AbstractContextManager[Session]:
        return request_transaction(self.request)


def _read_session(request: Request) -> Iterator[Session]:
    with unit_of_work(request.app.state.read_session_factory) as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a client is never
# told "done" about a change whose commit then failed.
DbSession = Annotated[Session, Depends(_write_session, scope="function")]
ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
Writes = Annotated[RequestWrites, Depends(scope="function")]
IDEMPOTENCY_KEY_MAX = 200
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=IDEMPOTENCY_KEY_MAX,
        description="Retrying with the same key and body returns the first result.",
    ),
]


def idempotent(
    session: Session,
    request: Request,
    *,
    scope: str,
    key: str | None,
    body: BaseModel | None,
    operation: Callable[[], BaseModel],
    status_code: int = 200,
) -> JSONResponse:
    """Run a money-moving operation once per Idempotency-Key; a retry replays the first answer."""
    request_hash = idempotency.fingerprint(
        request.method, request.url.path, body.model_dump(mode="json") if body else None
    )
    content, replayed = idempotency.run_once(
        session,
        scope=scope,
        key=key,
        request_hash=request_hash,
        operation=operation,
        status_code=status_code,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(content, status_code=status_code, headers=headers)


class RunOnce:
    """A money-moving endpoint's transaction and Idempotency-Key, ready to run its operation once.

    `once(scope, operation, body=...)` is `idempotent(...)` with the request's own session, request
    and key filled in; `once.session` is the request's write transaction.
    """

    def __init__(
        self, request: Request, session: DbSession, idempotency_key: IdempotencyKey = None
    ) -> None:
        self.request = request
        self.session = session
        self.key = idempotency_key

    def __call__(
        self,
        scope: str,
        operation: Callable[[], BaseModel],
        *,
        body: BaseModel | None = None,
        status_code: int = 200,
    ) -> JSONResponse:
        return idempotent(
            self.session,
            self.request,
            scope=scope,
            key=self.key,
            body=body,
            operation=operation,
            status_code=status_code,
        )


Once = Annotated[RunOnce, Depends()]


def error_response(error: KinsaveError) -> JSONResponse:
    """A refusal as every endpoint answers it: its status, its body and, when it has one,
    Retry-After. The app's KinsaveError handler answers with this too."""
    retry_after = error.details.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(error.to_body(), status_code=error.status, headers=headers)


async def batched_or_alone(
    request: Request,
    *,
    scope: str,
    key: str | None,
    batcher: Batcher[Any, BaseModel],
    item: object,
    order_key: str,
    alone: Callable[[Session], BaseModel],
    body: BaseModel | None = None,
    status_code: int = 200,
) -> Response:
    """A storm endpoint's answer (grab, daily claim, coupon claim): the item through the batcher
    (its order key's lane; no thread is held while the batch commits), or, under an
    Idempotency-Key, `alone` in its own unit of work on a pool thread, so that the first answer
    replays exactly. `alone` is the batch function's batch of one: the same rows either way.
    A refusal the batcher's gate can give now is given on the event loop, before the batcher
    (`Batcher.answer`, gates/front_door.py): most of a storm's answers."""
    if key is None:
        try:
            answer = await batcher.answer(item, order_key=order_key)
        except KinsaveError as refusal:  # half of a storm's answers: skip the raise machinery
            return error_response(refusal)
        return Response(answer.model_dump_json(), status_code, media_type="application/json")

    def run_once() -> JSONResponse:
        operation = _Gated(batcher.gate, item, alone)
        try:
            with unit_of_work(request.app.state.session_factory) as session:
                response = idempotent(
                    session,
                    request,
                    scope=scope,
                    key=key,
                    body=body,
                    operation=lambda: operation(session),
                    status_code=status_code,
                )
        except BaseException:
            operation.finish(committed=False)
            raise
        operation.finish(committed=True)
        return response

    return await run_in_threadpool(run_once)


class _Gated:
    """`alone` behind the batcher's gate, for a request with an Idempotency-Key: asked only once
    the key is known to be new (a replay must answer what it answered first, whatever the gate
    says now), and told the outcome after the commit, as a batch tells it."""

    def __init__(
        self, gate: BatchGate | None, item: object, alone: Callable[[Session], BaseModel]
    ) -> None:
        self.gate, self.item, self.alone = gate, item, alone
        self.ticket: Any = None
        self.outcome: BaseModel | KinsaveError | None = None

    def __call__(self, session: Session) -> BaseModel:
        if self.gate is None:
            return self.alone(session)
        ticket = self.gate.admit([self.item])
        self.gate.load(session, ticket)
        (refusal,) = self.gate.refusals(ticket)
        if refusal is not None:
            raise refusal  # nothing was reserved for it
        self.ticket = ticket
        try:
            self.outcome = self.alone(session)
        except KinsaveError as database_refusal:
            self.outcome = database_refusal
            raise
        return self.outcome

    def finish(self, *, committed: bool) -> None:
        if self.gate is None or self.ticket is None:
            return
        if committed or isinstance(self.outcome, KinsaveError):
            self.gate.settle(self.ticket, [self.outcome])  # the database's own answer
        else:
            self.gate.release(self.ticket)


async def json_body(request: Request, model: type[Model]) -> Model:
    """The request's JSON body as `model`, validated by pydantic-core straight from the bytes,
    for the checkout quote, the store's most frequent call: FastAPI's `body: Model` parameter
    parses the JSON into Python objects first and validates those (twice the time on a 30-line
    cart), and its dependency solving comes with it. Refusals are FastAPI's: the same
    RequestValidationError, locations under "body", so the same 422 and error code. The route
    documents its body with body_documented."""
    raw = await request.body()
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        if _is_json(request.headers.get("content-type")):
            return model.model_validate_json(raw)
        return model.model_validate(raw)  # as FastAPI: the bytes themselves, refused
    except ValidationError as error:
        problems = error.errors(include_url=False)
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
        ) from None


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule (strict_content_type, its default): application/json or
    application/*+json; a body without a Content-Type is not read as JSON."""
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    subtype_json = kind.startswith("application/") and kind.endswith("+json")
    return kind == "application/json" or subtype_json


def body_documented(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body with json_body: the requestBody FastAPI
    writes for a `body: Model` parameter (contract.SELF_PARSED_BODIES adds the model's schema)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}
