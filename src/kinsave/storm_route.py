"""The storm routes' route class: the documented FastAPI route, with a short way through it.

A storm tap (a grab, a daily claim) is mostly a refusal the gate answers at once, so what
FastAPI does around the endpoint weighs more than the endpoint: its generic dependency solving
(a per-request walk of the route's dependant, each parameter validated through pydantic, the
header parameters' sequence checks, a dependency cache) was the largest part of a refused tap's
server time (docs/benchmarks.md, "A refused tap's cost, session 9").

`StormRoute` is FastAPI's `APIRoute` (the `route_class` of the storm routers), so it is the one
route served and the one in /openapi.json, its schema made from the same endpoint signature.
Only the handler it builds for a request differs, and only for the requests whose answer needs
no validation: the path parameters are plain strings (any string is valid), the one dependency
takes the request alone, and the optional headers are absent. Those call the same dependency
and the same endpoint with what FastAPI would have passed. Any other request (an
Idempotency-Key sent, so a header to validate) goes through FastAPI's own handler, so its
validation, its 422s and its answers are FastAPI's. A route whose signature has anything else
(a body, a query, a typed path parameter, a second dependency) gets FastAPI's handler alone.

`app.dependency_overrides` are honoured: a request to an app that overrides the dependency the
short way would call goes through FastAPI's handler, and a route the app serves as its own
(app._serve_as_own_routes: built on a module's router, so without the app as its overrides
provider) is handed to FastAPI with that app as its provider while the app has overrides.
"""

import copy
import inspect
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StormRoute(APIRoute):
    """An APIRoute whose requests without anything to validate skip FastAPI's generic
    dependency solving (see the module docstring); every other request is FastAPI's."""

    def get_route_handler(self) -> Handler:
        generic = super().get_route_handler()
        if _included_with_more_dependencies(self):
            return generic  # a router's or the app's own dependencies: FastAPI solves them
        if self.dependency_overrides_provider is None:
            generic = _with_the_apps_overrides(self, generic)
        return short_handler(self.dependant, generic) or generic


def short_handler(dependant: Dependant, generic: Handler) -> Handler | None:
    """The handler for a dependant of the storm routes' shape, or None for any other shape."""
    endpoint = dependant.call
    if not _supported(dependant) or endpoint is None:
        return None
    (shopper,) = dependant.dependencies
    needs_request = shopper.call
    assert needs_request is not None and shopper.request_param_name and shopper.name
    path_names = [field.name for field in dependant.path_params]
    headers = [field.alias.lower() for field in dependant.header_params]
    absent = {field.name: None for field in dependant.header_params}
    request_name = dependant.request_param_name
    shopper_name: str = shopper.name
    shopper_request: str = shopper.request_param_name

    async def handle(request: Request) -> Response:
        present = request.headers
        if any(header in present for header in headers) or needs_request in _overrides(request):
            return await generic(request)
        path = request.path_params
        values: dict[str, Any] = {name: path[name] for name in path_names}
        values[shopper_name] = await needs_request(**{shopper_request: request})
        if request_name is not None:
            values[request_name] = request
        answer = await endpoint(**values, **absent)
        if not isinstance(answer, Response):  # FastAPI would serialize it; ours never need it
            raise TypeError(f"{dependant.call!r} must return a Response")
        return answer

    return handle


def _overrides(request: Request) -> dict[Any, Any]:
    """The dependency overrides of the app serving the request (FastAPI's
    `app.dependency_overrides`); none for an app without them."""
    return getattr(request.scope.get("app"), "dependency_overrides", None) or {}


def _with_the_apps_overrides(route: APIRoute, generic: Handler) -> Handler:
    """`generic`, or, while the app serving the request has dependency overrides, FastAPI's
    handler for `route` built with that app as its overrides provider (one per app, built on
    first use): a route the app serves as its own was built on a module's router, which has no
    provider, and one route object serves every app made from that module."""
    by_app: weakref.WeakKeyDictionary[Any, Handler] = weakref.WeakKeyDictionary()

    def for_app(app: Any) -> Handler:
        handler = by_app.get(app)
        if handler is None:
            provided = copy.copy(route)
            provided.dependency_overrides_provider = app
            handler = by_app[app] = APIRoute.get_route_handler(provided)
        return handler

    async def handle(request: Request) -> Response:
        if not _overrides(request):
            return await generic(request)
        return await for_app(request.scope["app"])(request)

    return handle


def _supported(dependant: Dependant) -> bool:
    """Path parameters typed `str` without constraints, the Request, one dependency that takes
    the request alone, headers that default to None; no body, query or cookie; an async
    endpoint."""
    if dependant.query_params or dependant.cookie_params or dependant.body_params:
        return False
    if not _is_async(dependant.call) or len(dependant.dependencies) != 1:
        return False
    if any(  # a constrained string (max_length, a pattern) would need validating
        field.field_info.annotation is not str or field.field_info.metadata
        for field in dependant.path_params
    ):
        return False
    if any(field.default is not None for field in dependant.header_params):
        return False
    (shopper,) = dependant.dependencies
    return (
        shopper.request_param_name is not None
        and shopper.name is not None
        and _is_async(shopper.call)
        and not (
            shopper.dependencies
            or shopper.path_params
            or shopper.query_params
            or shopper.header_params
            or shopper.cookie_params
            or shopper.body_params
            or shopper.security_scopes_param_name
            or shopper.background_tasks_param_name
            or shopper.response_param_name
        )
        and not (
            dependant.background_tasks_param_name
            or dependant.response_param_name
            or dependant.security_scopes_param_name
            or dependant.websocket_param_name
            or dependant.http_connection_param_name
        )
    )


def _is_async(call: Any) -> bool:
    """A coroutine function, or an object whose __call__ is one (a dependency class)."""
    if inspect.iscoroutinefunction(call):
        return True
    return callable(call) and inspect.iscoroutinefunction(call.__call__)


def _included_with_more_dependencies(route: APIRoute) -> bool:
    """True when the router including this route (or the app) adds dependencies of its own, or
    when that can not be told: FastAPI builds an included route's handler under a context of
    the inclusion, kept in a private variable of fastapi.routing. FastAPI 0.165 has no public
    way to read it while a handler is built (its public RouteContext describes an app's routes
    once included; its own TODO in APIRoute.get_route_handler means to replace the variable).
    Without it every StormRoute gets FastAPI's handler: correct, slower, and
    tests/test_storm_route.py fails so that an upgrade is noticed."""
    context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
    if context_var is None:
        return True
    context = context_var.get()
    if context is None or getattr(context, "original_route", None) is not route:
        return False
    return list(getattr(context, "dependencies", [None])) != list(route.dependencies)
