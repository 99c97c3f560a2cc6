"""The mini app's store-link pages: a store's sign-in request (agree or refuse) and the list of
linked stores with an unlink button (which calls `DELETE /v1/store-links/{shop_id}`).

Agreeing issues a link code and goes back only to the URL the store registered with its key
(`storelinks.link_requests`); the consent page's CSP lets its form lead there and nowhere else.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kinsave.api import DbSession, ReadSession
from kinsave.db import utcnow
from kinsave.errors import KinsaveError
from kinsave.storelinks import link_requests
from kinsave.storelinks import service as storelinks
from kinsave.web.mini_app import sign_in_redirect
from kinsave.web.rendering import render
from kinsave.web.security import form_csrf_ok, page_policy, page_shopper

router = APIRouter(prefix="/app", include_in_schema=False)


def _refusal_page(request: Request, error: KinsaveError) -> Response:
    if error.code == "link_request_expired":
        return render(request, "app/link_expired.html", {}, status_code=410)
    return render(request, "app/missing.html", {}, status_code=404)


@router.get("/link/{request_id}", response_class=HTMLResponse)
def consent_page(request_id: str, request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    try:
        view = link_requests.request_view(session, request_id, shopper.shopper_id, utcnow())
    except KinsaveError as error:
        return _refusal_page(request, error)
    response = render(request, "app/link.html", {"link": view})
    # The form's answer redirects to the store's registered URL: allow that origin, only here.
    response.headers["Content-Security-Policy"] = page_policy(form_action=view.return_origin)
    return response


@router.post("/link/{request_id}")
def decide(
    request_id: str,
    request: Request,
    session: DbSession,
    decision: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Agree: a link code for the store, back to its registered URL. Anything else: refuse."""
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    if not form_csrf_ok(request, csrf):
        return render(request, "app/missing.html", {}, status_code=403)
    ttl = request.app.state.settings.store_link_code_ttl_seconds
    try:
        if decision == "allow":
            target = link_requests.approve(
                session, request_id, shopper.shopper_id, ttl_seconds=ttl, now=utcnow()
            )
        else:
            target = link_requests.deny(session, request_id, utcnow())
    except KinsaveError as error:
        return _refusal_page(request, error)
    return RedirectResponse(target, status_code=303)


@router.get("/links", response_class=HTMLResponse)
def linked_stores(request: Request, session: ReadSession) -> Response:
    shopper = page_shopper(request)
    if shopper is None:
        return sign_in_redirect(request)
    links = storelinks.list_links(session, shopper.shopper_id).links
    return render(request, "app/links.html", {"links": links, "nav": "wallet"})
