"""StormRoute (kinsave/storm_route.py): the storm routes' short way through FastAPI answers what
FastAPI's own handler answers, and only the routes of the storm shape take it."""

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi import routing as fastapi_routing
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import Match

from kinsave import storm_route
from kinsave.api import IdempotencyKey
from kinsave.app import STORM_ROUTERS, STORM_TAPS, create_app
from kinsave.auth.schemas import ShopperPrincipal
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

    def test_the_benchs_signed_do_nothing_is_signed_in_as_a_grab(self, settings: Settings):
        """A tap's floor: the grab's own shopper dependency, the short way, matched where the
        grab would be (right in front of it)."""
        app = create_app(settings.model_copy(update={"bench_endpoints": True}))
        top = [getattr(route, "path", None) for route in app.router.routes]
        first = top.index(STORM_TAPS[0])
        signed, grab = app.router.routes[first - 1 : first + 1]
        assert isinstance(signed, StormRoute) and signed.path == "/v1/bench/signed-noop"
        assert short_handler(signed.dependant, signed.endpoint) is not None
        assert isinstance(grab, StormRoute)
        (signs_in,), (grab_signs_in,) = signed.dependant.dependencies, grab.dependant.dependencies
        assert signs_in.call is grab_signs_in.call

    def test_the_taps_are_matched_first_and_shadow_no_route(self, settings: Settings):
        """The taps come right after /openapi.json (and the bench's do-nothing routes, when on),
        and no other route's requests match a tap's pattern: moving them first hid nothing."""
        app = create_app(settings.model_copy(update={"bench_endpoints": True}))
        top = [getattr(route, "path", None) for route in app.router.routes]
        first = top.index(STORM_TAPS[0])
        assert top[first : first + len(STORM_TAPS)] == list(STORM_TAPS)
        in_front = {"/openapi.json", "/v1/bench/signed-noop"}
        assert all(not isinstance(path, str) or path in in_front for path in top[:first])
        taps = app.router.routes[first : first + len(STORM_TAPS)]
        others = [
            route
            for route in _routes(app.router.routes)
            if isinstance(route, APIRoute) and route.path not in STORM_TAPS
        ]
        assert len(others) > 100
        for route in others:
            path = re.sub(r"\{[^}]+\}", "x1", route.path)
            for method in route.methods:
                scope = {"type": "http", "method": method, "path": path, "root_path": ""}
                assert all(tap.matches(scope)[0] != Match.FULL for tap in taps), route.path

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


def _shopper_dependency(app: FastAPI, name: str) -> Any:
    (route,) = [r for r in _routes(app.router.routes) if getattr(r, "name", None) == name]
    (shopper,) = route.dependant.dependencies
    return shopper.call


class TestDependencyOverrides:
    def test_an_override_of_the_shopper_is_honoured_on_both_ways(self, api, live_server):
        """The storm routes are the app's own routes, built on the envelopes router: an
        override of their shopper dependency in app.dependency_overrides is what they call,
        without a header (the short way) and with one (FastAPI's handler)."""
        app = live_server.app
        paths = {"grab_envelope": "/v1/envelopes/env_missing/grab"}
        paths["claim_daily"] = "/v1/daily/cmp_missing/claim"
        calls: list[str] = []

        async def signed_in() -> ShopperPrincipal:
            calls.append("override")
            return ShopperPrincipal("shp_override")

        for name, path in paths.items():
            for headers in ({}, {"Idempotency-Key": "k-override"}):
                assert api.post(path, headers=headers).status_code == 401  # nobody signed in
                app.dependency_overrides[_shopper_dependency(app, name)] = signed_in
                try:
                    answer = api.post(path, headers=headers)
                finally:
                    app.dependency_overrides.clear()
                assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
                assert api.post(path, headers=headers).status_code == 401  # override gone
        assert calls == ["override"] * 4

    def test_an_override_of_another_dependency_keeps_the_answers(self, api, live_server):
        app = live_server.app

        async def unused() -> None:
            raise AssertionError("not a dependency of the grab")

        app.dependency_overrides[unused] = unused
        try:
            for headers in ({}, {"Idempotency-Key": "k-other"}):
                answer = api.post("/v1/envelopes/env_missing/grab", headers=headers)
                assert answer.status_code == 401, headers
        finally:
            app.dependency_overrides.clear()


async def first_shopper(request: Request) -> ShopperPrincipal:
    return ShopperPrincipal("shp_1")


async def signed_in_echo(
    envelope_id: str, request: Request, shopper: Annotated[ShopperPrincipal, Depends(first_shopper)]
) -> Response:
    """A storm-shaped endpoint whose dependency needs no app around it."""
    given = {"envelope_id": envelope_id, "shopper": shopper.shopper_id}
    return Response(json.dumps(given), media_type="application/json")


class TestFastAPIsInclusionContext:
    """StormRoute tells a router included with dependencies of its own by a private variable of
    fastapi.routing; FastAPI 0.165 offers no public way while a route's handler is built (its
    public RouteContext describes an app's routes once included). Without the variable every
    StormRoute takes FastAPI's handler: safe, and slower, so an upgrade must be noticed here."""

    def test_fastapi_still_has_the_private_variable(self):
        context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
        assert context_var is not None, (
            "fastapi.routing._effective_route_context_var is gone: the storm routes now take "
            "FastAPI's handler everywhere (correct, slower); find FastAPI's new way to tell an "
            "inclusion's dependencies in kinsave/storm_route.py"
        )
        assert context_var.get() is None

    @pytest.mark.parametrize("with_dependency", [False, True])
    def test_an_included_router_is_told_by_its_dependencies(self, monkeypatch, with_dependency):
        told: list[bool] = []
        tell = storm_route._included_with_more_dependencies

        def spy(route: APIRoute) -> bool:
            told.append(tell(route))
            return told[-1]

        monkeypatch.setattr(storm_route, "_included_with_more_dependencies", spy)
        ran: list[str] = []

        async def inclusion_dependency(request: Request) -> None:
            ran.append("inclusion's dependency")

        router = APIRouter(route_class=StormRoute)
        router.add_api_route("/e/{envelope_id}", signed_in_echo, methods=["POST"])
        told.clear()  # built where it was declared: no inclusion yet
        app = FastAPI()
        added = [Depends(inclusion_dependency)] if with_dependency else []
        app.include_router(router, prefix="/in", dependencies=added)
        with TestClient(app) as client:
            answer = client.post("/in/e/e1")
        assert told and told[-1] is with_dependency
        assert ran == (["inclusion's dependency"] if with_dependency else [])
        assert answer.json() == {"envelope_id": "e1", "shopper": "shp_1"}

    def test_without_the_variable_the_routes_take_fastapis_handler(self, monkeypatch):
        route = StormRoute("/e/{envelope_id}", echo, methods=["POST"])
        assert not storm_route._included_with_more_dependencies(route)
        monkeypatch.delattr(fastapi_routing, "_effective_route_context_var")
        assert storm_route._included_with_more_dependencies(route)
