"""The store's browser sign-in, without an open redirect (in the spirit of OAuth's pushed
authorization requests): the store's server registers where to come back (`return_url`, `state`)
with its key; the browser goes to the mini app's consent page for that request; agreeing issues a
link code and goes back to the registered URL with `code` and `state`, refusing goes back with
`error=access_denied`. The mini app never redirects anywhere a store key did not register.
"""

import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from kinsave.auth import service as auth
from kinsave.errors import KinsaveError
from kinsave.storelinks import service
from kinsave.storelinks.models import LinkRequest
from kinsave.storelinks.schemas import LinkRequestIn, LinkRequestOut, LinkRequestView

REQUEST_TTL = timedelta(minutes=10)  # time enough to sign in to the mini app first
NETLOC = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def check_return_url(url: str) -> None:
    """An absolute http(s) URL without credentials or fragment. Errors: return_url_invalid."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        hostname = None
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not hostname
        or parts.username is not None
        or parts.password is not None
        or parts.fragment
        or not NETLOC.match(parts.netloc)
        or any(ord(c) < 33 or ord(c) > 126 for c in url)
    ):
        raise KinsaveError(
            "return_url_invalid", "return_url must be an absolute http(s) URL without #fragment"
        )


def create_link_request(
    session: Session, shop_id: str, data: LinkRequestIn, *, base_url: str, now: datetime
) -> LinkRequestOut:
    """Register the store's return URL; the answer's authorize_url is where to send the browser.

    Errors: return_url_invalid.
    """
    check_return_url(data.return_url)
    request_id = "lr_" + secrets.token_urlsafe(18)
    expires_at = now + REQUEST_TTL
    session.add(
        LinkRequest(
            id=request_id,
            shop_id=shop_id,
            return_url=data.return_url,
            state=data.state,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return LinkRequestOut(
        request_id=request_id,
        authorize_url=f"{base_url}/app/link/{request_id}",
        expires_at=expires_at,
    )


def live_request(session: Session, request_id: str, now: datetime) -> LinkRequest:
    """Errors: link_request_invalid (unknown), link_request_expired."""
    request = session.get(LinkRequest, request_id)
    if request is None:
        raise KinsaveError("link_request_invalid", "no such link request")
    if request.expires_at <= now:
        raise KinsaveError("link_request_expired", "this link request has expired")
    return request


def request_view(
    session: Session, request_id: str, shopper_id: str, now: datetime
) -> LinkRequestView:
    """What the consent page shows. Errors: link_request_invalid, link_request_expired."""
    request = live_request(session, request_id, now)
    parts = urlsplit(request.return_url)
    return LinkRequestView(
        request_id=request.id,
        shop_id=request.shop_id,
        shop_name=auth.shop_names(session, [request.shop_id]).get(request.shop_id, ""),
        return_host=parts.netloc,
        return_origin=f"{parts.scheme}://{parts.netloc}",
        linked=service.is_linked(session, request.shop_id, shopper_id),
    )


def approve(
    session: Session, request_id: str, shopper_id: str, *, ttl_seconds: int, now: datetime
) -> str:
    """The shopper agreed: a new link code for the request's shop, and the URL to go back to.

    Errors: link_request_invalid, link_request_expired.
    """
    request = live_request(session, request_id, now)
    issued = service.issue_link_code(
        session, shopper_id, request.shop_id, ttl_seconds=ttl_seconds, now=now
    )
    return with_query(request.return_url, code=issued.code, state=request.state)


def deny(session: Session, request_id: str, now: datetime) -> str:
    """The shopper said no: the URL to go back to, carrying error=access_denied."""
    request = live_request(session, request_id, now)
    return with_query(request.return_url, error="access_denied", state=request.state)


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))
