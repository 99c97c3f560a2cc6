"""StormRoute (kinsave/storm_route.py): the storm routes' short way through FastAPI answers what
FastAPI's own handler answers, and only the routes of the storm shape take it."""

import json
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
from fastapi import Path, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from kinsave.api import IdempotencyKey
from kinsave.app import STORM_ROUTERS, create_app
from kinsave.config import Settings
from kinsave.coupons.checkout_router import quote
from kinsave.envelopes.router import GrabbingShopper
from kinsave.storm_route import StormRoute, short_handler
from tests.factories import link_shopper, login, shop_key, store_shop_id


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


async def echo(
    envelope_id: str,
    request: Request,
    shopper: GrabbingShopper,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The grab's signature, answering what it was given."""
    given = {"envelope_id": envelope_id, "shopper": shopper.shopper_id, "key": idempotency_key}
    return Response(json.dumps(given), media_type="application/json")


def _comparable(response: httpx.Response) -> tuple[int, str, dict[str, str]]:
    varying = {"date", "x-request-id"}
    headers = {k: v for k, v in response.headers.items() if k not in varying}
    return response.status_code, response.text, headers


class TestShortWay:
    def test_only_the_storm_shaped_routes_take_it(self, settings: Settings):
        app = create_app(settings)
        short = {
            route.endpoint.__name__
            for route in _routes(app.router.routes)
            if isinstance(route, StormRoute) and short_handler(route.dependant, route.endpoint)
        }
        # The store's quote and cancel too: their one dependency is the store key's scheme.
        assert short == {"grab_envelope", "claim_daily", "quote", "cancel"}

    def test_the_storm_routers_are_served_as_the_apps_own_routes(self, settings: Settings):
        app = create_app(settings)
        own = {r.name for r in app.router.routes if isinstance(r, StormRoute)}
        assert {"grab_envelope", "claim_daily"} <= own
        operation_ids = {
            operation["operationId"]
            for methods in app.openapi()["paths"].values()
            for operation in methods.values()
        }
        assert {"grab_envelope", "claim_daily", "claim_coupon", "checkout_quote"} <= operation_ids
        assert STORM_ROUTERS == 3

    def test_its_answers_are_fastapis_own(self, api: httpx.Client, live_server, session_factory):
        """The same endpoint and dependency behind FastAPI's handler and behind StormRoute: the
        same status, body and headers for every kind of caller and header."""
        short = StormRoute("/test/short/{envelope_id}", echo, methods=["POST"])
        generic = APIRoute("/test/generic/{envelope_id}", echo, methods=["POST"])
        assert short_handler(short.dependant, echo) is not None  # the short way is taken
        routes = live_server.app.router.routes
        routes[:0] = [short, generic]
        token = login(api, "grandma")["Authorization"].removeprefix("Bearer ")
        bearer = {"Authorization": f"Bearer {token}"}
        cases: list[tuple[str, dict[str, str], dict[str, str]]] = [
            ("e1", {}, {}),
            ("e1", shop_key(session_factory), {}),
            ("e1", {"Authorization": "Bearer ks_unknown_session"}, {}),
            ("e1", {"Authorization": "Basic abc"}, {}),
            ("e1", bearer, {}),
            ("e%20x", bearer, {}),
            ("e1", {**bearer, "Idempotency-Key": "k1"}, {}),
            ("e1", {**bearer, "Idempotency-Key": "k" * 201}, {}),
            ("e1", {}, {"ks_session": token}),
            ("e1", {"X-Kinsave-CSRF": "c"}, {"ks_session": token, "ks_csrf": "c"}),
        ]
        try:
            for envelope, headers, cookies in cases:
                answers = []
                for prefix in ("/test/short/", "/test/generic/"):
                    api.cookies.clear()
                    for name, value in cookies.items():
                        api.cookies.set(name, value)
                    answers.append(_comparable(api.post(prefix + envelope, headers=headers)))
                assert answers[0] == answers[1], (envelope, headers, cookies)
                assert answers[0][0] in {200, 401, 403, 422}
        finally:
            routes.remove(short)
            routes.remove(generic)

    def test_the_quotes_answers_are_fastapis_own(
        self, api: httpx.Client, live_server, session_factory
    ):
        """The quote (its store key a dependency with FastAPI's security scheme in it) behind
        FastAPI's handler and behind StormRoute: the same status, body and headers."""
        short = StormRoute("/test/short/quote", quote, methods=["POST"])
        generic = APIRoute("/test/generic/quote", quote, methods=["POST"])
        assert short_handler(short.dependant, quote) is not None  # the short way is taken
        routes = live_server.app.router.routes
        routes[:0] = [short, generic]
        store = shop_key(session_factory, role="store")
        link_shopper(session_factory, store_shop_id(session_factory, store), "grandma")
        shopper = login(api, "grandma")
        cart = {"shopper_id": "grandma", "lines": [{"sku": "a", "quantity": 2, "unit_price": 150}]}
        json_type = {"Content-Type": "application/json"}
        cases: list[tuple[dict[str, str], str]] = [
            ({}, json.dumps(cart)),
            ({"Authorization": "Basic abc"}, json.dumps(cart)),
            ({"Authorization": "Bearer ks_store_unknown"}, json.dumps(cart)),
            (shopper, json.dumps(cart)),
            (shop_key(session_factory), json.dumps(cart)),  # an operator's key
            (store, json.dumps(cart)),
            (store, json.dumps({**cart, "shopper_id": "nobody"})),
            (store, json.dumps({**cart, "lines": [{"sku": "a", "quantity": -1}]})),
            (store, json.dumps({**cart, "channel": "no-such-channel"})),
            (store, "{not json"),
            (store, ""),
        ]
        try:
            for headers, body in cases:
                answers = [
                    _comparable(api.post(path, headers={**json_type, **headers}, content=body))
                    for path in ("/test/short/quote", "/test/generic/quote")
                ]
                assert answers[0] == answers[1], (headers, body)
            assert answers[0][0] in {400, 422}
            first = _comparable(api.post("/test/short/quote", headers=store, json=cart))
            assert first[0] == 200 and json.loads(first[1])["subtotal"] == 300
        finally:
            routes.remove(short)
            routes.remove(generic)


class TestShapes:
    def test_a_constrained_path_parameter_or_a_body_gets_fastapis_handler(self):
        class Body(BaseModel):
            template_id: str

        async def constrained(
            envelope_id: Annotated[str, Path(max_length=4)],
            request: Request,
            shopper: GrabbingShopper,
        ) -> Response:
            return Response()

        async def with_body(body: Body, request: Request, shopper: GrabbingShopper) -> Response:
            return Response()

        for path, endpoint in (("/c/{envelope_id}", constrained), ("/b", with_body)):
            route = StormRoute(path, endpoint, methods=["POST"])
            assert short_handler(route.dependant, endpoint) is None, path
        plain = StormRoute("/e/{envelope_id}", echo, methods=["POST"])
        assert short_handler(plain.dependant, echo) is not None
